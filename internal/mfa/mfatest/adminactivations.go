package mfatest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func adminActivationTests() []storeTest {
	return []storeTest{
		{"CreateListGet", testAdminActivationCreateListGet},
		{"Redeem", testAdminActivationRedeem},
		{"RedeemConcurrent", testAdminActivationRedeemConcurrent},
		{"RedeemEmailTaken", testAdminActivationEmailTaken},
		{"Delete", testAdminActivationDelete},
	}
}

// newAdminActivation stores an activation for email with code, expiring
// at expires.
func newAdminActivation(t *testing.T, s mfa.Store, email string, code mfa.Passcode, created, expires time.Time) mfa.AdminActivation {
	t.Helper()
	a := mfa.AdminActivation{ID: NewID(t, mfa.PrefixAdminActivation), Code: code, Email: email, Role: mfa.RoleHelpDesk,
		CreatedBy: "owner@example.com", Created: created, Expires: expires}
	check(t, "CreateAdminActivation()", s.CreateAdminActivation(t.Context(), a))
	a.Code = ""
	return a
}

func testAdminActivationCreateListGet(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a1 := newAdminActivation(t, s, "new1@example.com", "CODE1AAAAAAAAAAAAAAA", at(0), at(time.Hour))
	a2 := newAdminActivation(t, s, "new2@example.com", "CODE2AAAAAAAAAAAAAAA", at(time.Second), at(2*time.Hour))
	wantKind(t, "CreateAdminActivation(no code)", s.CreateAdminActivation(ctx, mfa.AdminActivation{ID: NewID(t, mfa.PrefixAdminActivation),
		Email: "x@example.com", Role: mfa.RoleReadOnly, Expires: at(time.Hour)}), mfa.Invalid)
	wantKind(t, "CreateAdminActivation(no expiry)", s.CreateAdminActivation(ctx, mfa.AdminActivation{ID: NewID(t, mfa.PrefixAdminActivation),
		Code: "CODE3AAAAAAAAAAAAAAA", Email: "x@example.com", Role: mfa.RoleReadOnly}), mfa.Invalid)
	wantKind(t, "CreateAdminActivation(same code)", s.CreateAdminActivation(ctx, mfa.AdminActivation{ID: NewID(t, mfa.PrefixAdminActivation),
		Code: "CODE1AAAAAAAAAAAAAAA", Email: "x@example.com", Role: mfa.RoleReadOnly, Expires: at(time.Hour)}), mfa.Conflict)

	got, total, err := s.ListAdminActivations(ctx, at(time.Minute), mfa.Page{})
	check(t, "ListAdminActivations()", err)
	if diff := cmp.Diff([]mfa.AdminActivation{a1, a2}, got, cmpOpts); diff != "" || total != 2 {
		t.Errorf("ListAdminActivations() total %d, mismatch (-want +got):\n%s", total, diff)
	}
	// a1 expired: listed no more, its code finds nothing.
	got, total, err = s.ListAdminActivations(ctx, at(90*time.Minute), mfa.Page{})
	check(t, "ListAdminActivations(later)", err)
	if len(got) != 1 || total != 1 || got[0].ID != a2.ID {
		t.Errorf("ListAdminActivations(later) = %+v (%d), want only %s", got, total, a2.ID)
	}
	byCode, err := s.AdminActivationByCode(ctx, "CODE2AAAAAAAAAAAAAAA", at(time.Minute))
	check(t, "AdminActivationByCode()", err)
	if diff := cmp.Diff(a2, byCode, cmpOpts); diff != "" {
		t.Errorf("AdminActivationByCode() mismatch (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		code mfa.Passcode
		now  time.Time
	}{{"CODE1AAAAAAAAAAAAAAA", at(time.Hour)}, {"NOSUCHCODEAAAAAAAAAA", at(0)}, {"", at(0)}} {
		_, err := s.AdminActivationByCode(ctx, c.code, c.now)
		wantKind(t, fmt.Sprintf("AdminActivationByCode(%q at %v)", c.code, c.now), err, mfa.NotFound)
	}
}

func testAdminActivationRedeem(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := newAdminActivation(t, s, "Helper@Example.com", "CODE4AAAAAAAAAAAAAAA", at(0), at(time.Hour))
	ad := mfa.Admin{ID: NewID(t, mfa.PrefixAdmin), Name: "Helen Helper", PasswordHash: "$argon2id$x", Created: at(time.Minute),
		Email: "ignored@example.com", Role: mfa.RoleOwner}
	// Expired: nothing happens.
	_, err := s.RedeemAdminActivation(ctx, "CODE4AAAAAAAAAAAAAAA", at(time.Hour), ad)
	wantKind(t, "RedeemAdminActivation(expired)", err, mfa.NotFound)
	got, err := s.RedeemAdminActivation(ctx, "CODE4AAAAAAAAAAAAAAA", at(time.Minute), ad)
	check(t, "RedeemAdminActivation()", err)
	want := ad
	want.Email, want.Role = a.Email, a.Role // the activation's, not the caller's
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("RedeemAdminActivation() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, getAdmin(t, s, ad.ID), cmpOpts); diff != "" {
		t.Errorf("GetAdmin() after redeeming mismatch (-want +got):\n%s", diff)
	}
	ad.ID = NewID(t, mfa.PrefixAdmin)
	_, err = s.RedeemAdminActivation(ctx, "CODE4AAAAAAAAAAAAAAA", at(time.Minute), ad)
	wantKind(t, "RedeemAdminActivation(again)", err, mfa.NotFound)
	if list, _, _ := s.ListAdminActivations(ctx, at(0), mfa.Page{}); len(list) != 0 {
		t.Errorf("activations after redeeming = %+v, want none", list)
	}
}

// testAdminActivationRedeemConcurrent: of 8 concurrent redeemers of one
// link, exactly one becomes an administrator.
func testAdminActivationRedeemConcurrent(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	newAdminActivation(t, s, "race@example.com", "CODE5AAAAAAAAAAAAAAA", at(0), at(time.Hour))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			ad := mfa.Admin{ID: NewID(t, mfa.PrefixAdmin), Name: fmt.Sprintf("racer %d", i), PasswordHash: "$argon2id$x", Created: at(time.Minute)}
			_, errs[i] = s.RedeemAdminActivation(ctx, "CODE5AAAAAAAAAAAAAAA", at(time.Minute), ad)
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, mfa.ErrNotFound), errors.Is(err, mfa.ErrConflict):
		default:
			t.Errorf("redeemer %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d redeemers won, want exactly 1", won)
	}
	if n, err := s.CountAdmins(ctx); err != nil || n != 1 {
		t.Errorf("CountAdmins() = %d, %v; want 1", n, err)
	}
}

