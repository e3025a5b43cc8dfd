package admin_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestChangeOwnPassword(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	cheap := admin.PasswordHasher{Time: 1, Memory: 8 * 1024, Threads: 1}
	h, err := cheap.Hash("the generated one", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ad := mfa.Admin{ID: "DE" + "CHANGEOWNPASSWORD1", Email: "o@example.com", Role: mfa.RoleHelpDesk, PasswordHash: h,
		PasswordChangeRequired: true, Created: time.Now()}
	if err := st.CreateAdmin(ctx, ad); err != nil {
		t.Fatal(err)
	}
	me := admin.AdminActor(ad)
	for _, tt := range []struct {
		name string
		a    admin.Actor
		pw   string
		kind mfa.Kind
	}{
		{"too short", me, "short", mfa.Invalid},
		{"same as current", me, "the generated one", mfa.Invalid},
		{"an integration", admin.IntegrationActor(mfa.Integration{IKey: "DI1", Name: "x"}), "a long enough password", mfa.Denied},
	} {
		err := svc.ChangeOwnPassword(ctx, tt.a, mfa.Passcode(tt.pw))
		if mfa.KindOf(err) != tt.kind {
			t.Errorf("%s: ChangeOwnPassword = %v, want %s", tt.name, err, tt.kind)
		}
	}
	if got, _ := st.GetAdmin(ctx, ad.ID); got.PasswordHash != h || !got.PasswordChangeRequired {
		t.Fatal("a refused change changed the administrator")
	}
	if err := svc.ChangeOwnPassword(ctx, me, "a brand new passphrase"); err != nil {
		t.Fatalf("ChangeOwnPassword = %v", err)
	}
	got, _ := st.GetAdmin(ctx, ad.ID)
	if ok, _ := admin.VerifyPassword("a brand new passphrase", got.PasswordHash); !ok || got.PasswordChangeRequired {
		t.Errorf("after the change: verifies %v, change required %v", ok, got.PasswordChangeRequired)
	}
	log, err := st.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil || len(log) != 1 || log[0].Action != "admin_password_change" || log[0].Object != ad.ID {
		t.Errorf("admin log = %+v, %v; want one admin_password_change", log, err)
	}
}

func TestResetAdminClearsFailures(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	owner := mfa.Admin{ID: "DE" + "RESETOWNER00000001", Email: "owner@example.com", Role: mfa.RoleOwner, Created: time.Now()}
	help := mfa.Admin{ID: "DE" + "RESETHELP000000001", Email: "help@example.com", Role: mfa.RoleHelpDesk, Created: time.Now()}
	for _, a := range []mfa.Admin{owner, help} {
		if err := st.CreateAdmin(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := st.CountAdminFailure(ctx, help.ID, 3, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.ResetAdmin(ctx, admin.AdminActor(help), owner.ID); mfa.KindOf(err) != mfa.Denied {
		t.Errorf("ResetAdmin by Help Desk = %v, want Denied", err)
	}
	if err := svc.ResetAdmin(ctx, admin.AdminActor(owner), help.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetAdmin(ctx, help.ID); got.FailedLogins != 0 || !got.LockedAt.IsZero() {
		t.Errorf("after ResetAdmin: failures %d, locked %v", got.FailedLogins, got.LockedAt)
	}
}
