package mfatest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func webauthnTests() []storeTest {
	// Few leaves, each with several checks: every leaf migrates a fresh
	// store on every backend.
	return []storeTest{
		{"CreateGet", func(t *testing.T, s mfa.Store) {
			testWebAuthnCreateGet(t, s)
			testWebAuthnCreateInvalid(t, s)
			testWebAuthnCreateConflict(t, s)
			testWebAuthnCreateNotFound(t, s)
		}},
		{"ListRenameDelete", func(t *testing.T, s mfa.Store) {
			testWebAuthnList(t, s)
			testWebAuthnRenameDelete(t, s)
			testWebAuthnCascadeUser(t, s)
		}},
		{"Counter", func(t *testing.T, s mfa.Store) {
			testWebAuthnCounterNoLog(t, s)
			testWebAuthnCounter(t, s)
		}},
		{"CounterConcurrent", testWebAuthnCounterConcurrent},
	}
}

// NewWebAuthnCredential stores a security key of userID created at epoch,
// after applying mods.
func NewWebAuthnCredential(t testing.TB, s mfa.WebAuthnStore, userID string, mods ...func(*mfa.WebAuthnCredential)) mfa.WebAuthnCredential {
	t.Helper()
	c := mfa.WebAuthnCredential{
		ID:           NewID(t, mfa.PrefixWebAuthn),
		UserID:       userID,
		Name:         "Blue key",
		CredentialID: randomBytes(t, 32),
		PublicKey:    randomBytes(t, 77),
		AAGUID:       randomBytes(t, 16),
		Transports:   []string{"usb", "nfc"},
		Attachment:   mfa.AttachmentCrossPlatform,
		Created:      at(0),
	}
	for _, mod := range mods {
		mod(&c)
	}
	if err := s.CreateWebAuthnCredential(t.Context(), c); err != nil {
		t.Fatalf("CreateWebAuthnCredential(%s) = %v", c.ID, err)
	}
	return c
}

func testWebAuthnCreateGet(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	want := NewWebAuthnCredential(t, s, u.ID, func(c *mfa.WebAuthnCredential) {
		c.SignCount, c.BackupEligible, c.BackupState = 41, true, true
		c.Attachment, c.Transports = mfa.AttachmentPlatform, []string{"internal", "hybrid"}
		c.LastUsed = at(time.Hour)
	})
	got, err := s.GetWebAuthnCredential(ctx, want.ID)
	check(t, "GetWebAuthnCredential", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetWebAuthnCredential mismatch (-want +got):\n%s", diff)
	}
	got, err = s.WebAuthnCredentialByCredentialID(ctx, want.CredentialID)
	check(t, "WebAuthnCredentialByCredentialID", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("WebAuthnCredentialByCredentialID mismatch (-want +got):\n%s", diff)
	}
	_, err = s.GetWebAuthnCredential(ctx, "WANOSUCHKEY0000000000")
	wantKind(t, "GetWebAuthnCredential(unknown)", err, mfa.NotFound)
	_, err = s.WebAuthnCredentialByCredentialID(ctx, []byte("nope"))
	wantKind(t, "WebAuthnCredentialByCredentialID(unknown)", err, mfa.NotFound)
	_, err = s.WebAuthnCredentialByCredentialID(ctx, nil)
	wantKind(t, "WebAuthnCredentialByCredentialID(nil)", err, mfa.NotFound)
}

func testWebAuthnCreateInvalid(t *testing.T, s mfa.Store) {
	_, before, err := s.ListWebAuthnCredentials(t.Context(), mfa.WebAuthnFilter{})
	check(t, "ListWebAuthnCredentials", err)
	u := NewUser(t, s)
	for name, mod := range map[string]func(*mfa.WebAuthnCredential){
		"no credential id": func(c *mfa.WebAuthnCredential) { c.CredentialID = nil },
		"no public key":    func(c *mfa.WebAuthnCredential) { c.PublicKey = nil },
	} {
		c := mfa.WebAuthnCredential{ID: NewID(t, mfa.PrefixWebAuthn), UserID: u.ID, Name: "k",
			CredentialID: randomBytes(t, 16), PublicKey: randomBytes(t, 16), Created: at(0)}
		mod(&c)
		wantKind(t, "CreateWebAuthnCredential("+name+")", s.CreateWebAuthnCredential(t.Context(), c), mfa.Invalid)
	}
	_, after, err := s.ListWebAuthnCredentials(t.Context(), mfa.WebAuthnFilter{})
	check(t, "ListWebAuthnCredentials", err)
	if after != before {
		t.Errorf("after refused creates, %d credentials stored, want %d", after, before)
	}
}

