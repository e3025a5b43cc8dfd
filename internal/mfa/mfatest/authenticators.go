package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func authenticatorTests() []storeTest {
	return []storeTest{
		{"Activate", testAuthenticatorActivate},
		{"Reactivate", testAuthenticatorReactivate},
		{"ActivateConcurrent", testAuthenticatorActivateConcurrent},
		{"Revoke", testAuthenticatorRevoke},
		{"UserAuthenticators", testUserAuthenticators},
		{"Touch", testAuthenticatorTouch},
		{"NotFound", testAuthenticatorNotFound},
	}
}

// getAuthenticator reads an install, failing t at once if it cannot.
func getAuthenticator(t *testing.T, s mfa.Store, id string) mfa.Authenticator {
	t.Helper()
	a, err := s.GetAuthenticator(t.Context(), id)
	check(t, fmt.Sprintf("GetAuthenticator(%s)", id), err)
	return a
}

func testAuthenticatorActivate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	tests := []struct {
		name string
		give mfa.Authenticator
	}{
		{"hotp", mfa.Authenticator{
			UserID:      u.ID,
			Status:      mfa.AuthenticatorActive,
			PublicKey:   mfa.Secret("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"),
			HOTPSecret:  mfa.Secret([]byte{0, 1, 2, 0xfe, 0xff, 0, 'x'}),
			HOTPCounter: 1<<40 + 5,
			Platform:    "google android",
			Model:       "Pixel 9",
			AppVersion:  "2.1.0",
			Created:     at(0),
			LastSeen:    at(time.Minute),
		}},
		{"totp", mfa.Authenticator{
			Status:       mfa.AuthenticatorActive,
			PublicKey:    NewSecret(t, 64),
			HOTPSecret:   NewSecret(t, 32),
			TOTP:         true,
			TOTPLastStep: 58_000_000,
			Platform:     "apple ios",
			Created:      at(time.Hour).UTC(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPhone(t, s)
			give := tt.give
			give.ID = NewID(t, mfa.PrefixAuthenticator)
			give.PhoneID = p.ID
			check(t, "ActivateAuthenticator()", s.ActivateAuthenticator(ctx, give))
			got := getAuthenticator(t, s, give.ID)
			if diff := cmp.Diff(give, got, cmpOpts); diff != "" {
				t.Errorf("GetAuthenticator(%s) mismatch (-want +got):\n%s", give.ID, diff)
			}
			if string(got.HOTPSecret.Reveal()) != string(give.HOTPSecret.Reveal()) || string(got.PublicKey.Reveal()) != string(give.PublicKey.Reveal()) {
				t.Errorf("GetAuthenticator(%s) secrets differ from the stored ones", give.ID)
			}
			if give.LastSeen.IsZero() && !got.LastSeen.IsZero() {
				t.Errorf("GetAuthenticator(%s).LastSeen = %v, want zero", give.ID, got.LastSeen)
			}
			cur, err := s.PhoneAuthenticator(ctx, p.ID)
			check(t, "PhoneAuthenticator()", err)
			if diff := cmp.Diff(give, cur, cmpOpts); diff != "" {
				t.Errorf("PhoneAuthenticator(%s) mismatch (-want +got):\n%s", p.ID, diff)
			}
			if got := getPhone(t, s, p.ID); !got.Activated {
				t.Errorf("GetPhone(%s).Activated after ActivateAuthenticator = false, want true", p.ID)
			}
		})
	}
}

func testAuthenticatorReactivate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	p := NewPhone(t, s)
	other := NewPhone(t, s)
	neighbour := NewAuthenticator(t, s, other.ID)
	first := NewAuthenticator(t, s, p.ID)
	second := NewAuthenticator(t, s, p.ID, func(a *mfa.Authenticator) { a.Created = at(time.Hour) })

	if got := getAuthenticator(t, s, first.ID); got.Status != mfa.AuthenticatorRevoked {
		t.Errorf("GetAuthenticator(first).Status after reactivation = %q, want %q", got.Status, mfa.AuthenticatorRevoked)
	}
	if got := getAuthenticator(t, s, second.ID); got.Status != mfa.AuthenticatorActive {
		t.Errorf("GetAuthenticator(second).Status = %q, want %q", got.Status, mfa.AuthenticatorActive)
	}
	if got := getAuthenticator(t, s, neighbour.ID); got.Status != mfa.AuthenticatorActive {
		t.Errorf("GetAuthenticator(install on another phone).Status = %q, want %q", got.Status, mfa.AuthenticatorActive)
	}
	cur, err := s.PhoneAuthenticator(ctx, p.ID)
	check(t, "PhoneAuthenticator()", err)
	if cur.ID != second.ID {
		t.Errorf("PhoneAuthenticator(%s) = %s, want the newest install %s", p.ID, cur.ID, second.ID)
	}
	if got := getPhone(t, s, p.ID); !got.Activated {
		t.Errorf("GetPhone(%s).Activated after reactivation = false, want true", p.ID)
	}

	// A third activation revokes the second too; one active install at most.
	third := NewAuthenticator(t, s, p.ID)
	for _, a := range []mfa.Authenticator{first, second} {
		if got := getAuthenticator(t, s, a.ID); got.Status != mfa.AuthenticatorRevoked {
			t.Errorf("GetAuthenticator(%s).Status after third activation = %q, want %q", a.ID, got.Status, mfa.AuthenticatorRevoked)
		}
	}
	if cur, err := s.PhoneAuthenticator(ctx, p.ID); err != nil || cur.ID != third.ID {
		t.Errorf("PhoneAuthenticator(%s) = %s, %v, want %s, nil", p.ID, cur.ID, err, third.ID)
	}
}

