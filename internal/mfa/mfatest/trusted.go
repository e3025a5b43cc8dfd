package mfatest

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func trustedDeviceTests() []storeTest {
	return []storeTest{
		{"CreateCheck", testTrustedCreateCheck},
		{"CheckNotFound", testTrustedCheckNotFound},
		{"CreateInvalid", testTrustedCreateInvalid},
		{"CreateNotFound", testTrustedCreateNotFound},
		{"CreateConflict", testTrustedCreateConflict},
		{"DeleteUserDevices", testTrustedDeleteUserDevices},
		{"DeleteExpired", testTrustedDeleteExpired},
		{"CascadeUser", testTrustedCascadeUser},
		{"TokenFor", testTrustedTokenFor},
	}
}

// testTrustedTokenFor: a transaction's token is the same on every call,
// differs between transactions, works as a remembered device's token, and
// an empty txid is Invalid.
func testTrustedTokenFor(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a1, err := s.TrustedTokenFor(ctx, "7c4d8a2e-1111-4aaa-8bbb-000000000001")
	check(t, "TrustedTokenFor(tx 1)", err)
	a2, err := s.TrustedTokenFor(ctx, "7c4d8a2e-1111-4aaa-8bbb-000000000001")
	check(t, "TrustedTokenFor(tx 1) again", err)
	b, err := s.TrustedTokenFor(ctx, "7c4d8a2e-1111-4aaa-8bbb-000000000002")
	check(t, "TrustedTokenFor(tx 2)", err)
	if a1 == "" || a1 != a2 || a1 == b || len(a1) < 40 {
		t.Errorf("TrustedTokenFor = %q, %q (same txid), %q (another); want one stable token of at least 40 characters per txid", a1, a2, b)
	}
	u := NewUser(t, s)
	newTrustedDevice(t, s, u.ID, "DIKEY", func(d *mfa.TrustedDevice) { d.Token = a1 })
	if _, err := s.CheckTrustedDevice(ctx, a1, u.ID, "DIKEY", at(time.Hour)); err != nil {
		t.Errorf("CheckTrustedDevice(derived token) = %v", err)
	}
	_, err = s.TrustedTokenFor(ctx, "")
	wantKind(t, "TrustedTokenFor(\"\")", err, mfa.Invalid)
}

// newTrustedToken returns a fresh random remembered-device token.
func newTrustedToken(t *testing.T) mfa.Passcode {
	t.Helper()
	tok, err := mfa.RandomString(rand.Reader, activationAlphabet, 40)
	if err != nil {
		t.Fatalf("RandomString() = %v", err)
	}
	return mfa.Passcode(tok)
}

// newTrustedDevice stores a remembered device of userID through ikey,
// created at epoch and expiring 30 days later, after applying mods. It
// returns it with its Token.
func newTrustedDevice(t *testing.T, s mfa.Store, userID, ikey string, mods ...func(*mfa.TrustedDevice)) mfa.TrustedDevice {
	t.Helper()
	d := mfa.TrustedDevice{
		ID:      NewID(t, mfa.PrefixTrustedDevice),
		Token:   newTrustedToken(t),
		UserID:  userID,
		IKey:    ikey,
		Created: at(0),
		Expires: at(30 * 24 * time.Hour),
	}
	for _, mod := range mods {
		mod(&d)
	}
	check(t, fmt.Sprintf("CreateTrustedDevice(%s)", d.ID), s.CreateTrustedDevice(t.Context(), d))
	return d
}

// storedTrusted is d as the store returns it: without the token.
func storedTrusted(d mfa.TrustedDevice) mfa.TrustedDevice {
	d.Token = ""
	return d
}