func testWebAuthnCreateConflict(t *testing.T, s mfa.Store) {
	u1, u2 := NewUser(t, s), NewUser(t, s)
	c := NewWebAuthnCredential(t, s, u1.ID)
	dup := c
	dup.ID, dup.UserID = NewID(t, mfa.PrefixWebAuthn), u2.ID
	wantKind(t, "CreateWebAuthnCredential(same credential id, other user)", s.CreateWebAuthnCredential(t.Context(), dup), mfa.Conflict)
	same := c
	same.CredentialID = randomBytes(t, 32)
	wantKind(t, "CreateWebAuthnCredential(same id)", s.CreateWebAuthnCredential(t.Context(), same), mfa.Conflict)
}

func testWebAuthnCreateNotFound(t *testing.T, s mfa.Store) {
	c := mfa.WebAuthnCredential{ID: NewID(t, mfa.PrefixWebAuthn), UserID: "DUNOSUCHUSER000000000", Name: "k",
		CredentialID: randomBytes(t, 16), PublicKey: randomBytes(t, 16), Created: at(0)}
	wantKind(t, "CreateWebAuthnCredential(unknown user)", s.CreateWebAuthnCredential(t.Context(), c), mfa.NotFound)
}

func testWebAuthnList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u1, u2 := NewUser(t, s), NewUser(t, s)
	a := NewWebAuthnCredential(t, s, u1.ID, func(c *mfa.WebAuthnCredential) { c.Created = at(2 * time.Second) })
	b := NewWebAuthnCredential(t, s, u2.ID, func(c *mfa.WebAuthnCredential) { c.Created = at(time.Second) })
	c := NewWebAuthnCredential(t, s, u1.ID, func(c *mfa.WebAuthnCredential) { c.Created = at(3 * time.Second); c.Transports = nil })
	got, total, err := s.ListWebAuthnCredentials(ctx, mfa.WebAuthnFilter{})
	check(t, "ListWebAuthnCredentials", err)
	if diff := cmp.Diff([]mfa.WebAuthnCredential{b, a, c}, got, cmpOpts); diff != "" || total != 3 {
		t.Errorf("ListWebAuthnCredentials total %d (want 3), mismatch (-want +got):\n%s", total, diff)
	}
	got, total, err = s.ListWebAuthnCredentials(ctx, mfa.WebAuthnFilter{Page: mfa.Page{Limit: 1, Offset: 1}})
	check(t, "ListWebAuthnCredentials(page)", err)
	if diff := cmp.Diff([]mfa.WebAuthnCredential{a}, got, cmpOpts); diff != "" || total != 3 {
		t.Errorf("ListWebAuthnCredentials(page) total %d (want 3), mismatch (-want +got):\n%s", total, diff)
	}
	got, total, err = s.ListWebAuthnCredentials(ctx, mfa.WebAuthnFilter{UserID: u1.ID})
	check(t, "ListWebAuthnCredentials(user)", err)
	if diff := cmp.Diff([]mfa.WebAuthnCredential{a, c}, got, cmpOpts); diff != "" || total != 2 {
		t.Errorf("ListWebAuthnCredentials(user) total %d (want 2), mismatch (-want +got):\n%s", total, diff)
	}
	got, err = s.UserWebAuthnCredentials(ctx, u1.ID)
	check(t, "UserWebAuthnCredentials", err)
	if diff := cmp.Diff([]mfa.WebAuthnCredential{a, c}, got, cmpOpts); diff != "" {
		t.Errorf("UserWebAuthnCredentials mismatch (-want +got):\n%s", diff)
	}
	got, err = s.UserWebAuthnCredentials(ctx, NewUser(t, s).ID)
	check(t, "UserWebAuthnCredentials(none)", err)
	if len(got) != 0 {
		t.Errorf("UserWebAuthnCredentials(user without keys) = %d, want 0", len(got))
	}
}

func testWebAuthnRenameDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	c := NewWebAuthnCredential(t, s, u.ID)
	check(t, "RenameWebAuthnCredential", s.RenameWebAuthnCredential(ctx, c.ID, "Work laptop"))
	check(t, "MarkWebAuthnCloned", s.MarkWebAuthnCloned(ctx, c.ID))
	got, err := s.GetWebAuthnCredential(ctx, c.ID)
	check(t, "GetWebAuthnCredential", err)
	if got.Name != "Work laptop" || !got.Cloned {
		t.Errorf("after rename and mark: Name %q Cloned %v, want \"Work laptop\" true", got.Name, got.Cloned)
	}
	wantKind(t, "RenameWebAuthnCredential(unknown)", s.RenameWebAuthnCredential(ctx, "WAUNKNOWN", "x"), mfa.NotFound)
	wantKind(t, "MarkWebAuthnCloned(unknown)", s.MarkWebAuthnCloned(ctx, "WAUNKNOWN"), mfa.NotFound)
	check(t, "DeleteWebAuthnCredential", s.DeleteWebAuthnCredential(ctx, c.ID))
	wantKind(t, "DeleteWebAuthnCredential(again)", s.DeleteWebAuthnCredential(ctx, c.ID), mfa.NotFound)
	_, err = s.GetWebAuthnCredential(ctx, c.ID)
	wantKind(t, "GetWebAuthnCredential(deleted)", err, mfa.NotFound)
}

func testWebAuthnCascadeUser(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u, other := NewUser(t, s), NewUser(t, s)
	c := NewWebAuthnCredential(t, s, u.ID)
	keep := NewWebAuthnCredential(t, s, other.ID)
	check(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	_, err := s.GetWebAuthnCredential(ctx, c.ID)
	wantKind(t, "GetWebAuthnCredential(of deleted user)", err, mfa.NotFound)
	_, err = s.GetWebAuthnCredential(ctx, keep.ID)
	check(t, "GetWebAuthnCredential(other user's)", err)
}

func webauthnGuard(id string, counter uint64, now time.Time) mfa.Guard {
	return mfa.Guard{Kind: mfa.GuardWebAuthnCounter, ID: id, Counter: counter, Now: now}
}

// testWebAuthnCounter: the counter only moves up; 0 stays acceptable only
// while the stored counter is 0; a cloned key is refused; a refused write
// changes nothing (no failure count, no log, no LastUsed).
func testWebAuthnCounter(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	zero := NewWebAuthnCredential(t, s, u.ID)
	c := NewWebAuthnCredential(t, s, u.ID, func(c *mfa.WebAuthnCredential) { c.SignCount = 5 })
	apply := func(g mfa.Guard) error {
		_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: g, Success: true, At: g.Now,
			Log: &mfa.AuthLogEntry{TxID: NewTxID(t), Time: g.Now, EventType: "authentication", UserID: u.ID,
				Factor: "webauthn", Result: mfa.ResultSuccess, Reason: "user_approved"}})
		return err
	}
	check(t, "counter 0 on a counterless key", apply(webauthnGuard(zero.ID, 0, at(time.Minute))))
	check(t, "counter 0 again on a counterless key", apply(webauthnGuard(zero.ID, 0, at(2*time.Minute))))
	check(t, "counter 1 on a counterless key", apply(webauthnGuard(zero.ID, 1, at(3*time.Minute))))
	wantKind(t, "counter 0 after 1", apply(webauthnGuard(zero.ID, 0, at(4*time.Minute))), mfa.Conflict)

	wantKind(t, "counter 5 (equal)", apply(webauthnGuard(c.ID, 5, at(time.Minute))), mfa.Conflict)
	wantKind(t, "counter 4 (lower)", apply(webauthnGuard(c.ID, 4, at(time.Minute))), mfa.Conflict)
	check(t, "counter 9", apply(webauthnGuard(c.ID, 9, at(time.Hour))))
	got, err := s.GetWebAuthnCredential(ctx, c.ID)
	check(t, "GetWebAuthnCredential", err)
	if got.SignCount != 9 || !got.LastUsed.Equal(at(time.Hour)) {
		t.Errorf("after counter 9: SignCount %d LastUsed %v, want 9 %v", got.SignCount, got.LastUsed, at(time.Hour))
	}
	check(t, "MarkWebAuthnCloned", s.MarkWebAuthnCloned(ctx, c.ID))
	wantKind(t, "counter 10 on a cloned key", apply(webauthnGuard(c.ID, 10, at(2*time.Hour))), mfa.Conflict)
	wantKind(t, "unknown key", apply(webauthnGuard("WANOSUCHKEY0000000000", 10, at(2*time.Hour))), mfa.NotFound)
	logs, _, err := s.ListAuthLog(ctx, mfa.AuthLogFilter{})
	check(t, "ListAuthLog", err)
	if len(logs) != 4 {
		t.Errorf("auth log has %d records, want 4 (only the accepted writes)", len(logs))
	}
}

