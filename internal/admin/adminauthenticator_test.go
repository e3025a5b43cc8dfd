package admin_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestResetAdminAuthenticator: an Owner removes another administrator's
// authenticator (logged); nobody resets their own (saying why); a role
// that may not manage administrators, or an unknown id, changes nothing.
func TestResetAdminAuthenticator(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	mk := func(id, email string, role mfa.Role) mfa.Admin {
		t.Helper()
		ad := mfa.Admin{ID: id, Email: email, Role: role, Created: time.Now()}
		if err := st.CreateAdmin(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if err := st.SetAdminTOTP(ctx, id, mfa.Secret("0123456789abcdefghij")); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseAdminTOTPStep(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		return ad
	}
	owner := mk("DE"+"AUTHRESETOWNER0001", "owner@example.com", mfa.RoleOwner)
	other := mk("DE"+"AUTHRESETADMIN0001", "admin@example.com", mfa.RoleAdministrator)
	help := mk("DE"+"AUTHRESETHELP00001", "help@example.com", mfa.RoleHelpDesk)
	for _, tt := range []struct {
		name string
		a    admin.Actor
		id   string
		kind mfa.Kind
	}{
		{"own", admin.AdminActor(owner), owner.ID, mfa.Invalid},
		{"help desk", admin.AdminActor(help), other.ID, mfa.Denied},
		{"administrator", admin.AdminActor(other), help.ID, mfa.Denied},
		{"unknown", admin.AdminActor(owner), "DE" + "NOSUCHADMIN0000001", mfa.NotFound},
	} {
		if err := svc.ResetAdminAuthenticator(ctx, tt.a, tt.id); mfa.KindOf(err) != tt.kind {
			t.Errorf("%s: ResetAdminAuthenticator = %v, want %s", tt.name, err, tt.kind)
		}
	}
	for _, ad := range []mfa.Admin{owner, other, help} {
		if _, err := st.GetAdminTOTP(ctx, ad.ID); err != nil {
			t.Errorf("a refused reset removed %s's authenticator: %v", ad.Email, err)
		}
	}
	if log, _ := st.ListAdminLog(ctx, mfa.LogFilter{}); len(log) != 0 {
		t.Errorf("refused resets logged %+v", log)
	}
	// other also has two security keys, owner one: the reset takes
	// other's keys with the app and leaves owner's.
	for i, ad := range []mfa.Admin{other, other, owner} {
		if err := st.CreateAdminWebAuthnCredential(ctx, mfa.WebAuthnCredential{ID: fmt.Sprintf("WA"+"AUTHRESETKEY%06d", i), UserID: ad.ID,
			Name: "key", CredentialID: []byte{byte(i), 1, 2}, PublicKey: []byte{1}, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.ResetAdminAuthenticator(ctx, admin.AdminActor(owner), other.ID); err != nil {
		t.Fatalf("ResetAdminAuthenticator = %v", err)
	}
	if _, err := st.GetAdminTOTP(ctx, other.ID); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("after the reset GetAdminTOTP = %v, want NotFound", err)
	}
	if keys, err := st.AdminWebAuthnCredentials(ctx, other.ID); err != nil || len(keys) != 0 {
		t.Errorf("after the reset the administrator's keys = %d, %v; want none", len(keys), err)
	}
	if keys, err := st.AdminWebAuthnCredentials(ctx, owner.ID); err != nil || len(keys) != 1 {
		t.Errorf("after the reset the Owner's own keys = %d, %v; want 1", len(keys), err)
	}
	log, err := st.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil || len(log) != 1 || log[0].Action != "admin_authenticator_reset" || log[0].Object != other.ID || log[0].Actor != owner.Email {
		t.Errorf("admin log = %+v, %v; want one admin_authenticator_reset", log, err)
	}
	// Resetting again (no authenticator) is no error.
	if err := svc.ResetAdminAuthenticator(ctx, admin.AdminActor(owner), other.ID); err != nil {
		t.Errorf("second reset = %v", err)
	}
}
