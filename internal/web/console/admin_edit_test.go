package console_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// adminLogActions lists the administrator log's actions, oldest first.
func (f *fixture) adminLogActions() []string {
	f.t.Helper()
	log, err := f.Store.ListAdminLog(f.t.Context(), mfa.LogFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range log {
		out = append(out, e.Action)
	}
	return out
}

func (f *fixture) adminHasTOTP(id string) bool {
	f.t.Helper()
	_, err := f.Store.GetAdminTOTP(f.t.Context(), id)
	if err != nil && !errors.Is(err, mfa.ErrNotFound) {
		f.t.Fatal(err)
	}
	return err == nil
}

func wantAdminsFormError(t *testing.T, what string, resp *http.Response, body, field, want string) {
	t.Helper()
	doc := parse(t, body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find(".field-error").Text(), want) {
		t.Errorf("%s = %d, errors %q; want 400 with %q (field %s)", what, resp.StatusCode, doc.Find(".field-error").Text(), want, field)
	}
}

// TestAdminLifecycle: an Owner opens an administrator's page from the
// list, changes their role (only grantable roles; nonsense refused beside
// the field), disables them (their session ends), resets their lost
// authenticator (their session ends, their next sign-in sets up a new
// one; never one's own), and deletes them after a confirmation; the last
// Owner is never demoted, disabled or deleted; each change is logged.
func TestAdminLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	o := f.browser()
	o.signIn(f.Owner)
	page := "/console/admins/" + f.Help.ID
	if o.page("/console/admins", 200).Find(`a[href="`+page+`"]`).Length() != 1 {
		t.Fatal("the administrators list has no link to the administrator's page")
	}
	doc := o.page(page, 200)
	if doc.Find("h1").Text() != f.Help.Email || doc.Find(`select[name="role"] option`).Length() != 5 ||
		doc.Find(`select[name="role"] option[selected]`).Text() != "Help Desk" || doc.Find("#authenticator").Text() != "set up" {
		t.Fatalf("administrator page: h1 %q, %d roles, selected %q, authenticator %q", doc.Find("h1").Text(),
			doc.Find(`select[name="role"] option`).Length(), doc.Find(`select[name="role"] option[selected]`).Text(), doc.Find("#authenticator").Text())
	}
	if doc.Find(`label[for="f-role"]`).Length() != 1 || doc.Find("fieldset#f-status legend").Length() != 1 {
		t.Error("the role and status controls are not labelled")
	}

	// Role: nonsense refused, nothing changed; a real one saved.
	resp, body := o.post(page, page, url.Values{"role": {"Superuser"}, "status": {"Active"}})
	wantAdminsFormError(t, "unknown role", resp, body, "role", "Choose one of the roles offered.")
	resp, body = o.post(page, page, url.Values{"role": {"Help Desk"}, "status": {"Paused"}})
	wantAdminsFormError(t, "unknown status", resp, body, "status", "Choose Active or Disabled.")
	if h, _ := f.Store.GetAdmin(ctx, f.Help.ID); h.Role != mfa.RoleHelpDesk || h.Disabled {
		t.Fatalf("a refused change changed the administrator: %+v", h)
	}
	resp, body = o.post(page, page, url.Values{"role": {"User Manager"}, "status": {"Active"}})
	wantRedirect(t, "change role", resp, body, page+"?done=saved")
	if h, _ := f.Store.GetAdmin(ctx, f.Help.ID); h.Role != mfa.RoleUserManager {
		t.Errorf("role after the change = %s", h.Role)
	}
	if !strings.Contains(o.page(page+"?done=saved", 200).Find(".alert").Text(), "saved") {
		t.Error("no confirmation after saving")
	}

	// Disable: their session ends at their next request.
	h := f.browser()
	h.signIn(f.Help)
	resp, body = o.post(page, page, url.Values{"role": {"User Manager"}, "status": {"Disabled"}})
	wantRedirect(t, "disable", resp, body, page+"?done=saved")
	wantRedirect(t, "disabled administrator's request", mustDo(h, "GET", "/console/"), "", "/console/login?ended=1")
	resp, body = o.post(page, page, url.Values{"role": {"User Manager"}, "status": {"Active"}})
	wantRedirect(t, "enable", resp, body, page+"?done=saved")

	// Lost authenticator: their session ends, the next sign-in enrols.
	h = f.browser()
	h.signIn(f.Help)
	resp, body = o.post(page, page+"/authenticator", nil)
	wantRedirect(t, "reset authenticator", resp, body, page+"?done=authenticator")
	if f.adminHasTOTP(f.Help.ID) {
		t.Error("the authenticator is still there")
	}
	if o.page(page, 200).Find("#authenticator").Text() != "not set up" {
		t.Error("the page does not say the authenticator is gone")
	}
	wantRedirect(t, "reset administrator's request", mustDo(h, "GET", "/console/"), "", "/console/login?ended=1")
	h = f.browser()
	resp, body = h.post("/console/login", "/console/login", url.Values{"email": {f.Help.Email}, "password": {adminPassword}})
	wantRedirect(t, "sign-in after the reset", resp, body, "/console/login/enroll")
	// Never one's own: the page says why and has no button; a POST is refused.
	self := "/console/admins/" + f.Owner.ID
	sdoc := o.page(self, 200)
	if sdoc.Find("#reset-authenticator").Length() != 0 || !strings.Contains(sdoc.Find("main").Text(), "cannot reset your own authenticator") {
		t.Error("the Owner's own page offers to reset their authenticator")
	}
	resp, body = o.post(self, self+"/authenticator", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "cannot reset your own authenticator") || !f.adminHasTOTP(f.Owner.ID) {
		t.Errorf("resetting one's own authenticator = %d", resp.StatusCode)
	}

	// The last Owner: not demoted, disabled or deleted.
	resp, body = o.post(self, self, url.Values{"role": {"Administrator"}, "status": {"Active"}})
	wantAdminsFormError(t, "demote the last Owner", resp, body, "role", "last Owner")
	resp, body = o.post(self, self, url.Values{"role": {"Owner"}, "status": {"Disabled"}})
	wantAdminsFormError(t, "disable the last Owner", resp, body, "status", "last active Owner")
	resp, body = o.post(self+"/delete", self+"/delete", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "last active Owner") {
		t.Errorf("delete the last Owner = %d", resp.StatusCode)
	}
	if me, _ := f.Store.GetAdmin(ctx, f.Owner.ID); me.Role != mfa.RoleOwner || me.Disabled {
		t.Errorf("the last Owner changed: %+v", me)
	}

	// With a second Owner, the first may step down, and lands on the
	// dashboard (the page is for Owners).
	second := f.admin("second.owner@example.com", mfa.RoleOwner, true)
	resp, body = o.post(self, self, url.Values{"role": {"Administrator"}, "status": {"Active"}})
	wantRedirect(t, "step down", resp, body, "/console/")
	if resp := mustDo(o, "GET", page); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an Owner who stepped down opens an administrator's page: %d", resp.StatusCode)
	}
	o = f.browser()
	o.signIn(second)

	// Delete after a confirmation.
	del := page + "/delete"
	if !strings.Contains(o.page(page, 200).Find("#delete-admin").AttrOr("href", ""), "/delete") ||
		!strings.Contains(o.page(del, 200).Find("main").Text(), f.Help.Email) {
		t.Error("no confirmation naming the administrator")
	}
	resp, body = o.post(del, del, nil)
	wantRedirect(t, "delete", resp, body, "/console/admins?done=deleted")
	if _, err := f.Store.GetAdmin(ctx, f.Help.ID); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("after delete GetAdmin = %v", err)
	}
	if !strings.Contains(o.page("/console/admins?done=deleted", 200).Find(".alert").Text(), "deleted") {
		t.Error("no confirmation after deleting")
	}

	want := []string{"admin_update", "admin_update", "admin_update", "admin_authenticator_reset", "admin_update", "admin_delete"}
	if got := f.adminLogActions(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("admin log = %v, want %v", got, want)
	}

	// Unknown ids: 404 on every route, nothing changed.
	unknown := "/console/admins/DE" + "NOSUCHADMIN0000001"
	if resp := mustDo(o, "GET", unknown); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET unknown = %d", resp.StatusCode)
	}
	if resp := mustDo(o, "GET", unknown+"/delete"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET unknown delete = %d", resp.StatusCode)
	}
	for _, p := range []string{unknown, unknown + "/authenticator", unknown + "/delete"} {
		if resp, _ := o.post("/console/admins", p, url.Values{"role": {"Read-only"}, "status": {"Active"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", p, resp.StatusCode)
		}
	}
	if got := len(f.adminLogActions()); got != len(want) {
		t.Errorf("requests on unknown ids logged %d records", got-len(want))
	}
}

// adminLifecyclePosts are the new Owner-only POSTs of this file, for a target
// administrator id.
func adminLifecyclePosts(id string) []string {
	p := "/console/admins/" + id
	return []string{p, p + "/authenticator", p + "/delete"}
}

// TestAdminLifecycleRoles: Help Desk and Read-only see no administrator
// page and every lifecycle POST answers 403 with nothing changed; CSRF
// missing or wrong is 403 and an oversized body 413, for the Owner too.
func TestAdminLifecycleRoles(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ro := f.admin("readonly@example.com", mfa.RoleReadOnly, true)
	target := f.admin("target@example.com", mfa.RoleUserManager, true)
	for _, who := range []mfa.Admin{f.Help, ro} {
		b := f.browser()
		b.signIn(who)
		for _, p := range []string{"/console/admins/" + target.ID, "/console/admins/" + target.ID + "/delete"} {
			if resp := mustDo(b, "GET", p); resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s as %s = %d, want 403", p, who.Role, resp.StatusCode)
			}
		}
		tok := b.csrf("/console/")
		for _, p := range adminLifecyclePosts(target.ID) {
			resp, _ := b.do("POST", p, url.Values{web.CSRFField: {tok}, "role": {"Read-only"}, "status": {"Disabled"}}, nil)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s as %s = %d, want 403", p, who.Role, resp.StatusCode)
			}
		}
	}
	o := f.browser()
	o.signIn(f.Owner)
	tok := o.csrf("/console/")
	for _, p := range adminLifecyclePosts(target.ID) {
		form := url.Values{"role": {"Read-only"}, "status": {"Disabled"}}
		if resp, _ := o.do("POST", p, form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token = %d, want 403", p, resp.StatusCode)
		}
		form.Set(web.CSRFField, "wrong"+tok[5:])
		if resp, _ := o.do("POST", p, form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token = %d, want 403", p, resp.StatusCode)
		}
		form.Set(web.CSRFField, tok)
		form.Set("x", strings.Repeat("a", 9000))
		if resp, _ := o.do("POST", p, form, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized POST %s = %d, want 413", p, resp.StatusCode)
		}
	}
	if got, err := f.Store.GetAdmin(ctx, target.ID); err != nil || got.Role != mfa.RoleUserManager || got.Disabled || !f.adminHasTOTP(target.ID) {
		t.Errorf("refused POSTs changed the administrator: %+v, %v", got, err)
	}
	if log := f.adminLogActions(); len(log) != 0 {
		t.Errorf("refused POSTs logged %v", log)
	}
}
