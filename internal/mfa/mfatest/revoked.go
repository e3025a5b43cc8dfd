package mfatest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func revokedAuthenticatorTests() []storeTest {
	return []storeTest{
		{"List", testRevokedAuthenticators},
	}
}

// testRevokedAuthenticators: the user's revoked installs, newest first,
// are those on the user's phones (whoever activated them, as
// UserAuthenticators finds active ones) and those the user activated on a
// phone no longer theirs.
func testRevokedAuthenticators(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	own := NewPhone(t, s)  // alice's
	old := NewPhone(t, s)  // alice activated an install on it, then the phone was detached
	bobs := NewPhone(t, s) // bob's
	check(t, "AttachPhone(alice, own)", s.AttachPhone(ctx, alice.ID, own.ID))
	check(t, "AttachPhone(alice, old)", s.AttachPhone(ctx, alice.ID, old.ID))
	check(t, "AttachPhone(bob)", s.AttachPhone(ctx, bob.ID, bobs.ID))

	created := func(h int) func(*mfa.Authenticator) {
		return func(a *mfa.Authenticator) { a.Created = at(time.Duration(h) * time.Hour) }
	}
	first := NewAuthenticator(t, s, own.ID, created(1))                                                      // revoked by second; no UserID
	second := NewAuthenticator(t, s, own.ID, created(2), func(a *mfa.Authenticator) { a.UserID = alice.ID }) // revoked by third
	NewAuthenticator(t, s, own.ID, created(3))                                                               // active: never listed
	onOld := NewAuthenticator(t, s, old.ID, created(4), func(a *mfa.Authenticator) { a.UserID = alice.ID })
	check(t, "RevokeAuthenticator(onOld)", s.RevokeAuthenticator(ctx, onOld.ID))
	check(t, "DetachPhone(alice, old)", s.DetachPhone(ctx, alice.ID, old.ID))
	bobFirst := NewAuthenticator(t, s, bobs.ID, created(5), func(a *mfa.Authenticator) { a.UserID = bob.ID })
	NewAuthenticator(t, s, bobs.ID, created(6), func(a *mfa.Authenticator) { a.UserID = bob.ID })

	revoked := func(as ...mfa.Authenticator) []mfa.Authenticator {
		for i := range as {
			as[i].Status = mfa.AuthenticatorRevoked
		}
		return as
	}
	tests := []struct {
		user  string
		limit int
		want  []mfa.Authenticator
	}{
		{alice.ID, 10, revoked(onOld, second, first)},
		{alice.ID, 3, revoked(onOld, second, first)},
		{alice.ID, 2, revoked(onOld, second)},
		{alice.ID, 1, revoked(onOld)},
		{bob.ID, 10, revoked(bobFirst)},
		{NewUser(t, s).ID, 10, nil},
		{NewID(t, mfa.PrefixUser), 10, nil},
	}
	for _, tt := range tests {
		call := fmt.Sprintf("RevokedAuthenticators(%s, %d)", tt.user, tt.limit)
		got, err := s.RevokedAuthenticators(ctx, tt.user, tt.limit)
		check(t, call, err)
		if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
	}
}