func testTrustedCreateCheck(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	ikey := NewID(t, mfa.PrefixIntegration)
	d := newTrustedDevice(t, s, u.ID, ikey, func(d *mfa.TrustedDevice) {
		// Odd zone, nanoseconds: the same instants come back, at
		// microsecond precision.
		d.Created = epoch.Add(time.Second)
		d.Expires = epoch.Add(24 * time.Hour)
	})
	other := newTrustedDevice(t, s, u.ID, ikey) // a second device of the same user and integration
	want := storedTrusted(d)
	want.Created, want.Expires = at(time.Second), at(24*time.Hour)
	for _, now := range []time.Time{at(time.Minute), at(24*time.Hour - time.Microsecond)} {
		got, err := s.CheckTrustedDevice(ctx, d.Token, u.ID, ikey, now)
		check(t, fmt.Sprintf("CheckTrustedDevice(at %v)", now), err)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("CheckTrustedDevice(at %v) mismatch (-want +got):\n%s", now, diff)
		}
		if got.Token != "" {
			t.Errorf("CheckTrustedDevice() returned the token, want it empty")
		}
	}
	got, err := s.CheckTrustedDevice(ctx, other.Token, u.ID, ikey, at(time.Minute))
	check(t, "CheckTrustedDevice(second device)", err)
	if diff := cmp.Diff(storedTrusted(other), got, cmpOpts); diff != "" {
		t.Errorf("CheckTrustedDevice(second device) mismatch (-want +got):\n%s", diff)
	}
	// Checking does not use the token up.
	if _, err := s.CheckTrustedDevice(ctx, d.Token, u.ID, ikey, at(2*time.Minute)); err != nil {
		t.Errorf("CheckTrustedDevice(again) = %v, want nil", err)
	}
}

func testTrustedCheckNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	bob := NewUser(t, s)
	ikey := NewID(t, mfa.PrefixIntegration)
	d := newTrustedDevice(t, s, u.ID, ikey, func(d *mfa.TrustedDevice) { d.Expires = at(time.Hour) })
	bobs := newTrustedDevice(t, s, bob.ID, ikey)
	tok := string(d.Token)
	tests := []struct {
		name   string
		token  mfa.Passcode
		userID string
		ikey   string
		now    time.Time
	}{
		{"unknown token", newTrustedToken(t), u.ID, ikey, at(time.Minute)},
		{"empty token", "", u.ID, ikey, at(time.Minute)},
		{"token prefix", mfa.Passcode(tok[:len(tok)-1]), u.ID, ikey, at(time.Minute)},
		{"token with a suffix", mfa.Passcode(tok + "x"), u.ID, ikey, at(time.Minute)},
		{"another user's token", bobs.Token, u.ID, ikey, at(time.Minute)},
		{"for another user", d.Token, bob.ID, ikey, at(time.Minute)},
		{"for an unknown user", d.Token, NewID(t, mfa.PrefixUser), ikey, at(time.Minute)},
		{"for another integration", d.Token, u.ID, NewID(t, mfa.PrefixIntegration), at(time.Minute)},
		{"for no integration", d.Token, u.ID, "", at(time.Minute)},
		{"at expiry", d.Token, u.ID, ikey, at(time.Hour)},
		{"after expiry", d.Token, u.ID, ikey, at(2 * time.Hour)},
	}
	for _, tt := range tests {
		got, err := s.CheckTrustedDevice(ctx, tt.token, tt.userID, tt.ikey, tt.now)
		wantKind(t, "CheckTrustedDevice("+tt.name+")", err, mfa.NotFound)
		if err == nil && got.Token != "" {
			t.Errorf("CheckTrustedDevice(%s) returned a token", tt.name)
		}
	}
	// The failures changed nothing.
	if _, err := s.CheckTrustedDevice(ctx, d.Token, u.ID, ikey, at(time.Minute)); err != nil {
		t.Errorf("CheckTrustedDevice(right token after wrong ones) = %v, want nil", err)
	}
}

