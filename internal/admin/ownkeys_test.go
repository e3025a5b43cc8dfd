package admin_test

import (
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestOwnKeys: an administrator adds, lists and removes their own
// security keys (each admin-logged); a bad name, a duplicate credential,
// an integration and another administrator's key are refused with
// nothing changed.
func TestOwnKeys(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	mk := func(id, email string) admin.Actor {
		ad := mfa.Admin{ID: id, Email: email, Role: mfa.RoleReadOnly, Created: time.Now()}
		if err := st.CreateAdmin(ctx, ad); err != nil {
			t.Fatal(err)
		}
		return admin.AdminActor(ad)
	}
	me, other := mk("DE"+"OWNKEYSADMIN000001", "me@example.com"), mk("DE"+"OWNKEYSADMIN000002", "other@example.com")
	cred := mfa.WebAuthnCredential{Name: "Blue key", CredentialID: []byte("credential-1"), PublicKey: []byte{1, 2, 3}, SignCount: 4}
	k, err := svc.AddOwnKey(ctx, me, cred)
	if err != nil || k.ID == "" || k.UserID != me.ID || k.Created.IsZero() {
		t.Fatalf("AddOwnKey = %+v, %v", k, err)
	}
	for _, tt := range []struct {
		name string
		a    admin.Actor
		c    mfa.WebAuthnCredential
		kind mfa.Kind
	}{
		{"no name", me, mfa.WebAuthnCredential{CredentialID: []byte("c2"), PublicKey: []byte{1}}, mfa.Invalid},
		{"duplicate", other, mfa.WebAuthnCredential{Name: "Copy", CredentialID: []byte("credential-1"), PublicKey: []byte{1}}, mfa.Invalid},
		{"an integration", admin.IntegrationActor(mfa.Integration{IKey: "DI1", Name: "x"}), cred, mfa.Denied},
	} {
		if _, err := svc.AddOwnKey(ctx, tt.a, tt.c); mfa.KindOf(err) != tt.kind {
			t.Errorf("%s: AddOwnKey = %v, want %s", tt.name, err, tt.kind)
		}
	}
	if err := svc.RemoveOwnKey(ctx, other, k.ID); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("RemoveOwnKey by another administrator = %v, want NotFound", err)
	}
	if ks, _ := svc.OwnKeys(ctx, me); len(ks) != 1 || ks[0].Name != "Blue key" || ks[0].SignCount != 4 {
		t.Fatalf("OwnKeys = %+v", ks)
	}
	if ks, _ := svc.OwnKeys(ctx, other); len(ks) != 0 {
		t.Errorf("the other administrator's keys = %+v", ks)
	}
	if err := svc.RemoveOwnKey(ctx, me, k.ID); err != nil {
		t.Fatalf("RemoveOwnKey = %v", err)
	}
	log, err := st.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil || len(log) != 2 {
		t.Fatalf("admin log = %+v, %v; want two records", log, err)
	}
	actions := map[string]bool{log[0].Action: true, log[1].Action: true}
	if !actions["admin_webauthn_add"] || !actions["admin_webauthn_remove"] {
		t.Errorf("admin log actions = %v", actions)
	}
}