func testAuthenticatorRevoke(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	p := NewPhone(t, s)
	other := NewPhone(t, s)
	old := NewAuthenticator(t, s, p.ID)
	cur := NewAuthenticator(t, s, p.ID)
	neighbour := NewAuthenticator(t, s, other.ID)

	// Revoking an install that is no longer active leaves the phone activated.
	_ = s.RevokeAuthenticator(ctx, old.ID)
	if got := getPhone(t, s, p.ID); !got.Activated {
		t.Errorf("GetPhone(%s).Activated after revoking an already revoked install = false, want true", p.ID)
	}
	if got, err := s.PhoneAuthenticator(ctx, p.ID); err != nil || got.ID != cur.ID {
		t.Errorf("PhoneAuthenticator(%s) after revoking an old install = %s, %v, want %s, nil", p.ID, got.ID, err, cur.ID)
	}

	check(t, "RevokeAuthenticator(current)", s.RevokeAuthenticator(ctx, cur.ID))
	if got := getAuthenticator(t, s, cur.ID); got.Status != mfa.AuthenticatorRevoked {
		t.Errorf("GetAuthenticator(%s).Status after RevokeAuthenticator = %q, want %q", cur.ID, got.Status, mfa.AuthenticatorRevoked)
	}
	if got := getPhone(t, s, p.ID); got.Activated {
		t.Errorf("GetPhone(%s).Activated after revoking its active install = true, want false", p.ID)
	}
	if _, err := s.PhoneAuthenticator(ctx, p.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("PhoneAuthenticator(%s) after revoke = %v, want not found", p.ID, err)
	}
	if got := getPhone(t, s, other.ID); !got.Activated {
		t.Errorf("GetPhone(other).Activated after revoking on another phone = false, want true")
	}
	if got := getAuthenticator(t, s, neighbour.ID); got.Status != mfa.AuthenticatorActive {
		t.Errorf("GetAuthenticator(neighbour).Status = %q, want %q", got.Status, mfa.AuthenticatorActive)
	}

	// Activating again makes the phone activated again.
	again := NewAuthenticator(t, s, p.ID)
	if got := getPhone(t, s, p.ID); !got.Activated {
		t.Errorf("GetPhone(%s).Activated after activating again = false, want true", p.ID)
	}
	if got, err := s.PhoneAuthenticator(ctx, p.ID); err != nil || got.ID != again.ID {
		t.Errorf("PhoneAuthenticator(%s) = %s, %v, want %s, nil", p.ID, got.ID, err, again.ID)
	}
}

func testUserAuthenticators(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	shared := NewPhone(t, s)
	own := NewPhone(t, s)
	bare := NewPhone(t, s) // attached, never activated
	elsewhere := NewPhone(t, s)
	for _, p := range []mfa.Phone{shared, own, bare} {
		check(t, "AttachPhone(alice)", s.AttachPhone(ctx, alice.ID, p.ID))
	}
	check(t, "AttachPhone(bob)", s.AttachPhone(ctx, bob.ID, shared.ID))

	// The install on the shared phone was activated by bob: alice's
	// installs are found through her phones, not the UserID field.
	NewAuthenticator(t, s, shared.ID, func(a *mfa.Authenticator) { a.UserID = bob.ID })
	onShared := NewAuthenticator(t, s, shared.ID, func(a *mfa.Authenticator) { a.UserID = bob.ID })
	NewAuthenticator(t, s, own.ID, func(a *mfa.Authenticator) { a.UserID = alice.ID })
	onOwn := NewAuthenticator(t, s, own.ID, func(a *mfa.Authenticator) { a.UserID = alice.ID })
	NewAuthenticator(t, s, elsewhere.ID, func(a *mfa.Authenticator) { a.UserID = alice.ID })

	tests := []struct {
		give string
		want []mfa.Authenticator
	}{
		{alice.ID, []mfa.Authenticator{onShared, onOwn}},
		{bob.ID, []mfa.Authenticator{onShared}},
		{NewUser(t, s).ID, nil},
	}
	for _, tt := range tests {
		got, err := s.UserAuthenticators(ctx, tt.give)
		check(t, "UserAuthenticators()", err)
		if diff := cmp.Diff(tt.want, got, cmpOpts, sortAuthenticators); diff != "" {
			t.Errorf("UserAuthenticators(%s) mismatch (-want +got):\n%s", tt.give, diff)
		}
	}

	check(t, "DetachPhone()", s.DetachPhone(ctx, alice.ID, shared.ID))
	check(t, "RevokeAuthenticator()", s.RevokeAuthenticator(ctx, onOwn.ID))
	got, err := s.UserAuthenticators(ctx, alice.ID)
	check(t, "UserAuthenticators()", err)
	if len(got) != 0 {
		t.Errorf("UserAuthenticators(alice) after detach and revoke = %d installs, want 0", len(got))
	}
}

