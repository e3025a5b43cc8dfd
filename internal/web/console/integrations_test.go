package console_test

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// storeIntegration stores an integration of typ.
func (f *fixture) storeIntegration(name string, typ mfa.IntegrationType, perms mfa.AdminPermissions) mfa.Integration {
	f.t.Helper()
	ikey, _ := mfa.RandomString(rand.Reader, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	in := mfa.Integration{IKey: "DI" + ikey, SKey: mfa.Secret(skey), Name: name, Type: typ, Permissions: perms,
		EnrollPolicy: mfa.EnrollPolicy("allow"), Created: f.now()}
	if err := f.Store.CreateIntegration(f.t.Context(), in); err != nil {
		f.t.Fatal(err)
	}
	return in
}

// TestIntegrations: an Owner lists integrations (type, key, groups
// allowed), creates one and sees its secret once (no-store, copy button,
// "never shown again"; not on the list), gets bad input beside its field
// with nothing created, changes name, greeting and groups allowed, and
// deletes one after a confirmation; each change is logged. An unknown key
// is 404.
func TestIntegrations(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	staff := mfa.Group{ID: "DG" + "STAFF0000000000001", Name: "Staff", Status: mfa.GroupStatus("active"), Created: f.now()}
	if err := f.Store.CreateGroup(ctx, staff); err != nil {
		t.Fatal(err)
	}
	vpn := f.storeIntegration("VPN", mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	o := f.browser()
	o.signIn(f.Owner)
	if o.page("/console/", 200).Find(`nav a[href="/console/integrations"]`).Length() != 1 {
		t.Error("the Owner has no link to the integrations page")
	}
	doc := o.page("/console/integrations", 200)
	row := doc.Find("#integration-" + vpn.IKey)
	if !strings.Contains(row.Text(), "VPN") || !strings.Contains(row.Text(), "Auth API") || !strings.Contains(row.Text(), "all users") {
		t.Errorf("VPN row = %q", row.Text())
	}
	if strings.Contains(doc.Text(), string(vpn.SKey)) {
		t.Fatal("the list shows a secret key")
	}
	if got := doc.Find(`select[name="type"] option`).Length(); got != 5 {
		t.Errorf("the Owner is offered %d types, want 5", got)
	}

	// Bad input: beside its field, nothing created.
	before, _, _ := f.Store.ListIntegrations(ctx, mfa.Page{})
	for _, tt := range []struct{ name, typ, uris, field, want string }{
		{"", "authapi", "", "name", "Enter a name"},
		{"Web", "websdk", "", "redirect_uris", "Redirect URIs: required for websdk"},
		{"Web", "websdk", "http://insecure.example/cb", "redirect_uris", "Redirect URIs:"},
		{"Radius", "radius", "", "type", "Choose one of the types offered."},
		{strings.Repeat("n", 300), "authapi", "", "name", "Name: longer than"},
	} {
		resp, body := o.post("/console/integrations", "/console/integrations", url.Values{"name": {tt.name}, "type": {tt.typ}, "redirect_uris": {tt.uris}})
		wantAdminsFormError(t, tt.typ+" "+tt.field, resp, body, tt.field, tt.want)
	}
	if after, _, _ := f.Store.ListIntegrations(ctx, mfa.Page{}); len(after) != len(before) {
		t.Fatalf("refused creations stored %d integrations", len(after)-len(before))
	}

	// Create: the secret, once.
	resp, body := o.post("/console/integrations", "/console/integrations", url.Values{"name": {"Web app"}, "type": {"oidc"},
		"redirect_uris": {"https://app.example.com/callback"}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create = %d, cache %q: %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	doc = parse(t, body)
	ikey := doc.Find("#integration-key").Text()
	secret := doc.Find("#integration-secret .code").Text()
	stored, err := f.Store.GetIntegration(ctx, ikey)
	if err != nil || string(stored.SKey) != secret || len(secret) != 40 || stored.Type != mfa.IntegrationOIDC || stored.Name != "Web app" {
		t.Fatalf("created %q secret %d chars: stored %+v, %v", ikey, len(secret), stored.Name, err)
	}
	if doc.Find(`[data-copy="integration-secret"]`).Length() != 1 || doc.Find(`script[src="/static/twostep.js"]`).Length() != 1 ||
		!strings.Contains(doc.Find(".secret-note").Text(), "never shown again") {
		t.Error("the secret page lacks its copy button, script or warning")
	}
	for _, p := range []string{"/console/integrations", "/console/integrations/" + ikey} {
		if strings.Contains(o.page(p, 200).Text(), secret) {
			t.Errorf("%s shows the secret again", p)
		}
	}

	// Change name, greeting and groups allowed.
	edit := "/console/integrations/" + vpn.IKey
	doc = o.page(edit, 200)
	if v, _ := doc.Find(`input[name="name"]`).Attr("value"); v != "VPN" || doc.Find(`input[name="groups"]`).Length() != 1 {
		t.Fatalf("edit form: name %q, %d groups", v, doc.Find(`input[name="groups"]`).Length())
	}
	resp, body = o.post(edit, edit, url.Values{"name": {" "}, "greeting": {"Hi"}})
	wantAdminsFormError(t, "empty name", resp, body, "name", "Enter a name")
	resp, body = o.post(edit, edit, url.Values{"name": {"VPN"}, "groups": {"DG" + "NOSUCHGROUP0000001"}})
	wantAdminsFormError(t, "unknown group", resp, body, "groups", "Groups:")
	resp, body = o.post(edit, edit, url.Values{"name": {"Office VPN"}, "greeting": {"Welcome to the VPN"}, "groups": {staff.ID}})
	wantRedirect(t, "save", resp, body, edit+"?done=saved")
	got, _ := f.Store.GetIntegration(ctx, vpn.IKey)
	if got.Name != "Office VPN" || got.Greeting != "Welcome to the VPN" || len(got.GroupsAllowed) != 1 || got.GroupsAllowed[0] != staff.ID ||
		string(got.SKey) != string(vpn.SKey) {
		t.Errorf("after saving: %q %q %v (secret kept %v)", got.Name, got.Greeting, got.GroupsAllowed, string(got.SKey) == string(vpn.SKey))
	}
	if !strings.Contains(o.page("/console/integrations", 200).Find("#integration-"+vpn.IKey).Text(), "Staff") {
		t.Error("the list does not name the group allowed")
	}
	// No group ticked: everyone again.
	resp, body = o.post(edit, edit, url.Values{"name": {"Office VPN"}, "greeting": {""}})
	wantRedirect(t, "save without groups", resp, body, edit+"?done=saved")
	if got, _ := f.Store.GetIntegration(ctx, vpn.IKey); len(got.GroupsAllowed) != 0 || got.Greeting != "" {
		t.Errorf("after clearing: %q %v", got.Greeting, got.GroupsAllowed)
	}

	// Delete after a confirmation.
	del := edit + "/delete"
	if !strings.Contains(o.page(del, 200).Find("main").Text(), "Office VPN") {
		t.Error("the confirmation does not name the integration")
	}
	resp, body = o.post(del, del, nil)
	wantRedirect(t, "delete", resp, body, "/console/integrations?done=deleted")
	if _, err := f.Store.GetIntegration(ctx, vpn.IKey); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	want := "integration_create integration_update integration_update integration_delete"
	if got := strings.Join(f.adminLogActions(), " "); got != want {
		t.Errorf("admin log = %s, want %s", got, want)
	}

	// Unknown key: 404 everywhere, nothing logged.
	unknown := "/console/integrations/DI" + "NOSUCHINTEGRATION1"
	for _, p := range []string{unknown, unknown + "/delete"} {
		if resp := mustDo(o, "GET", p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
		if resp, _ := o.post("/console/integrations", p, url.Values{"name": {"x"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", p, resp.StatusCode)
		}
	}
	if got := strings.Join(f.adminLogActions(), " "); got != want {
		t.Errorf("unknown keys logged: %s", got)
	}
}

// TestIntegrationsAdminAPI: an Owner creates an Admin API integration
// with the permissions ticked; an Administrator (who may manage other
// integrations but not Admin API ones) is not offered that type, sees no
// link to change one, and is refused with nothing changed.
func TestIntegrationsAdminAPI(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	o := f.browser()
	o.signIn(f.Owner)
	resp, body := o.post("/console/integrations", "/console/integrations", url.Values{"name": {"Sync"}, "type": {"adminapi"},
		"adminapi_read_resource": {"on"}, "adminapi_read_log": {"on"}})
	if resp.StatusCode != 200 {
		t.Fatalf("create adminapi = %d: %s", resp.StatusCode, body)
	}
	ikey := parse(t, body).Find("#integration-key").Text()
	in, err := f.Store.GetIntegration(ctx, ikey)
	if err != nil || in.Permissions != (mfa.AdminPermissions{ReadResource: true, ReadLog: true}) {
		t.Fatalf("stored permissions %+v, %v", in.Permissions, err)
	}

	adm := f.admin("administrator@example.com", mfa.RoleAdministrator, true)
	a := f.browser()
	a.signIn(adm)
	doc := a.page("/console/integrations", 200)
	if doc.Find(`select[name="type"] option[value="adminapi"]`).Length() != 0 || doc.Find(`select[name="type"] option`).Length() != 4 {
		t.Error("an Administrator is offered the Admin API type")
	}
	if doc.Find(`a[href="/console/integrations/`+ikey+`"]`).Length() != 0 {
		t.Error("an Administrator sees a link to change an Admin API integration")
	}
	p := "/console/integrations/" + ikey
	if resp := mustDo(a, "GET", p); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET %s as Administrator = %d, want 403", p, resp.StatusCode)
	}
	tok := a.csrf("/console/integrations")
	for _, post := range []string{p, p + "/delete", "/console/integrations"} {
		resp, _ := a.do("POST", post, url.Values{web.CSRFField: {tok}, "name": {"Mine"}, "type": {"adminapi"}, "adminapi_admins": {"on"}}, nil)
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s as Administrator = %d, want 403 (or 400 for a type not offered)", post, resp.StatusCode)
		}
	}
	if got, _ := f.Store.GetIntegration(ctx, ikey); got.Name != "Sync" {
		t.Error("a refused POST changed the integration")
	}
	if list, _, _ := f.Store.ListIntegrations(ctx, mfa.Page{}); len(list) != 1 {
		t.Errorf("%d integrations, want 1", len(list))
	}
	// The Administrator may create another kind.
	resp, body = a.post("/console/integrations", "/console/integrations", url.Values{"name": {"Unix hosts"}, "type": {"unix"}})
	if resp.StatusCode != 200 || parse(t, body).Find("#integration-secret .code").Text() == "" {
		t.Errorf("Administrator creating a unix integration = %d", resp.StatusCode)
	}
}

// TestIntegrationsRoles: Help Desk and Read-only see no integrations page
// or link, and every POST answers 403 with nothing changed; CSRF missing
// or wrong is 403 and an oversized body 413.
func TestIntegrationsRoles(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ro := f.admin("readonly@example.com", mfa.RoleReadOnly, true)
	vpn := f.storeIntegration("VPN", mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	p := "/console/integrations/" + vpn.IKey
	posts := []string{"/console/integrations", p, p + "/delete"}
	for _, who := range []mfa.Admin{f.Help, ro} {
		b := f.browser()
		b.signIn(who)
		if b.page("/console/", 200).Find(`nav a[href="/console/integrations"]`).Length() != 0 {
			t.Errorf("%s sees the integrations link", who.Role)
		}
		for _, g := range []string{"/console/integrations", p, p + "/delete"} {
			if resp := mustDo(b, "GET", g); resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s as %s = %d, want 403", g, who.Role, resp.StatusCode)
			}
		}
		tok := b.csrf("/console/")
		for _, post := range posts {
			resp, _ := b.do("POST", post, url.Values{web.CSRFField: {tok}, "name": {"Mine"}, "type": {"authapi"}}, nil)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s as %s = %d, want 403", post, who.Role, resp.StatusCode)
			}
		}
	}
	o := f.browser()
	o.signIn(f.Owner)
	tok := o.csrf("/console/integrations")
	for _, post := range posts {
		form := url.Values{"name": {"Mine"}, "type": {"authapi"}}
		if resp, _ := o.do("POST", post, form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token = %d, want 403", post, resp.StatusCode)
		}
		form.Set(web.CSRFField, "wrong"+tok[5:])
		if resp, _ := o.do("POST", post, form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token = %d, want 403", post, resp.StatusCode)
		}
		form.Set(web.CSRFField, tok)
		form.Set("x", strings.Repeat("a", 9000))
		if resp, _ := o.do("POST", post, form, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized POST %s = %d, want 413", post, resp.StatusCode)
		}
	}
	if list, _, _ := f.Store.ListIntegrations(ctx, mfa.Page{}); len(list) != 1 || list[0].Name != "VPN" {
		t.Errorf("refused POSTs changed the integrations: %+v", list)
	}
	if log := f.adminLogActions(); len(log) != 0 {
		t.Errorf("refused POSTs logged %v", log)
	}
}
