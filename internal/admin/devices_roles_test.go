package admin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/tokenfile"
)

// TestDeviceRoles checks every token and bypass code method against every
// role: allowed calls succeed, the others are Denied and change nothing.
func TestDeviceRoles(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	n := 0
	fresh := func() (mfa.Token, string) {
		n++
		tok, err := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenH6, Serial: "S" + string(rune('A'+n%26)) + string(rune('a'+n/26)), Secret: tokSecretHex})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.AttachToken(ctx, e.owner, u.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(1)}); err != nil {
			t.Fatal(err)
		}
		bs, _, _ := e.svc.ListBypassCodes(ctx, e.owner, u.ID, mfa.Page{})
		return tok, bs[0].Code.ID
	}
	type call func(a admin.Actor, tok mfa.Token, bypassID string) error
	methods := []struct {
		name  string
		call  call
		allow map[string]bool // role (or "Help Desk (no bypass)") -> allowed
	}{}
	all := map[string]bool{"Owner": true, "Administrator": true, "User Manager": true, "Help Desk": true, "Help Desk (no bypass)": true, "Read-only": true}
	writers := map[string]bool{"Owner": true, "Administrator": true, "User Manager": true, "Help Desk": true, "Help Desk (no bypass)": true}
	deleters := map[string]bool{"Owner": true, "Administrator": true, "User Manager": true}
	bypassers := map[string]bool{"Owner": true, "Administrator": true, "User Manager": true, "Help Desk": true}
	add := func(name string, allow map[string]bool, c call) {
		methods = append(methods, struct {
			name  string
			call  call
			allow map[string]bool
		}{name, c, allow})
	}
	add("CreateToken", writers, func(a admin.Actor, _ mfa.Token, _ string) error {
		n++
		_, err := e.svc.CreateToken(ctx, a, admin.NewToken{Type: mfa.TokenT6, Serial: "new" + string(rune('A'+n%26)) + string(rune('a'+n/26)), Secret: tokSecretHex})
		return err
	})
	add("GetToken", all, func(a admin.Actor, tok mfa.Token, _ string) error {
		_, err := e.svc.GetToken(ctx, a, tok.ID)
		return err
	})
	add("ListTokens", all, func(a admin.Actor, _ mfa.Token, _ string) error {
		_, _, err := e.svc.ListTokens(ctx, a, mfa.TokenFilter{})
		return err
	})
	add("UpdateToken", writers, func(a admin.Actor, tok mfa.Token, _ string) error {
		_, err := e.svc.UpdateToken(ctx, a, tok.ID, admin.TokenUpdate{})
		return err
	})
	add("ResyncToken", writers, func(a admin.Actor, tok mfa.Token, _ string) error {
		return e.svc.ResyncToken(ctx, a, tok.ID, [3]string{otp.HOTP(tokSecret, 5, 6), otp.HOTP(tokSecret, 6, 6), otp.HOTP(tokSecret, 7, 6)})
	})
	add("DeleteToken", deleters, func(a admin.Actor, tok mfa.Token, _ string) error { return e.svc.DeleteToken(ctx, a, tok.ID) })
	add("AttachToken", writers, func(a admin.Actor, tok mfa.Token, _ string) error { return e.svc.AttachToken(ctx, a, u.ID, tok.ID) })
	add("DetachToken", writers, func(a admin.Actor, tok mfa.Token, _ string) error {
		return e.svc.DetachToken(ctx, a, u.ID, tok.ID)
	})
	add("UserTokens", all, func(a admin.Actor, _ mfa.Token, _ string) error { _, err := e.svc.UserTokens(ctx, a, u.ID); return err })
	add("ImportTokens", writers, func(a admin.Actor, _ mfa.Token, _ string) error {
		n++
		_, err := e.svc.ImportTokens(ctx, a, []tokenfile.Record{{Type: "h6", Serial: "imp" + string(rune('A'+n%26)) + string(rune('a'+n/26)), Secret: tokSecret}}, nil)
		return err
	})
	add("CreateBypassCodes", bypassers, func(a admin.Actor, _ mfa.Token, _ string) error {
		_, err := e.svc.CreateBypassCodes(ctx, a, u.ID, admin.BypassRequest{Count: ptr(1), PreserveExisting: true})
		return err
	})
	add("GetBypassCode", all, func(a admin.Actor, _ mfa.Token, id string) error {
		_, err := e.svc.GetBypassCode(ctx, a, id)
		return err
	})
	add("ListBypassCodes", all, func(a admin.Actor, _ mfa.Token, _ string) error {
		_, _, err := e.svc.ListBypassCodes(ctx, a, u.ID, mfa.Page{})
		return err
	})
	add("ListAllBypassCodes", all, func(a admin.Actor, _ mfa.Token, _ string) error {
		_, _, err := e.svc.ListBypassCodes(ctx, a, "", mfa.Page{})
		return err
	})
	add("DeleteBypassCode", writers, func(a admin.Actor, _ mfa.Token, id string) error { return e.svc.DeleteBypassCode(ctx, a, id) })

	roles := []struct {
		name       string
		role       mfa.Role
		helpBypass bool
	}{
		{"Owner", mfa.RoleOwner, true},
		{"Administrator", mfa.RoleAdministrator, true},
		{"User Manager", mfa.RoleUserManager, true},
		{"Help Desk", mfa.RoleHelpDesk, true},
		{"Help Desk (no bypass)", mfa.RoleHelpDesk, false},
		{"Read-only", mfa.RoleReadOnly, true},
	}
	for _, r := range roles {
		s := mfa.DefaultSettings()
		s.HelpDeskCanSendBypass = r.helpBypass
		if err := e.store.PutSettings(ctx, s); err != nil {
			t.Fatal(err)
		}
		for _, m := range methods {
			tok, bypassID := fresh()
			before := e.adminLog()
			err := m.call(e.actor(r.role), tok, bypassID)
			want := m.allow[r.name]
			switch {
			case want && err != nil:
				t.Errorf("%s as %s = %v, want allowed", m.name, r.name, err)
			case !want && !errors.Is(err, mfa.ErrDenied):
				t.Errorf("%s as %s = %v, want Denied", m.name, r.name, err)
			case !want && e.adminLog() != before:
				t.Errorf("%s as %s was Denied but logged a change", m.name, r.name)
			}
		}
	}
	// Integrations: write_resource needed for writes, read_resource for reads.
	readOnly := admin.Actor{Kind: admin.ActorIntegration, ID: "DIREADONLY", Name: "reader", Perms: mfa.AdminPermissions{ReadResource: true}}
	for _, m := range methods {
		tok, bypassID := fresh()
		err := m.call(readOnly, tok, bypassID)
		if want := m.allow["Read-only"]; want != (err == nil) || (!want && !errors.Is(err, mfa.ErrDenied)) {
			t.Errorf("%s as a read-only integration = %v, want allowed %v", m.name, err, want)
		}
	}
	if _, err := e.svc.ReapBypassCodes(context.Background()); err != nil {
		t.Errorf("ReapBypassCodes() = %v, want the system actor allowed", err)
	}
}
