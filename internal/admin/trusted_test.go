package admin_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// trust stores a remembered device of u for in, valid for a day.
func (e *actEnv) trust(u mfa.User, in mfa.Integration, token string) {
	e.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixTrustedDevice, rand.Reader)
	now := e.clock.Now()
	err := e.store.CreateTrustedDevice(e.t.Context(), mfa.TrustedDevice{ID: id, Token: mfa.Passcode(token),
		UserID: u.ID, IKey: in.IKey, Created: now, Expires: now.Add(24 * time.Hour)})
	if err != nil {
		e.t.Fatalf("CreateTrustedDevice = %v", err)
	}
}

func (e *actEnv) trusted(u mfa.User, in mfa.Integration, token string) bool {
	e.t.Helper()
	_, err := e.store.CheckTrustedDevice(e.t.Context(), mfa.Passcode(token), u.ID, in.IKey, e.clock.Now())
	return err == nil
}

func TestForgetTrustedDevices(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	vpn, ssh := e.authKey("vpn"), e.authKey("ssh")
	alice, bob := e.user("alice", ""), e.user("bob", "")
	e.trust(alice, vpn, "alice-vpn-token")
	e.trust(alice, ssh, "alice-ssh-token")
	e.trust(bob, vpn, "bob-vpn-token")

	n, err := e.svc.ForgetTrustedDevices(ctx, e.owner, alice.ID)
	if err != nil || n != 2 {
		t.Fatalf("ForgetTrustedDevices(alice) = %d, %v; want 2", n, err)
	}
	if e.trusted(alice, vpn, "alice-vpn-token") || e.trusted(alice, ssh, "alice-ssh-token") {
		t.Error("alice's remembered devices still pass")
	}
	if !e.trusted(bob, vpn, "bob-vpn-token") {
		t.Error("bob's remembered device was forgotten too")
	}
	if n, err := e.svc.ForgetTrustedDevices(ctx, e.owner, alice.ID); err != nil || n != 0 {
		t.Errorf("ForgetTrustedDevices(alice) again = %d, %v; want 0", n, err)
	}
	_, err = e.svc.ForgetTrustedDevices(ctx, e.owner, "DUNOBODY000000000000")
	wantKind(t, "ForgetTrustedDevices(unknown user)", err, mfa.NotFound, "")

	log := e.adminLog()
	want := `owner@example.com user_forget_trusted_devices user ` + alice.ID + ` {"deleted":2,"username":"alice"}`
	if !strings.Contains(log, want) {
		t.Errorf("admin log:\n%s\nlacks %q", log, want)
	}
	e.secretsAbsent("alice-vpn-token", "alice-ssh-token")
}

// TestForgetTrustedDevicesRoles: resetting a user's devices is
// WriteDevices: Help Desk may, Read-only may not; so may an Admin API
// integration with write_resource.
func TestForgetTrustedDevicesRoles(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	vpn := e.authKey("vpn")
	alice := e.user("alice", "")
	tests := []struct {
		actor admin.Actor
		allow bool
	}{
		{adminActor(mfa.RoleOwner), true},
		{adminActor(mfa.RoleAdministrator), true},
		{adminActor(mfa.RoleUserManager), true},
		{adminActor(mfa.RoleHelpDesk), true},
		{adminActor(mfa.RoleReadOnly), false},
		{admin.IntegrationActor(mfa.Integration{IKey: "DIWRITE", Permissions: permWith("write_resource")}), true},
		{admin.IntegrationActor(mfa.Integration{IKey: "DIREAD", Permissions: permWith("read_resource")}), false},
	}
	for _, tt := range tests {
		e.trust(alice, vpn, "token-"+tt.actor.Name+tt.actor.ID)
		n, err := e.svc.ForgetTrustedDevices(ctx, tt.actor, alice.ID)
		switch {
		case tt.allow && (err != nil || n != 1):
			t.Errorf("ForgetTrustedDevices as %s %s = %d, %v; want 1", tt.actor.Role, tt.actor.ID, n, err)
		case !tt.allow:
			wantKind(t, "ForgetTrustedDevices as "+string(tt.actor.Role)+" "+tt.actor.ID, err, mfa.Denied, "")
			if !e.trusted(alice, vpn, "token-"+tt.actor.Name+tt.actor.ID) {
				t.Errorf("a refused ForgetTrustedDevices as %s forgot the device", tt.actor.Role)
			}
			e.svc.ForgetTrustedDevices(ctx, e.owner, alice.ID)
		}
	}
}
