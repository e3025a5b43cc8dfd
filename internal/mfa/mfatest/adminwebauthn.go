package mfatest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// newAdminKey stores a security key of administrator adminID.
func newAdminKey(t *testing.T, s mfa.Store, adminID string, mods ...func(*mfa.WebAuthnCredential)) mfa.WebAuthnCredential {
	t.Helper()
	c := mfa.WebAuthnCredential{ID: NewID(t, mfa.PrefixWebAuthn), UserID: adminID, Name: "Admin key",
		CredentialID: randomBytes(t, 32), PublicKey: randomBytes(t, 77), AAGUID: randomBytes(t, 16),
		Transports: []string{"usb"}, Attachment: mfa.AttachmentCrossPlatform, Created: at(0)}
	for _, m := range mods {
		m(&c)
	}
	check(t, "CreateAdminWebAuthnCredential", s.CreateAdminWebAuthnCredential(t.Context(), c))
	return c
}

// testAdminWebAuthn: administrators' keys round-trip, list per
// administrator in creation order, refuse bad input, duplicates and
// unknown administrators, are deleted only through their administrator
// (and with them), and their counter moves forward only: a regression
// marks the key cloned, after which it is refused.
func testAdminWebAuthn(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewAdmin(t, s)
	b := NewAdmin(t, s)
	k1 := newAdminKey(t, s, a.ID, func(c *mfa.WebAuthnCredential) { c.SignCount = 5; c.BackupEligible = true })
	k2 := newAdminKey(t, s, a.ID, func(c *mfa.WebAuthnCredential) { c.Created = at(time.Minute); c.Transports = nil })
	kb := newAdminKey(t, s, b.ID)
	got, err := s.AdminWebAuthnCredentials(ctx, a.ID)
	check(t, "AdminWebAuthnCredentials", err)
	if diff := cmp.Diff([]mfa.WebAuthnCredential{k1, k2}, got); diff != "" {
		t.Errorf("AdminWebAuthnCredentials (-want +got):\n%s", diff)
	}
	// Users' keys and administrators' keys are apart.
	if us, err := s.UserWebAuthnCredentials(ctx, a.ID); err != nil || len(us) != 0 {
		t.Errorf("UserWebAuthnCredentials(admin id) = %v, %v; want none", us, err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*mfa.WebAuthnCredential)
		want mfa.Kind
	}{
		{"no credential id", func(c *mfa.WebAuthnCredential) { c.CredentialID = nil }, mfa.Invalid},
		{"no public key", func(c *mfa.WebAuthnCredential) { c.PublicKey = nil }, mfa.Invalid},
		{"unknown admin", func(c *mfa.WebAuthnCredential) { c.UserID = NewID(t, mfa.PrefixAdmin) }, mfa.NotFound},
		{"credential id taken", func(c *mfa.WebAuthnCredential) { c.CredentialID = k1.CredentialID; c.UserID = b.ID }, mfa.Conflict},
	} {
		c := mfa.WebAuthnCredential{ID: NewID(t, mfa.PrefixWebAuthn), UserID: a.ID, Name: "x", CredentialID: randomBytes(t, 16),
			PublicKey: randomBytes(t, 10), Created: at(0)}
		tc.mod(&c)
		if err := s.CreateAdminWebAuthnCredential(ctx, c); mfa.KindOf(err) != tc.want {
			t.Errorf("%s: CreateAdminWebAuthnCredential = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Counter: forward only, through the owner only.
	if err := s.UseAdminWebAuthnCounter(ctx, b.ID, k1.ID, 9, at(time.Hour)); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("UseAdminWebAuthnCounter through another admin = %v, want NotFound", err)
	}
	check(t, "UseAdminWebAuthnCounter(6)", s.UseAdminWebAuthnCounter(ctx, a.ID, k1.ID, 6, at(time.Hour)))
	got, _ = s.AdminWebAuthnCredentials(ctx, a.ID)
	if got[0].SignCount != 6 || !got[0].LastUsed.Equal(at(time.Hour)) || got[0].Cloned {
		t.Errorf("after counter 6: %+v", got[0])
	}
	if err := s.UseAdminWebAuthnCounter(ctx, a.ID, k1.ID, 6, at(2*time.Hour)); mfa.KindOf(err) != mfa.Conflict {
		t.Errorf("UseAdminWebAuthnCounter(6 again) = %v, want Conflict", err)
	}
	got, _ = s.AdminWebAuthnCredentials(ctx, a.ID)
	if got[0].SignCount != 6 || !got[0].Cloned || !got[0].LastUsed.Equal(at(time.Hour)) {
		t.Errorf("after a regression: %+v, want counter 6, cloned, last used unchanged", got[0])
	}
	if err := s.UseAdminWebAuthnCounter(ctx, a.ID, k1.ID, 100, at(3*time.Hour)); mfa.KindOf(err) != mfa.Conflict {
		t.Errorf("UseAdminWebAuthnCounter(cloned key) = %v, want Conflict", err)
	}
	// A key without a counter: 0 stays acceptable while stored 0.
	check(t, "UseAdminWebAuthnCounter(0)", s.UseAdminWebAuthnCounter(ctx, a.ID, k2.ID, 0, at(time.Hour)))
	check(t, "UseAdminWebAuthnCounter(0 again)", s.UseAdminWebAuthnCounter(ctx, a.ID, k2.ID, 0, at(2*time.Hour)))
	// Delete through the owner only; deleting the administrator deletes the rest.
	if err := s.DeleteAdminWebAuthnCredential(ctx, b.ID, k2.ID); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("DeleteAdminWebAuthnCredential through another admin = %v, want NotFound", err)
	}
	check(t, "DeleteAdminWebAuthnCredential", s.DeleteAdminWebAuthnCredential(ctx, a.ID, k2.ID))
	if err := s.DeleteAdminWebAuthnCredential(ctx, a.ID, k2.ID); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("DeleteAdminWebAuthnCredential twice = %v, want NotFound", err)
	}
	check(t, "DeleteAdmin", s.DeleteAdmin(ctx, b.ID))
	if left, err := s.AdminWebAuthnCredentials(ctx, b.ID); err != nil || len(left) != 0 {
		t.Errorf("keys of a deleted admin: %v, %v", left, err)
	}
	// The deleted administrator's credential id is free again.
	newAdminKey(t, s, a.ID, func(c *mfa.WebAuthnCredential) { c.CredentialID = kb.CredentialID })
}

// testAdminWebAuthnCounterConcurrent: of concurrent uses of one counter
// exactly one wins.
func testAdminWebAuthnCounterConcurrent(t *testing.T, s mfa.Store) {
	a := NewAdmin(t, s)
	k := newAdminKey(t, s, a.ID, func(c *mfa.WebAuthnCredential) { c.SignCount = 3 })
	errs := Race(t, 10, func(ctx context.Context, i int) error {
		return s.UseAdminWebAuthnCounter(ctx, a.ID, k.ID, 7, at(time.Minute))
	})
	wantRace(t, "UseAdminWebAuthnCounter", errs, 1, mfa.Conflict)
}