func testTrustedCreateInvalid(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	ikey := NewID(t, mfa.PrefixIntegration)
	tests := []struct {
		name string
		mod  func(*mfa.TrustedDevice)
	}{
		{"no token", func(d *mfa.TrustedDevice) { d.Token = "" }},
		{"never expires", func(d *mfa.TrustedDevice) { d.Expires = time.Time{} }},
	}
	for _, tt := range tests {
		d := mfa.TrustedDevice{ID: NewID(t, mfa.PrefixTrustedDevice), Token: newTrustedToken(t), UserID: u.ID, IKey: ikey,
			Created: at(0), Expires: at(time.Hour)}
		tt.mod(&d)
		wantKind(t, "CreateTrustedDevice("+tt.name+")", s.CreateTrustedDevice(ctx, d), mfa.Invalid)
		if d.Token != "" {
			_, err := s.CheckTrustedDevice(ctx, d.Token, u.ID, ikey, at(time.Minute))
			wantKind(t, "CheckTrustedDevice(after CreateTrustedDevice("+tt.name+"))", err, mfa.NotFound)
		}
	}
	if n, err := s.DeleteTrustedDevices(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("DeleteTrustedDevices() after invalid creates = %d, %v, want 0, nil", n, err)
	}
}

func testTrustedCreateNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	ikey := NewID(t, mfa.PrefixIntegration)
	d := mfa.TrustedDevice{ID: NewID(t, mfa.PrefixTrustedDevice), Token: newTrustedToken(t), UserID: NewID(t, mfa.PrefixUser),
		IKey: ikey, Created: at(0), Expires: at(time.Hour)}
	wantKind(t, "CreateTrustedDevice(unknown user)", s.CreateTrustedDevice(ctx, d), mfa.NotFound)
	_, err := s.CheckTrustedDevice(ctx, d.Token, d.UserID, ikey, at(time.Minute))
	wantKind(t, "CheckTrustedDevice(after CreateTrustedDevice(unknown user))", err, mfa.NotFound)
}

func testTrustedCreateConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	ikey := NewID(t, mfa.PrefixIntegration)
	d := newTrustedDevice(t, s, u.ID, ikey)
	sameID := mfa.TrustedDevice{ID: d.ID, Token: newTrustedToken(t), UserID: u.ID, IKey: ikey, Created: at(0), Expires: at(time.Hour)}
	wantKind(t, "CreateTrustedDevice(same id)", s.CreateTrustedDevice(ctx, sameID), mfa.Conflict)
	_, err := s.CheckTrustedDevice(ctx, sameID.Token, u.ID, ikey, at(time.Minute))
	wantKind(t, "CheckTrustedDevice(token of the conflicting create)", err, mfa.NotFound)
	if _, err := s.CheckTrustedDevice(ctx, d.Token, u.ID, ikey, at(time.Minute)); err != nil {
		t.Errorf("CheckTrustedDevice(first) after a conflicting create = %v, want nil", err)
	}
}

func testTrustedDeleteUserDevices(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	vpn, web := NewID(t, mfa.PrefixIntegration), NewID(t, mfa.PrefixIntegration)
	gone := []mfa.TrustedDevice{
		newTrustedDevice(t, s, alice.ID, vpn),
		newTrustedDevice(t, s, alice.ID, vpn),
		newTrustedDevice(t, s, alice.ID, web, func(d *mfa.TrustedDevice) { d.Expires = at(time.Minute) }), // expired, still counted
	}
	kept := newTrustedDevice(t, s, bob.ID, vpn)

	tests := []struct {
		name   string
		userID string
		want   int
	}{
		{"alice", alice.ID, len(gone)},
		{"alice again", alice.ID, 0},
		{"unknown user", NewID(t, mfa.PrefixUser), 0},
	}
	for _, tt := range tests {
		if n, err := s.DeleteTrustedDevices(ctx, tt.userID); err != nil || n != tt.want {
			t.Errorf("DeleteTrustedDevices(%s) = %d, %v, want %d, nil", tt.name, n, err, tt.want)
		}
	}
	for _, d := range gone[:2] {
		_, err := s.CheckTrustedDevice(ctx, d.Token, alice.ID, d.IKey, at(time.Second))
		wantKind(t, "CheckTrustedDevice(revoked)", err, mfa.NotFound)
	}
	if _, err := s.CheckTrustedDevice(ctx, kept.Token, bob.ID, vpn, at(time.Second)); err != nil {
		t.Errorf("CheckTrustedDevice(another user's) after DeleteTrustedDevices(alice) = %v, want nil", err)
	}
	// New devices work after a revocation.
	again := newTrustedDevice(t, s, alice.ID, vpn)
	if _, err := s.CheckTrustedDevice(ctx, again.Token, alice.ID, vpn, at(time.Second)); err != nil {
		t.Errorf("CheckTrustedDevice(created after the revocation) = %v, want nil", err)
	}
}

func testTrustedDeleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	ikey := NewID(t, mfa.PrefixIntegration)
	now := at(2 * time.Hour)
	expired := newTrustedDevice(t, s, u.ID, ikey, func(d *mfa.TrustedDevice) { d.Expires = at(time.Hour) })
	expiresNow := newTrustedDevice(t, s, u.ID, ikey, func(d *mfa.TrustedDevice) { d.Expires = now })
	live := newTrustedDevice(t, s, u.ID, ikey, func(d *mfa.TrustedDevice) { d.Expires = now.Add(time.Microsecond) })

	if n, err := s.DeleteExpiredTrustedDevices(ctx, now); err != nil || n != 2 {
		t.Errorf("DeleteExpiredTrustedDevices(now) = %d, %v, want 2, nil", n, err)
	}
	if n, err := s.DeleteExpiredTrustedDevices(ctx, now); err != nil || n != 0 {
		t.Errorf("DeleteExpiredTrustedDevices(now) again = %d, %v, want 0, nil", n, err)
	}
	if _, err := s.CheckTrustedDevice(ctx, live.Token, u.ID, ikey, now); err != nil {
		t.Errorf("CheckTrustedDevice(kept) = %v, want nil", err)
	}
	// Only the live one is left to revoke.
	if n, err := s.DeleteTrustedDevices(ctx, u.ID); err != nil || n != 1 {
		t.Errorf("DeleteTrustedDevices() after the reaper = %d, %v, want 1 (%s reaped: %s, %s), nil",
			n, err, live.ID, expired.ID, expiresNow.ID)
	}
}

func testTrustedCascadeUser(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	ikey := NewID(t, mfa.PrefixIntegration)
	gone := newTrustedDevice(t, s, alice.ID, ikey)
	kept := newTrustedDevice(t, s, bob.ID, ikey)

	check(t, "DeleteUser(alice)", s.DeleteUser(ctx, alice.ID))
	_, err := s.CheckTrustedDevice(ctx, gone.Token, alice.ID, ikey, at(time.Second))
	wantKind(t, "CheckTrustedDevice(of a deleted user)", err, mfa.NotFound)
	if n, err := s.DeleteTrustedDevices(ctx, alice.ID); err != nil || n != 0 {
		t.Errorf("DeleteTrustedDevices(deleted user) = %d, %v, want 0 (deleted with the user), nil", n, err)
	}
	if _, err := s.CheckTrustedDevice(ctx, kept.Token, bob.ID, ikey, at(time.Second)); err != nil {
		t.Errorf("CheckTrustedDevice(another user's) = %v, want nil", err)
	}
	// The same user id, created again, does not inherit the devices.
	NewUser(t, s, func(u *mfa.User) { u.ID = alice.ID })
	_, err = s.CheckTrustedDevice(ctx, gone.Token, alice.ID, ikey, at(time.Second))
	wantKind(t, "CheckTrustedDevice(of a deleted user, id reused)", err, mfa.NotFound)
}
