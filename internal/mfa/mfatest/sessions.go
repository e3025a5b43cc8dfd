package mfatest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func sessionTests() []storeTest {
	return []storeTest{
		{"CreateGet", testSessionCreateGet},
		{"Duplicate", testSessionDuplicate},
		{"Expiry", testSessionExpiry},
		{"Update", testSessionUpdate},
		{"Invalid", testSessionInvalid},
		{"Delete", testSessionDelete},
		{"DeleteExpired", testSessionDeleteExpired},
	}
}

// sessionKey is a valid session key for name.
func sessionKey(name string) string { return mfa.SessionKey("token-" + name) }

func newSession(name string, data string, created time.Time, idle time.Duration) mfa.Session {
	return mfa.Session{Key: sessionKey(name), Data: []byte(data), Created: created, Expires: created.Add(idle)}
}

// wantNoSession fails t unless err is NotFound.
func wantNoSession(t *testing.T, call string, err error) {
	t.Helper()
	if !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("%s = %v, want NotFound", call, err)
	}
}

func testSessionCreateGet(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	want := newSession("a", `{"user":"alice","csrf":"x"}`, at(0), 30*time.Minute)
	check(t, "CreateSession", s.CreateSession(ctx, want))
	got, err := s.GetSession(ctx, want.Key, at(time.Minute))
	check(t, "GetSession", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetSession() mismatch (-want +got):\n%s", diff)
	}
	// Binary data and empty data round-trip.
	bin := newSession("bin", "\x00\xff\x01binary\x00", at(0), time.Hour)
	check(t, "CreateSession(binary)", s.CreateSession(ctx, bin))
	if got, err := s.GetSession(ctx, bin.Key, at(0)); err != nil || !bytes.Equal(got.Data, bin.Data) {
		t.Errorf("GetSession(binary) = %q, %v, want %q", got.Data, err, bin.Data)
	}
	empty := newSession("empty", "", at(0), time.Hour)
	empty.Data = nil
	check(t, "CreateSession(no data)", s.CreateSession(ctx, empty))
	if got, err := s.GetSession(ctx, empty.Key, at(0)); err != nil || len(got.Data) != 0 {
		t.Errorf("GetSession(no data) = %q, %v, want no data", got.Data, err)
	}
	// The largest allowed data fits.
	big := newSession("big", strings.Repeat("x", mfa.MaxSessionData), at(0), time.Hour)
	check(t, "CreateSession(MaxSessionData)", s.CreateSession(ctx, big))
	if got, err := s.GetSession(ctx, big.Key, at(0)); err != nil || len(got.Data) != mfa.MaxSessionData {
		t.Errorf("GetSession(big) = %d bytes, %v, want %d", len(got.Data), err, mfa.MaxSessionData)
	}
	_, err = s.GetSession(ctx, sessionKey("unknown"), at(0))
	wantNoSession(t, "GetSession(unknown)", err)
}

func testSessionDuplicate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	check(t, "CreateSession", s.CreateSession(ctx, newSession("dup", "one", at(0), time.Hour)))
	err := s.CreateSession(ctx, newSession("dup", "two", at(time.Second), time.Hour))
	if !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("CreateSession(same key) = %v, want Conflict", err)
	}
	if got, err := s.GetSession(ctx, sessionKey("dup"), at(time.Second)); err != nil || string(got.Data) != "one" {
		t.Errorf("GetSession after a refused duplicate = %q, %v, want the first session's data", got.Data, err)
	}
}

func testSessionExpiry(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	se := newSession("exp", "d", at(0), time.Minute)
	check(t, "CreateSession", s.CreateSession(ctx, se))
	if _, err := s.GetSession(ctx, se.Key, at(time.Minute-time.Microsecond)); err != nil {
		t.Errorf("GetSession just before expiry = %v, want the session", err)
	}
	_, err := s.GetSession(ctx, se.Key, at(time.Minute))
	wantNoSession(t, "GetSession at expiry", err)
	_, err = s.GetSession(ctx, se.Key, at(time.Hour))
	wantNoSession(t, "GetSession after expiry", err)
	// An expired session cannot be revived by an update.
	wantNoSession(t, "UpdateSession after expiry",
		s.UpdateSession(ctx, se.Key, []byte("new"), at(2*time.Hour), at(time.Minute)))
}