// testWebAuthnCounterConcurrent: of many concurrent assertions carrying
// the same counter exactly one wins; so does one of a mix of a counter and
// lower ones.
func testWebAuthnCounterConcurrent(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	for _, counters := range [][]uint64{{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, {12, 11, 11, 11, 11, 11, 11, 11, 11, 11}} {
		c := NewWebAuthnCredential(t, s, u.ID, func(c *mfa.WebAuthnCredential) { c.SignCount = 3 })
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []uint64
		)
		for _, n := range counters {
			wg.Go(func() {
				_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: webauthnGuard(c.ID, n, at(time.Minute)), Success: true, At: at(time.Minute)})
				switch {
				case err == nil:
					mu.Lock()
					wins = append(wins, n)
					mu.Unlock()
				case mfa.KindOf(err) != mfa.Conflict:
					t.Errorf("ApplyAuth(counter %d) = %v, want nil or Conflict", n, err)
				}
			})
		}
		wg.Wait()
		got, err := s.GetWebAuthnCredential(ctx, c.ID)
		check(t, "GetWebAuthnCredential", err)
		switch {
		case counters[0] == 7 && len(wins) != 1:
			t.Errorf("%d concurrent assertions with counter 7: %d won, want exactly 1", len(counters), len(wins))
		case counters[0] == 12 && (len(wins) == 0 || len(wins) > 2 || got.SignCount != 12):
			// 11 may win before 12 arrives (then 12 wins too); never two 11s.
			t.Errorf("counters %v: wins %v, stored %d; want 12 stored and at most one 11", counters, wins, got.SignCount)
		}
		elevens := 0
		for _, w := range wins {
			if w == 11 {
				elevens++
			}
		}
		if elevens > 1 {
			t.Errorf("two assertions with counter 11 both won: %v", wins)
		}
	}
}

// testWebAuthnCounterNoLog: a refused counter (Conflict) writes neither
// the failure count nor the log of its AuthWrite.
func testWebAuthnCounterNoLog(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	c := NewWebAuthnCredential(t, s, u.ID, func(c *mfa.WebAuthnCredential) { c.SignCount = 5 })
	_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: webauthnGuard(c.ID, 2, at(time.Minute)), Success: true, At: at(time.Minute),
		Log: &mfa.AuthLogEntry{TxID: NewTxID(t), Time: at(time.Minute), EventType: "authentication", UserID: u.ID, Factor: "webauthn",
			Result: mfa.ResultSuccess}})
	wantKind(t, "ApplyAuth(lower counter)", err, mfa.Conflict)
	logs, _, err := s.ListAuthLog(ctx, mfa.AuthLogFilter{})
	check(t, "ListAuthLog", err)
	got, err := s.GetWebAuthnCredential(ctx, c.ID)
	check(t, "GetWebAuthnCredential", err)
	if len(logs) != 0 || got.SignCount != 5 || !got.LastUsed.IsZero() {
		t.Errorf("after a refused counter: %d log records, SignCount %d, LastUsed %v; want 0, 5, zero", len(logs), got.SignCount, got.LastUsed)
	}
}
