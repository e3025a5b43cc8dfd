package admin_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func ref[T any](v T) *T { return &v }

func newService(t *testing.T) (*admin.Service, mfa.Store) {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	svc := admin.New(st, time.Now, rand.Reader, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc.SetPasswordHasher(admin.PasswordHasher{Time: 1, Memory: 8 * 1024, Threads: 1})
	return svc, st
}

var roles = []mfa.Role{mfa.RoleOwner, mfa.RoleAdministrator, mfa.RoleUserManager, mfa.RoleHelpDesk, mfa.RoleReadOnly}

// roleLetter abbreviates a role in the expectation tables.
var roleLetter = map[mfa.Role]string{mfa.RoleOwner: "O", mfa.RoleAdministrator: "A", mfa.RoleUserManager: "U",
	mfa.RoleHelpDesk: "H", mfa.RoleReadOnly: "R"}

func adminActor(r mfa.Role) admin.Actor {
	return admin.Actor{Kind: admin.ActorAdmin, ID: "DE" + strings.Repeat("X", 18), Name: string(r) + "@example.com", Role: r}
}

// actionRoles is Duo's role matrix as twostep implements it: which roles
// (O A U H R) may do each action.
var actionRoles = map[admin.Action]string{
	admin.ReadResources:      "OAUHR",
	admin.CreateUsers:        "OAU",
	admin.UpdateUsers:        "OAUH",
	admin.DeleteUsers:        "OAU",
	admin.WriteDevices:       "OAUH",
	admin.DeleteDevices:      "OAU",
	admin.ImportTokens:       "OAUH",
	admin.SendActivations:    "OAUH",
	admin.CreateBypassCodes:  "OAUH",
	admin.DeleteBypassCodes:  "OAUH",
	admin.ReadLogs:           "OAHR",
	admin.ReadSettings:       "OAR",
	admin.WriteSettings:      "OA",
	admin.ReadAdmins:         "OAR",
	admin.ManageAdmins:       "O",
	admin.ReadIntegrations:   "OAR",
	admin.ManageIntegrations: "OA",
	admin.ManageAdminAPI:     "O",
	admin.ManageGroups:       "OAU",
	admin.ReadInfo:           "OAR",
}

// permGrants is which actions each single adminapi_* flag grants.
var permGrants = map[string][]admin.Action{
	"admins":         {admin.ReadAdmins, admin.ManageAdmins},
	"info":           {admin.ReadInfo},
	"integrations":   {admin.ReadIntegrations, admin.ManageIntegrations, admin.ManageAdminAPI},
	"read_log":       {admin.ReadLogs},
	"read_resource":  {admin.ReadResources},
	"settings":       {admin.ReadSettings, admin.WriteSettings},
	"write_resource": {admin.CreateUsers, admin.UpdateUsers, admin.DeleteUsers, admin.WriteDevices, admin.DeleteDevices, admin.ImportTokens, admin.SendActivations, admin.CreateBypassCodes, admin.DeleteBypassCodes, admin.ManageGroups},
}

func permWith(flag string) mfa.AdminPermissions {
	var p mfa.AdminPermissions
	switch flag {
	case "admins":
		p.Admins = true
	case "info":
		p.Info = true
	case "integrations":
		p.Integrations = true
	case "read_log":
		p.ReadLog = true
	case "read_resource":
		p.ReadResource = true
	case "settings":
		p.Settings = true
	case "write_resource":
		p.WriteResource = true
	}
	return p
}

func TestAllowedMatrix(t *testing.T) {
	if len(actionRoles) != len(admin.AllActions()) {
		t.Fatalf("the table covers %d actions, AllActions has %d", len(actionRoles), len(admin.AllActions()))
	}
	on := mfa.DefaultSettings()
	off := mfa.DefaultSettings()
	off.HelpDeskCanSendBypass = false
	for _, act := range admin.AllActions() {
		want, ok := actionRoles[act]
		if !ok {
			t.Errorf("action %q missing from the table", act)
		}
		for _, r := range roles {
			w := strings.Contains(want, roleLetter[r])
			if got := admin.Allowed(adminActor(r), act, on); got != w {
				t.Errorf("Allowed(%s, %q) = %v, want %v", r, act, got, w)
			}
			wOff := w && !(r == mfa.RoleHelpDesk && act == admin.CreateBypassCodes)
			if got := admin.Allowed(adminActor(r), act, off); got != wOff {
				t.Errorf("Allowed(%s, %q, helpdesk bypass off) = %v, want %v", r, act, got, wOff)
			}
		}
		if !admin.Allowed(admin.SystemActor(), act, on) {
			t.Errorf("Allowed(system, %q) = false, want true", act)
		}
		if admin.Allowed(admin.Actor{Kind: admin.ActorAdmin, Role: "Billing"}, act, on) {
			t.Errorf("Allowed(unknown role, %q) = true, want false", act)
		}
		for flag, grants := range permGrants {
			in := admin.IntegrationActor(mfa.Integration{IKey: "DIX", Permissions: permWith(flag)})
			w := false
			for _, g := range grants {
				w = w || g == act
			}
			if got := admin.Allowed(in, act, off); got != w {
				t.Errorf("Allowed(integration with %s, %q) = %v, want %v", flag, act, got, w)
			}
		}
		none := admin.IntegrationActor(mfa.Integration{IKey: "DIX"})
		if admin.Allowed(none, act, on) {
			t.Errorf("Allowed(integration without permissions, %q) = true, want false", act)
		}
	}
}

// TestEndpointRoles calls every service method behind the Admin API
// endpoints of users, phones, administrators, integrations, settings and
// logs as an administrator of each role, and checks allowed vs Denied.
func TestEndpointRoles(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	sys := admin.SystemActor()
	u, err := svc.CreateUser(ctx, sys, admin.UserFields{Username: ref("alice")})
	if err != nil {
		t.Fatal(err)
	}
	ph, err := svc.CreatePhone(ctx, sys, admin.PhoneFields{Number: ref("+15555550100")})
	if err != nil {
		t.Fatal(err)
	}
	ad, _, err := svc.CreateAdmin(ctx, sys, admin.AdminFields{Email: ref("ro@example.com"), Role: ref("Read-only")})
	if err != nil {
		t.Fatal(err)
	}
	authIn, err := svc.CreateIntegration(ctx, sys, admin.IntegrationFields{Name: ref("vpn"), Type: ref("authapi")})
	if err != nil {
		t.Fatal(err)
	}
	adminIn, err := svc.CreateIntegration(ctx, sys, admin.IntegrationFields{Name: ref("siem"), Type: ref("adminapi")})
	if err != nil {
		t.Fatal(err)
	}
	const missing = "DXNOSUCHOBJECT000000"
	n := 0
	uniq := func() string {
		n++
		return "x" + time.Now().Format("150405") + strings.Repeat("y", n%5) + string(rune('a'+n%26)) + string(rune('a'+n/26))
	}
	tests := []struct {
		give string
		want string // roles allowed
		call func(a admin.Actor) error
	}{
		{"GET /users", "OAUHR", func(a admin.Actor) error { _, _, err := svc.ListUsers(ctx, a, mfa.UserFilter{}); return err }},
		{"GET /users/{id}", "OAUHR", func(a admin.Actor) error { _, err := svc.GetUser(ctx, a, u.ID); return err }},
		{"POST /users", "OAU", func(a admin.Actor) error {
			_, err := svc.CreateUser(ctx, a, admin.UserFields{Username: ref(uniq())})
			return err
		}},
		{"POST /users/{id}", "OAUH", func(a admin.Actor) error {
			_, err := svc.UpdateUser(ctx, a, u.ID, admin.UserFields{Notes: ref("n")})
			return err
		}},
		{"DELETE /users/{id}", "OAU", func(a admin.Actor) error { return svc.DeleteUser(ctx, a, missing) }},
		{"GET /users/{id}/phones", "OAUHR", func(a admin.Actor) error { _, err := svc.UserPhones(ctx, a, u.ID); return err }},
		{"POST /users/{id}/phones", "OAUH", func(a admin.Actor) error { return svc.AttachPhone(ctx, a, u.ID, ph.ID) }},
		{"DELETE /users/{id}/phones/{id}", "OAUH", func(a admin.Actor) error { return svc.DetachPhone(ctx, a, u.ID, missing) }},
		{"GET /phones", "OAUHR", func(a admin.Actor) error { _, _, err := svc.ListPhones(ctx, a, mfa.PhoneFilter{}); return err }},
		{"GET /phones/{id}", "OAUHR", func(a admin.Actor) error { _, err := svc.GetPhone(ctx, a, ph.ID); return err }},
		{"POST /phones", "OAUH", func(a admin.Actor) error { _, err := svc.CreatePhone(ctx, a, admin.PhoneFields{}); return err }},
		{"POST /phones/{id}", "OAUH", func(a admin.Actor) error {
			_, err := svc.UpdatePhone(ctx, a, ph.ID, admin.PhoneFields{Name: ref("desk")})
			return err
		}},
		{"DELETE /phones/{id}", "OAU", func(a admin.Actor) error { return svc.DeletePhone(ctx, a, missing) }},
		{"GET /admins", "OAR", func(a admin.Actor) error { _, _, err := svc.ListAdmins(ctx, a, mfa.Page{}); return err }},
		{"GET /admins/{id}", "OAR", func(a admin.Actor) error { _, err := svc.GetAdmin(ctx, a, ad.ID); return err }},
		{"POST /admins", "O", func(a admin.Actor) error {
			_, _, err := svc.CreateAdmin(ctx, a, admin.AdminFields{Email: ref(uniq() + "@example.com"), Role: ref("Help Desk")})
			return err
		}},
		{"POST /admins/{id}", "O", func(a admin.Actor) error {
			_, err := svc.UpdateAdmin(ctx, a, ad.ID, admin.AdminFields{Name: ref("Ro")})
			return err
		}},
		{"DELETE /admins/{id}", "O", func(a admin.Actor) error { return svc.DeleteAdmin(ctx, a, missing) }},
		{"GET /integrations", "OAR", func(a admin.Actor) error { _, _, err := svc.ListIntegrations(ctx, a, mfa.Page{}); return err }},
		{"GET /integrations/{ikey}", "OAR", func(a admin.Actor) error { _, err := svc.GetIntegration(ctx, a, authIn.IKey); return err }},
		{"GET /integrations/{authapi}/skey", "OA", func(a admin.Actor) error { _, err := svc.IntegrationSecret(ctx, a, authIn.IKey); return err }},
		{"GET /integrations/{adminapi}/skey", "O", func(a admin.Actor) error { _, err := svc.IntegrationSecret(ctx, a, adminIn.IKey); return err }},
		{"POST /integrations authapi", "OA", func(a admin.Actor) error {
			_, err := svc.CreateIntegration(ctx, a, admin.IntegrationFields{Name: ref("n"), Type: ref("authapi")})
			return err
		}},
		{"POST /integrations adminapi", "O", func(a admin.Actor) error {
			_, err := svc.CreateIntegration(ctx, a, admin.IntegrationFields{Name: ref("n"), Type: ref("adminapi")})
			return err
		}},
		{"POST /integrations/{authapi}", "OA", func(a admin.Actor) error {
			_, err := svc.UpdateIntegration(ctx, a, authIn.IKey, admin.IntegrationFields{Notes: ref("n")})
			return err
		}},
		{"POST /integrations/{adminapi}", "O", func(a admin.Actor) error {
			_, err := svc.UpdateIntegration(ctx, a, adminIn.IKey, admin.IntegrationFields{Notes: ref("n")})
			return err
		}},
		{"DELETE /integrations/{ikey}", "OAR", func(a admin.Actor) error {
			// Unknown: only the read check applies before NotFound.
			return svc.DeleteIntegration(ctx, a, missing)
		}},
		{"GET /settings", "OAR", func(a admin.Actor) error { _, err := svc.GetSettings(ctx, a); return err }},
		{"POST /settings", "OA", func(a admin.Actor) error {
			_, err := svc.UpdateSettings(ctx, a, admin.SettingsFields{SMSBatch: ref(5)})
			return err
		}},
		{"GET /v2/logs/authentication", "OAHR", func(a admin.Actor) error {
			_, _, err := svc.AuthLog(ctx, a, mfa.AuthLogFilter{MinTime: time.Unix(0, 0), Limit: 10})
			return err
		}},
		{"GET /v1/logs/administrator", "OAHR", func(a admin.Actor) error { _, err := svc.AdminLog(ctx, a, mfa.LogFilter{}); return err }},
		{"GET /v1/logs/telephony", "OAHR", func(a admin.Actor) error { _, err := svc.TelephonyLog(ctx, a, mfa.LogFilter{}); return err }},
	}
	for _, tt := range tests {
		for _, r := range roles {
			err := tt.call(adminActor(r))
			want := strings.Contains(tt.want, roleLetter[r])
			if denied := errors.Is(err, mfa.ErrDenied); denied == want {
				t.Errorf("%s as %s: error %v; want allowed %v", tt.give, r, err, want)
			}
			if want && err != nil && !errors.Is(err, mfa.ErrNotFound) {
				t.Errorf("%s as %s: unexpected error %v", tt.give, r, err)
			}
		}
	}
	// Deleting real objects: only the allowed roles may, checked on fresh objects.
	for _, r := range roles {
		a := adminActor(r)
		in, err := svc.CreateIntegration(ctx, sys, admin.IntegrationFields{Name: ref("del"), Type: ref("authapi")})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteIntegration(ctx, a, in.IKey); errors.Is(err, mfa.ErrDenied) != !strings.Contains("OA", roleLetter[r]) {
			t.Errorf("DeleteIntegration(authapi) as %s = %v", r, err)
		}
	}
	_ = st
}

func countUsers(t *testing.T, st mfa.Store) int {
	t.Helper()
	_, n, err := st.ListUsers(t.Context(), mfa.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateUserValidation(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	sys := admin.SystemActor()
	if _, err := svc.CreateUser(ctx, sys, admin.UserFields{Username: ref("taken"), Aliases: map[int]string{1: "taken-alias"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		give      admin.UserFields
		wantField string
	}{
		{admin.UserFields{}, "username"},
		{admin.UserFields{Username: ref("   ")}, "username"},
		{admin.UserFields{Username: ref(strings.Repeat("a", 101))}, "username"},
		{admin.UserFields{Username: ref("a\x00b")}, "username"},
		{admin.UserFields{Username: ref("TAKEN")}, "username"},
		{admin.UserFields{Username: ref("taken-alias")}, "username"},
		{admin.UserFields{Username: ref("bob"), Email: ref("not-an-email")}, "email"},
		{admin.UserFields{Username: ref("bob"), Email: ref("a@b@c")}, "email"},
		{admin.UserFields{Username: ref("bob"), Status: ref("locked out")}, "status"},
		{admin.UserFields{Username: ref("bob"), Status: ref("sleeping")}, "status"},
		{admin.UserFields{Username: ref("bob"), Aliases: map[int]string{9: "x"}}, "alias9"},
		{admin.UserFields{Username: ref("bob"), Aliases: map[int]string{1: "bob"}}, "alias1"},
		{admin.UserFields{Username: ref("bob"), Aliases: map[int]string{1: "x", 2: "X"}}, "alias2"},
		{admin.UserFields{Username: ref("bob"), Aliases: map[int]string{3: "Taken"}}, "aliases"},
		{admin.UserFields{Username: ref("bob"), Notes: ref(strings.Repeat("n", 2001))}, "notes"},
	}
	for _, tt := range tests {
		before := countUsers(t, st)
		_, err := svc.CreateUser(ctx, sys, tt.give)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Field != tt.wantField || (me.Kind != mfa.Invalid && me.Kind != mfa.Conflict) {
			t.Errorf("CreateUser(%+v) = %v, want Invalid or Conflict naming %s", tt.give, err, tt.wantField)
		}
		if after := countUsers(t, st); after != before {
			t.Errorf("CreateUser(%+v) changed the user count %d -> %d", tt.give, before, after)
		}
	}
}

func TestUpdateUserUnlocks(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	sys := admin.SystemActor()
	u, err := svc.CreateUser(ctx, sys, admin.UserFields{Username: ref("carol"), Aliases: map[int]string{1: "c1", 2: "c2"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := st.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, CountFailure: true, Threshold: 2, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := st.GetUser(ctx, u.ID)
	if got.Status != mfa.StatusLockedOut {
		t.Fatalf("status after 2 failures = %q, want locked out", got.Status)
	}
	// Writing back "locked out" unchanged is allowed; it stays locked.
	if _, err := svc.UpdateUser(ctx, sys, u.ID, admin.UserFields{Status: ref("locked out"), Notes: ref("hi")}); err != nil {
		t.Fatalf("UpdateUser(locked out, unchanged) = %v", err)
	}
	d, err := svc.UpdateUser(ctx, sys, u.ID, admin.UserFields{Status: ref("active"), Aliases: map[int]string{1: ""}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = st.GetUser(ctx, u.ID)
	if got.Status != mfa.StatusActive || got.FailedAttempts != 0 || !got.LockedAt.IsZero() {
		t.Errorf("after unlock: status %q, failures %d, locked at %v; want active, 0, zero", got.Status, got.FailedAttempts, got.LockedAt)
	}
	if strings.Join(d.Aliases, ",") != "c2" || d.Notes != "hi" {
		t.Errorf("UpdateUser() aliases %v notes %q, want [c2] and the earlier notes", d.Aliases, d.Notes)
	}
}

func TestPhoneValidation(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	sys := admin.SystemActor()
	p, err := svc.CreatePhone(ctx, sys, admin.PhoneFields{Number: ref(" +1 (555) 555-0100 "), Type: ref("Mobile"), Platform: ref("Apple iOS")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Number != "+15555550100" || p.Type != mfa.PhoneMobile || p.Platform != "apple ios" {
		t.Errorf("CreatePhone() = %q %q %q, want +15555550100 mobile apple ios", p.Number, p.Type, p.Platform)
	}
	tests := []struct {
		give      admin.PhoneFields
		wantField string
	}{
		{admin.PhoneFields{Number: ref("5555550100")}, "number"},
		{admin.PhoneFields{Number: ref("+1234567")}, "number"},
		{admin.PhoneFields{Number: ref("+1234567890123456")}, "number"},
		{admin.PhoneFields{Number: ref("+1555abc0100")}, "number"},
		{admin.PhoneFields{Extension: ref("12a")}, "extension"},
		{admin.PhoneFields{Extension: ref("12345678901")}, "extension"},
		{admin.PhoneFields{Type: ref("pager")}, "type"},
		{admin.PhoneFields{Platform: ref("nokia")}, "platform"},
	}
	for _, tt := range tests {
		_, before, _ := st.ListPhones(ctx, mfa.PhoneFilter{})
		_, err := svc.CreatePhone(ctx, sys, tt.give)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Field != tt.wantField || me.Kind != mfa.Invalid {
			t.Errorf("CreatePhone(%+v) = %v, want Invalid naming %s", tt.give, err, tt.wantField)
		}
		if _, after, _ := st.ListPhones(ctx, mfa.PhoneFilter{}); after != before {
			t.Errorf("CreatePhone(%+v) changed the phone count", tt.give)
		}
	}
}

func TestAdminsLastOwner(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	sys := admin.SystemActor()
	owner, pw, err := svc.CreateAdmin(ctx, sys, admin.AdminFields{Email: ref("o@example.com"), Role: ref("Owner")})
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) != 24 {
		t.Errorf("generated password has %d characters, want 24", len(pw))
	}
	if ok, _ := admin.VerifyPassword(string(pw), owner.PasswordHash); !ok {
		t.Error("the stored hash does not verify the generated password")
	}
	for _, tt := range []struct {
		give      admin.AdminFields
		wantField string
	}{
		{admin.AdminFields{Role: ref("Owner")}, "email"},
		{admin.AdminFields{Email: ref("x@example.com")}, "role"},
		{admin.AdminFields{Email: ref("x@example.com"), Role: ref("owner")}, "role"},
		{admin.AdminFields{Email: ref("x@example.com"), Role: ref("Owner"), Password: ref("short")}, "password"},
		{admin.AdminFields{Email: ref("O@example.com"), Role: ref("Owner")}, "email"},
	} {
		_, before, _ := st.ListAdmins(ctx, mfa.Page{})
		_, _, err := svc.CreateAdmin(ctx, sys, tt.give)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Field != tt.wantField {
			t.Errorf("CreateAdmin(%+v) = %v, want an error naming %s", tt.give, err, tt.wantField)
		}
		if _, after, _ := st.ListAdmins(ctx, mfa.Page{}); after != before {
			t.Errorf("CreateAdmin(%+v) changed the admin count", tt.give)
		}
	}
	if _, err := svc.UpdateAdmin(ctx, sys, owner.ID, admin.AdminFields{Role: ref("Administrator")}); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("demoting the last Owner = %v, want Invalid", err)
	}
	if err := svc.DeleteAdmin(ctx, sys, owner.ID); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("deleting the last Owner = %v, want Invalid", err)
	}
	second, pw2, err := svc.CreateAdmin(ctx, sys, admin.AdminFields{Email: ref("o2@example.com"), Role: ref("Owner"), Password: ref("a long enough password")})
	if err != nil || pw2 != "" {
		t.Fatalf("CreateAdmin(with password) = %v, generated %d chars; want none", err, len(pw2))
	}
	if ok, _ := admin.VerifyPassword("a long enough password", second.PasswordHash); !ok {
		t.Error("the given password does not verify")
	}
	if err := svc.DeleteAdmin(ctx, sys, owner.ID); err != nil {
		t.Errorf("deleting one of two Owners = %v", err)
	}
	if _, err := svc.UpdateAdmin(ctx, sys, second.ID, admin.AdminFields{Role: ref("Read-only")}); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("demoting the remaining Owner = %v, want Invalid", err)
	}
}

func TestIntegrationLockout(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	sys := admin.SystemActor()
	self, err := svc.CreateIntegration(ctx, sys, admin.IntegrationFields{Name: ref("me"), Type: ref("adminapi"),
		Permissions: admin.PermissionFields{Integrations: ref(true), ReadLog: ref(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(self.SKey) != 40 || !strings.HasPrefix(self.IKey, "DI") || len(self.IKey) != 20 || self.AllowV1Signatures {
		t.Errorf("CreateIntegration() keys %q/%d chars, v1 %v; want Duo's shapes and no v1", self.IKey, len(self.SKey), self.AllowV1Signatures)
	}
	stored, _ := st.GetIntegration(ctx, self.IKey)
	a := admin.IntegrationActor(stored)
	if err := svc.DeleteIntegration(ctx, a, self.IKey); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("an integration deleting itself = %v, want Invalid", err)
	}
	if _, err := svc.UpdateIntegration(ctx, a, self.IKey, admin.IntegrationFields{Permissions: admin.PermissionFields{Integrations: ref(false)}}); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("an integration dropping its own adminapi_integrations = %v, want Invalid", err)
	}
	if _, err := svc.CreateIntegration(ctx, a, admin.IntegrationFields{Name: ref("more"), Type: ref("adminapi"),
		Permissions: admin.PermissionFields{Admins: ref(true)}}); !errors.Is(err, mfa.ErrDenied) {
		t.Errorf("an integration granting a permission it lacks = %v, want Denied", err)
	}
	if got, _ := st.GetIntegration(ctx, self.IKey); got.Permissions != stored.Permissions {
		t.Errorf("permissions changed to %+v", got.Permissions)
	}
	unix, err := svc.CreateIntegration(ctx, sys, admin.IntegrationFields{Name: ref("ssh"), Type: ref("unix")})
	if err != nil || !unix.AllowV1Signatures {
		t.Errorf("unix integration v1 signatures = %v, %v; want true by default", unix.AllowV1Signatures, err)
	}
	for _, tt := range []struct {
		give      admin.IntegrationFields
		wantField string
	}{
		{admin.IntegrationFields{Type: ref("authapi")}, "name"},
		{admin.IntegrationFields{Name: ref("x")}, "type"},
		{admin.IntegrationFields{Name: ref("x"), Type: ref("rdp")}, "type"},
		{admin.IntegrationFields{Name: ref("x"), Type: ref("authapi"), EnrollPolicy: ref("maybe")}, "enroll_policy"},
		{admin.IntegrationFields{Name: ref("x"), Type: ref("authapi"), TrustedDeviceDays: ref(366)}, "trusted_device_days"},
		{admin.IntegrationFields{Name: ref("x"), Type: ref("authapi"), Permissions: admin.PermissionFields{ReadLog: ref(true)}}, "adminapi_read_log"},
		{admin.IntegrationFields{Name: ref("x"), Type: ref("adminapi"), AllowV1Signatures: ref(true)}, "allow_v1_signatures"},
		{admin.IntegrationFields{Name: ref("x"), Type: ref("authapi"), AllowV1Signatures: ref(true)}, "allow_v1_signatures"},
	} {
		_, before, _ := st.ListIntegrations(ctx, mfa.Page{})
		_, err := svc.CreateIntegration(ctx, sys, tt.give)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Field != tt.wantField {
			t.Errorf("CreateIntegration(%+v) = %v, want an error naming %s", tt.give, err, tt.wantField)
		}
		if _, after, _ := st.ListIntegrations(ctx, mfa.Page{}); after != before {
			t.Errorf("CreateIntegration(%+v) changed the count", tt.give)
		}
	}
}

func TestUpdateSettings(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	sys := admin.SystemActor()
	tests := []struct {
		give      admin.SettingsFields
		wantField string
	}{
		{admin.SettingsFields{LockoutThreshold: ref(-1)}, "lockout_threshold"},
		{admin.SettingsFields{LockoutThreshold: ref(10000)}, "lockout_threshold"},
		{admin.SettingsFields{LockoutExpireMinutes: ref(4)}, "lockout_expire_duration"},
		{admin.SettingsFields{LockoutExpireMinutes: ref(30001)}, "lockout_expire_duration"},
		{admin.SettingsFields{SMSBatch: ref(0)}, "sms_batch"},
		{admin.SettingsFields{SMSBatch: ref(11)}, "sms_batch"},
		{admin.SettingsFields{SMSExpirationMinutes: ref(525601)}, "sms_expiration"},
		{admin.SettingsFields{SMSMessage: ref(strings.Repeat("m", 161))}, "sms_message"},
		{admin.SettingsFields{HelpdeskBypass: ref("maybe")}, "helpdesk_bypass"},
		{admin.SettingsFields{FraudEmail: ref("nope")}, "fraud_email"},
		{admin.SettingsFields{FraudEmailEnabled: ref(true)}, "fraud_email_enabled"},
		{admin.SettingsFields{PushTimeoutSeconds: ref(14)}, "push_timeout_seconds"},
		{admin.SettingsFields{InactiveUserExpiration: ref(29)}, "inactive_user_expiration"},
		// A valid value next to an invalid one changes nothing.
		{admin.SettingsFields{SMSBatch: ref(3), LockoutThreshold: ref(-5)}, "lockout_threshold"},
	}
	for _, tt := range tests {
		before, _ := st.GetSettings(ctx)
		_, err := svc.UpdateSettings(ctx, sys, tt.give)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Field != tt.wantField || me.Kind != mfa.Invalid {
			t.Errorf("UpdateSettings(%+v) = %v, want Invalid naming %s", tt.give, err, tt.wantField)
		}
		if after, _ := st.GetSettings(ctx); !reflect.DeepEqual(after, before) {
			t.Errorf("UpdateSettings(%+v) changed the settings", tt.give)
		}
	}
	got, err := svc.UpdateSettings(ctx, sys, admin.SettingsFields{LockoutThreshold: ref(5), LockoutExpireMinutes: ref(15),
		HelpdeskBypass: ref("deny"), FraudEmail: ref("sec@example.com"), FraudEmailEnabled: ref(true)})
	if err != nil {
		t.Fatal(err)
	}
	want := mfa.DefaultSettings()
	want.LockoutThreshold, want.LockoutExpire, want.HelpDeskCanSendBypass = 5, 15*time.Minute, false
	want.FraudEmail, want.FraudEmailEnabled = "sec@example.com", true
	if stored, _ := st.GetSettings(ctx); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(stored, want) {
		t.Errorf("UpdateSettings() = %+v, stored %+v; want %+v", got, stored, want)
	}
}

func TestChangesAreLogged(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	a := adminActor(mfa.RoleOwner)
	u, _ := svc.CreateUser(ctx, a, admin.UserFields{Username: ref("dave")})
	_, _ = svc.UpdateUser(ctx, a, u.ID, admin.UserFields{RealName: ref("Dave")})
	in, _ := svc.CreateIntegration(ctx, a, admin.IntegrationFields{Name: ref("vpn"), Type: ref("authapi")})
	_, _ = svc.IntegrationSecret(ctx, a, in.IKey)
	_, pw, _ := svc.CreateAdmin(ctx, a, admin.AdminFields{Email: ref("e@example.com"), Role: ref("Help Desk")})
	_ = svc.DeleteUser(ctx, a, u.ID)
	logs, err := st.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range logs {
		actions = append(actions, e.Action)
		if e.Actor != a.Name || e.ActorKind != "admin" {
			t.Errorf("log record %+v does not name the actor %s", e, a.Name)
		}
		if strings.Contains(e.Description, string(in.SKey.Reveal())) || strings.Contains(e.Description, string(pw)) {
			t.Errorf("log record %s holds a secret", e.Action)
		}
	}
	want := "user_create,user_update,integration_create,integration_skey_read,admin_create,user_delete"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("admin log actions = %s, want %s", got, want)
	}
}