func testSessionUpdate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	se := newSession("upd", "old", at(0), time.Minute)
	other := newSession("other", "other", at(0), time.Minute)
	check(t, "CreateSession", s.CreateSession(ctx, se))
	check(t, "CreateSession(other)", s.CreateSession(ctx, other))
	check(t, "UpdateSession", s.UpdateSession(ctx, se.Key, []byte("new"), at(31*time.Minute), at(30*time.Second)))
	got, err := s.GetSession(ctx, se.Key, at(30*time.Minute))
	check(t, "GetSession after the update", err)
	want := mfa.Session{Key: se.Key, Data: []byte("new"), Created: at(0), Expires: at(31 * time.Minute)}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetSession after UpdateSession mismatch (-want +got):\n%s", diff)
	}
	// The other session is untouched.
	if got, err := s.GetSession(ctx, other.Key, at(0)); err != nil || string(got.Data) != "other" || !got.Expires.Equal(other.Expires) {
		t.Errorf("GetSession(other) = %+v, %v, want it unchanged", got, err)
	}
	wantNoSession(t, "UpdateSession(unknown)",
		s.UpdateSession(ctx, sessionKey("unknown"), []byte("x"), at(time.Hour), at(0)))
}

func testSessionInvalid(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name      string
		give      mfa.Session
		wantField string
	}{
		{"empty key", mfa.Session{Key: "", Created: at(0), Expires: at(time.Hour)}, "key"},
		{"a raw token as key", mfa.Session{Key: "token", Created: at(0), Expires: at(time.Hour)}, "key"},
		{"data too large", newSession("big", strings.Repeat("x", mfa.MaxSessionData+1), at(0), time.Hour), "data"},
		{"expires at creation", newSession("now", "", at(0), 0), "expires"},
		{"expires before creation", newSession("past", "", at(0), -time.Minute), "expires"},
	}
	for _, tt := range tests {
		err := s.CreateSession(ctx, tt.give)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != tt.wantField {
			t.Errorf("CreateSession(%s) = %v, want Invalid with Field %q", tt.name, err, tt.wantField)
		}
	}
	se := newSession("ok", "d", at(0), time.Hour)
	check(t, "CreateSession", s.CreateSession(ctx, se))
	for _, tt := range []struct {
		name      string
		data      []byte
		expires   time.Time
		wantField string
	}{
		{"data too large", bytes.Repeat([]byte("x"), mfa.MaxSessionData+1), at(time.Hour), "data"},
		{"expires now", []byte("d"), at(time.Minute), "expires"},
	} {
		err := s.UpdateSession(ctx, se.Key, tt.data, tt.expires, at(time.Minute))
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != tt.wantField {
			t.Errorf("UpdateSession(%s) = %v, want Invalid with Field %q", tt.name, err, tt.wantField)
		}
	}
	if got, err := s.GetSession(ctx, se.Key, at(time.Minute)); err != nil || string(got.Data) != "d" {
		t.Errorf("GetSession after refused updates = %q, %v, want the data unchanged", got.Data, err)
	}
}

func testSessionDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	se, other := newSession("del", "d", at(0), time.Hour), newSession("keep", "k", at(0), time.Hour)
	check(t, "CreateSession", s.CreateSession(ctx, se))
	check(t, "CreateSession(other)", s.CreateSession(ctx, other))
	check(t, "DeleteSession", s.DeleteSession(ctx, se.Key))
	_, err := s.GetSession(ctx, se.Key, at(0))
	wantNoSession(t, "GetSession after DeleteSession", err)
	wantNoSession(t, "UpdateSession after DeleteSession", s.UpdateSession(ctx, se.Key, []byte("x"), at(time.Hour), at(0)))
	check(t, "DeleteSession again", s.DeleteSession(ctx, se.Key))
	if _, err := s.GetSession(ctx, other.Key, at(0)); err != nil {
		t.Errorf("GetSession(other) after deleting another = %v, want it kept", err)
	}
	// A deleted key may be used again (a new session never reuses one,
	// but the store does not forbid it).
	check(t, "CreateSession with a deleted key", s.CreateSession(ctx, se))
}

func testSessionDeleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	sessions := map[string]time.Time{
		"ended":     at(time.Minute),
		"ends now":  now,
		"live":      now.Add(time.Microsecond),
		"long live": now.Add(time.Hour),
	}
	for name, exp := range sessions {
		check(t, "CreateSession("+name+")", s.CreateSession(ctx, mfa.Session{Key: sessionKey(name), Data: []byte(name), Created: at(0), Expires: exp}))
	}
	if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 2 {
		t.Errorf("DeleteExpiredSessions(now) = %d, %v, want 2, nil", n, err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSessions(now) again = %d, %v, want 0, nil", n, err)
	}
	for _, name := range []string{"live", "long live"} {
		if got, err := s.GetSession(ctx, sessionKey(name), now); err != nil || string(got.Data) != name {
			t.Errorf("GetSession(%s) after the reaper = %q, %v, want it kept", name, got.Data, err)
		}
	}
	// The deleted ones are gone even to a reader with an earlier clock.
	_, err := s.GetSession(ctx, sessionKey("ended"), at(0))
	wantNoSession(t, "GetSession(ended) after the reaper", err)
}
