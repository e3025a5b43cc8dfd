package console_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// invitation stores a pending administrator invitation.
func (f *fixture) invitation(email string, role mfa.Role) mfa.AdminActivation {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixAdminActivation, rand.Reader)
	code, _ := mfa.RandomString(rand.Reader, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20)
	a := mfa.AdminActivation{ID: id, Code: mfa.Passcode(code), Email: email, Role: role, CreatedBy: f.Owner.Email,
		Created: f.now(), Expires: f.now().Add(24 * time.Hour)}
	if err := f.Store.CreateAdminActivation(f.t.Context(), a); err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) invitations() []mfa.AdminActivation {
	f.t.Helper()
	list, _, err := f.Store.ListAdminActivations(f.t.Context(), f.now(), mfa.Page{})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// TestInvitations: an Owner invites an administrator by link (shown
// once, no-store, with a copy button; only grantable roles offered; bad
// input named beside its field with nothing created), sees it pending,
// opens it, and withdraws it.
func TestInvitations(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.Owner)
	doc := b.page("/console/admins", 200)
	if got := doc.Find(`form.invite select[name="admin_role"] option`).Length(); got != 5 {
		t.Errorf("an Owner is offered %d roles, want 5", got)
	}
	if got := doc.Find(`form.invite select[name="admin_role"] option[selected]`).Text(); got != string(mfa.RoleReadOnly) {
		t.Errorf("default role %q, want Read-only", got)
	}
	if v, _ := doc.Find(`form.invite input[name="valid_days"]`).Attr("value"); v != "7" {
		t.Errorf("default days %q, want 7", v)
	}
	if doc.Find(`p.empty`).Length() != 1 {
		t.Error("no 'No pending invitations'")
	}

	bad := []struct{ email, role, days, field, want string }{
		{"new@example.com", "Help Desk", "0", "valid_days", "Enter how many days the link is valid: 1 to 31."},
		{"new@example.com", "Help Desk", "32", "valid_days", "Enter how many days"},
		{"not an email", "Help Desk", "3", "email", "Email address: "},
		{"help@example.com", "Help Desk", "3", "email", "An administrator with this email already exists."},
		{"new@example.com", "Emperor", "3", "admin_role", "Choose one of the roles offered."},
	}
	for _, c := range bad {
		resp, body := b.post("/console/admins", "/console/admins/invite", url.Values{"email": {c.email}, "admin_role": {c.role}, "valid_days": {c.days}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%+v: %d, want 400: %s", c, resp.StatusCode, body)
			continue
		}
		d := parse(t, body)
		if got := d.Find(`.error-summary a[href="#f-` + c.field + `"]`).Text(); !strings.HasPrefix(got, c.want) {
			t.Errorf("%+v: summary %q", c, got)
		}
		if v, _ := d.Find(`form.invite input[name="email"]`).Attr("value"); v != c.email {
			t.Errorf("%+v: the form lost the email: %q", c, v)
		}
	}
	if n := len(f.invitations()); n != 0 {
		t.Fatalf("refused invitations created %d links", n)
	}

	resp, body := b.post("/console/admins", "/console/admins/invite", url.Values{"email": {"New@Example.com"}, "admin_role": {"Help Desk"}, "valid_days": {"3"}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("invite = %d %q: %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	d := parse(t, body)
	link := d.Find(`#invite-link .code`).Text()
	if !strings.HasPrefix(link, "https://"+publicHost+"/console/activate/") || d.Find(`button[data-copy="invite-link"]`).Length() != 1 {
		t.Fatalf("link %q, copy buttons %d", link, d.Find(`button[data-copy="invite-link"]`).Length())
	}
	list := f.invitations()
	if len(list) != 1 || list[0].Role != mfa.RoleHelpDesk || !strings.EqualFold(list[0].Email, "new@example.com") ||
		list[0].Expires.Sub(f.now()) < 71*time.Hour || list[0].Expires.Sub(f.now()) > 73*time.Hour {
		t.Fatalf("invitations: %+v", list)
	}
	// The link works (the invitation page of internal/web/invite).
	u, _ := url.Parse(link)
	if page := b.page(u.Path, 200); !strings.Contains(strings.ToLower(page.Text()), "new@example.com") {
		t.Error("the invitation page does not name the email")
	}
	// Never shown again: the Administrators page lists it without the code.
	resp, body = b.do("GET", "/console/admins", nil, nil)
	if strings.Contains(body, strings.TrimPrefix(u.Path, "/console/activate/")) {
		t.Error("the Administrators page shows the link's code")
	}
	doc = parse(t, body)
	row := doc.Find(`table.invitations tbody tr`)
	if row.Length() != 1 || !strings.Contains(strings.ToLower(row.Text()), "new@example.com") || !strings.Contains(row.Text(), "Help Desk") {
		t.Fatalf("pending invitations: %q", row.Text())
	}
	action, _ := row.Find(`form`).Attr("action")
	if action != "/console/admins/invitations/"+list[0].ID+"/withdraw" {
		t.Fatalf("withdraw action %q", action)
	}
	if resp, _ := b.do("POST", action, url.Values{}, nil); resp.StatusCode != http.StatusForbidden || len(f.invitations()) != 1 {
		t.Errorf("withdraw without a CSRF token = %d", resp.StatusCode)
	}
	resp, body = b.post("/console/admins", action, nil)
	wantRedirect(t, "withdraw", resp, body, "/console/admins?done=withdrawn")
	if !strings.Contains(b.page("/console/admins?done=withdrawn", 200).Find(`.alert-success`).Text(), "withdrawn") {
		t.Error("no success alert after withdrawing")
	}
	if n := len(f.invitations()); n != 0 {
		t.Errorf("%d invitations after withdrawing", n)
	}
	b.page(u.Path, 404)
	if resp, _ := b.post("/console/admins", action, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("withdrawing again = %d, want 404", resp.StatusCode)
	}
	logs, _ := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{Descending: true, Limit: 2})
	if len(logs) != 2 || logs[0].Action != "admin_activation_delete" || logs[1].Action != "admin_activation_create" {
		t.Errorf("admin log: %+v", logs)
	}
}