// testAdminActivationEmailTaken: an email that became an administrator's
// meanwhile is Conflict, and the link is not spent.
func testAdminActivationEmailTaken(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	newAdminActivation(t, s, "taken@example.com", "CODE6AAAAAAAAAAAAAAA", at(0), at(time.Hour))
	NewAdmin(t, s, func(a *mfa.Admin) { a.Email = "TAKEN@example.com" })
	_, err := s.RedeemAdminActivation(ctx, "CODE6AAAAAAAAAAAAAAA", at(time.Minute),
		mfa.Admin{ID: NewID(t, mfa.PrefixAdmin), Name: "Dup", PasswordHash: "$argon2id$x", Created: at(time.Minute)})
	wantKind(t, "RedeemAdminActivation(email taken)", err, mfa.Conflict)
	if _, err := s.AdminActivationByCode(ctx, "CODE6AAAAAAAAAAAAAAA", at(time.Minute)); err != nil {
		t.Errorf("AdminActivationByCode() after the refused redemption = %v, want the link kept", err)
	}
	if n, _ := s.CountAdmins(ctx); n != 1 {
		t.Errorf("CountAdmins() = %d, want 1", n)
	}
}

func testAdminActivationDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := newAdminActivation(t, s, "gone@example.com", "CODE7AAAAAAAAAAAAAAA", at(0), at(time.Hour))
	check(t, "DeleteAdminActivation()", s.DeleteAdminActivation(ctx, a.ID))
	wantKind(t, "DeleteAdminActivation(again)", s.DeleteAdminActivation(ctx, a.ID), mfa.NotFound)
	_, err := s.RedeemAdminActivation(ctx, "CODE7AAAAAAAAAAAAAAA", at(time.Minute),
		mfa.Admin{ID: NewID(t, mfa.PrefixAdmin), Name: "Late", PasswordHash: "$argon2id$x", Created: at(time.Minute)})
	wantKind(t, "RedeemAdminActivation(deleted)", err, mfa.NotFound)
}