func testAuthenticatorTouch(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	p := NewPhone(t, s)
	a := NewAuthenticator(t, s, p.ID)
	other := NewAuthenticator(t, s, NewPhone(t, s).ID)
	for _, when := range []time.Time{at(time.Minute), at(time.Hour).UTC(), at(2 * time.Hour)} {
		check(t, "TouchAuthenticator()", s.TouchAuthenticator(ctx, a.ID, when))
		want := a
		want.LastSeen = when
		if diff := cmp.Diff(want, getAuthenticator(t, s, a.ID), cmpOpts); diff != "" {
			t.Errorf("GetAuthenticator(%s) after TouchAuthenticator(%v) mismatch (-want +got):\n%s", a.ID, when, diff)
		}
	}
	// Phone.LastSeen is the last contact from its authenticator.
	if got := getPhone(t, s, p.ID).LastSeen; !got.Equal(at(2 * time.Hour)) {
		t.Errorf("GetPhone(%s).LastSeen after TouchAuthenticator = %v, want %v", p.ID, got, at(2*time.Hour))
	}
	if got := getAuthenticator(t, s, other.ID); !got.LastSeen.IsZero() {
		t.Errorf("GetAuthenticator(other).LastSeen = %v, want zero", got.LastSeen)
	}
}

func testAuthenticatorNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	bare := NewPhone(t, s)
	missing := mfa.Authenticator{
		ID:         NewID(t, mfa.PrefixAuthenticator),
		PhoneID:    NewID(t, mfa.PrefixPhone),
		Status:     mfa.AuthenticatorActive,
		HOTPSecret: NewSecret(t, 20),
		Created:    at(0),
	}
	tests := []struct {
		call string
		give func() error
	}{
		{"ActivateAuthenticator(missing phone)", func() error { return s.ActivateAuthenticator(ctx, missing) }},
		{"GetAuthenticator(missing)", func() error { _, err := s.GetAuthenticator(ctx, missing.ID); return err }},
		{"PhoneAuthenticator(missing phone)", func() error { _, err := s.PhoneAuthenticator(ctx, missing.PhoneID); return err }},
		{"PhoneAuthenticator(never activated)", func() error { _, err := s.PhoneAuthenticator(ctx, bare.ID); return err }},
		{"RevokeAuthenticator(missing)", func() error { return s.RevokeAuthenticator(ctx, missing.ID) }},
		{"TouchAuthenticator(missing)", func() error { return s.TouchAuthenticator(ctx, missing.ID, at(0)) }},
	}
	for _, tt := range tests {
		wantKind(t, tt.call, tt.give(), mfa.NotFound)
	}
}

func testAuthenticatorActivateConcurrent(t *testing.T, s mfa.Store) {
	const n = 10
	p := NewPhone(t, s)
	old := NewAuthenticator(t, s, p.ID)
	auths := make([]mfa.Authenticator, n)
	for i := range auths {
		auths[i] = mfa.Authenticator{
			ID:         NewID(t, mfa.PrefixAuthenticator),
			PhoneID:    p.ID,
			Status:     mfa.AuthenticatorActive,
			PublicKey:  NewSecret(t, 32),
			HOTPSecret: NewSecret(t, 20),
			Created:    at(time.Minute),
		}
	}
	errs := Race(t, n, func(ctx context.Context, i int) error { return s.ActivateAuthenticator(ctx, auths[i]) })
	// Every activation stands; the one that committed last stays active.
	wantAllOK(t, "ActivateAuthenticator(same phone)", errs)
	active := 0
	for _, a := range append(auths, old) {
		if getAuthenticator(t, s, a.ID).Status == mfa.AuthenticatorActive {
			active++
		}
	}
	if active != 1 {
		t.Errorf("after %d concurrent activations on one phone, %d installs are active, want 1", n, active)
	}
	cur, err := s.PhoneAuthenticator(t.Context(), p.ID)
	check(t, "PhoneAuthenticator()", err)
	if cur.Status != mfa.AuthenticatorActive || cur.ID == old.ID {
		t.Errorf("PhoneAuthenticator(%s) = %s (%s), want one of the new installs, active", p.ID, cur.ID, cur.Status)
	}
	if !getPhone(t, s, p.ID).Activated {
		t.Errorf("GetPhone(%s).Activated = false, want true", p.ID)
	}
}
