package adminapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// integrationV3JSON is the integration object as a client decodes it.
type integrationV3JSON struct {
	IntegrationKey       string   `json:"integration_key"`
	SecretKey            string   `json:"secret_key"`
	Name                 string   `json:"name"`
	Type                 string   `json:"type"`
	EnrollPolicy         string   `json:"enroll_policy"`
	Greeting             string   `json:"greeting"`
	Notes                string   `json:"notes"`
	TrustedDeviceDays    int      `json:"trusted_device_days"`
	GroupsAllowed        []string `json:"groups_allowed"`
	AdminAPIReadLog      int      `json:"adminapi_read_log"`
	AdminAPIIntegrations int      `json:"adminapi_integrations"`
	AdminAPIAdmins       int      `json:"adminapi_admins"`
}

// TestIntegrationsV3DuoClientPython5 sends duo_client_python 5.x's exact
// /admin/v3/integrations requests (create_integration,
// get_integrations[_generator], get_integration, update_integration with
// reset_secret_key, get_secret_key, delete_integration): JSON bodies signed
// v5, parameters as that client builds them.
func TestIntegrationsV3DuoClientPython5(t *testing.T) {
	f := newFixture(t)
	py := &py5{t: t, f: f, in: f.Key}
	g := createGroup(t, f, map[string][]string{"name": {"VPN users"}})

	// create_integration(name, integration_type, visual_style, greeting,
	// notes, enroll_policy, trusted_device_days, groups_allowed,
	// self_service_allowed=False)
	r := py.do(http.MethodPost, "/admin/v3/integrations", nil, map[string]any{
		"name": "VPN", "type": "authapi", "visual_style": "default", "greeting": "Welcome to the VPN",
		"notes": "for the VPN concentrator", "enroll_policy": "allow", "trusted_device_days": "30",
		"groups_allowed": g.GroupID, "self_service_allowed": "0"})
	var vpn integrationV3JSON
	f.OK(r, &vpn)
	golden(t, "integration_v3_create", r.Response)
	if len(vpn.IntegrationKey) != 20 || !strings.HasPrefix(vpn.IntegrationKey, "DI") || len(vpn.SecretKey) != 40 {
		t.Fatalf("create_integration keys = %q/%q, want DI+18 and 40 characters", vpn.IntegrationKey, vpn.SecretKey)
	}
	want := integrationV3JSON{IntegrationKey: vpn.IntegrationKey, SecretKey: vpn.SecretKey, Name: "VPN", Type: "authapi",
		EnrollPolicy: "allow", Greeting: "Welcome to the VPN", Notes: "for the VPN concentrator", TrustedDeviceDays: 30,
		GroupsAllowed: []string{g.GroupID}}
	if diff := cmp.Diff(want, vpn); diff != "" {
		t.Errorf("create_integration mismatch (-want +got):\n%s", diff)
	}
	// An Admin API key, permission flags as "1"/"0" strings.
	var logs integrationV3JSON
	f.OK(py.do(http.MethodPost, "/admin/v3/integrations", nil, map[string]any{
		"name": "SIEM", "type": "adminapi", "adminapi_read_log": "1", "adminapi_admins": "0"}), &logs)
	if logs.AdminAPIReadLog != 1 || logs.AdminAPIAdmins != 0 {
		t.Errorf("adminapi create = %+v, want read_log only", logs)
	}

	// get_integrations(): json_paging_api_call, limit=100&offset=0...
	var names []string
	for _, raw := range py.paging("/admin/v3/integrations") {
		var in integrationV3JSON
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatal(err)
		}
		if in.SecretKey != "" {
			t.Errorf("get_integrations() shows the secret key of %s", in.IntegrationKey)
		}
		names = append(names, in.Name)
	}
	if diff := cmp.Diff([]string{f.Key.Name, "VPN", "SIEM"}, names); diff != "" {
		t.Errorf("get_integrations() names (-want +got):\n%s", diff)
	}
	// get_integrations(limit=1, offset=1)
	r = py.do(http.MethodGet, "/admin/v3/integrations", []kv{{"limit", "1"}, {"offset", "1"}}, nil)
	var page []integrationV3JSON
	f.OK(r, &page)
	golden(t, "integrations_v3_list", append(append([]byte(`{"response":`), r.Response...), append([]byte(`,"metadata":`), append(r.Metadata, '}')...)...))
	if len(page) != 1 || page[0].Name != "VPN" {
		t.Errorf("get_integrations(limit=1, offset=1) = %+v, want [VPN]", page)
	}

	// get_integration(ikey): GET with an empty query ("?")
	var got integrationV3JSON
	f.OK(py.do(http.MethodGet, "/admin/v3/integrations/"+vpn.IntegrationKey, nil, nil), &got)
	if got.Name != "VPN" || got.SecretKey != "" || got.TrustedDeviceDays != 30 {
		t.Errorf("get_integration() = %+v, want VPN without its secret", got)
	}

	// update_integration(ikey, name=..., enroll_policy=..., groups_allowed="", reset_secret_key=1)
	var upd integrationV3JSON
	f.OK(py.do(http.MethodPost, "/admin/v3/integrations/"+vpn.IntegrationKey, nil, map[string]any{
		"name": "VPN (EU)", "enroll_policy": "deny", "groups_allowed": "", "reset_secret_key": "1"}), &upd)
	if upd.Name != "VPN (EU)" || upd.EnrollPolicy != "deny" || len(upd.GroupsAllowed) != 0 || upd.SecretKey != "" {
		t.Errorf("update_integration() = %+v", upd)
	}
	// get_secret_key(ikey): the reset gave a new one, which now signs.
	var sk integrationV3JSON
	f.OK(py.do(http.MethodGet, "/admin/v1/integrations/"+vpn.IntegrationKey+"/skey", nil, nil), &sk)
	if len(sk.SecretKey) != 40 || sk.SecretKey == vpn.SecretKey {
		t.Errorf("secret after reset_secret_key = %q, want a new 40-character key (old %q)", sk.SecretKey, vpn.SecretKey)
	}
	stored, err := f.Store.GetIntegration(t.Context(), vpn.IntegrationKey)
	if err != nil || string(stored.SKey.Reveal()) != sk.SecretKey {
		t.Errorf("stored secret = %v, want the one get_secret_key returned", err)
	}

	// delete_integration(ikey), then get_integration answers 404.
	r = py.do(http.MethodDelete, "/admin/v3/integrations/"+vpn.IntegrationKey, nil, nil)
	f.OK(r, nil)
	if string(r.Response) != `""` {
		t.Errorf("delete_integration() response = %s, want \"\"", r.Response)
	}
	if r := py.do(http.MethodGet, "/admin/v3/integrations/"+vpn.IntegrationKey, nil, nil); r.Status != 404 || r.Code != 40401 {
		t.Errorf("get_integration() after delete = %d %d, want 404 40401", r.Status, r.Code)
	}
	// The change log names v3 changes like any other.
	entries, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.Object == vpn.IntegrationKey {
			actions = append(actions, e.Action)
		}
	}
	if diff := cmp.Diff([]string{"integration_create", "integration_update", "integration_skey_read", "integration_delete"}, actions); diff != "" {
		t.Errorf("admin log for %s (-want +got):\n%s", vpn.IntegrationKey, diff)
	}
}

// TestIntegrationsV3NoClimbing: v3 keeps the v1 rules. A key holding only
// adminapi_integrations cannot create a stronger key, change, reset the
// secret of or delete a stronger key, or grant what it lacks.
func TestIntegrationsV3NoClimbing(t *testing.T) {
	f := newFixture(t)
	weak := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Integrations: true})
	py := &py5{t: t, f: f, in: weak}
	before := string(f.Key.SKey.Reveal())
	cases := []struct {
		name   string
		method string
		path   string
		params map[string]any
	}{
		{"create stronger", http.MethodPost, "/admin/v3/integrations",
			map[string]any{"name": "x", "type": "adminapi", "adminapi_admins": "1"}},
		{"reset stronger secret", http.MethodPost, "/admin/v3/integrations/" + f.Key.IKey,
			map[string]any{"reset_secret_key": "1"}},
		{"rename stronger", http.MethodPost, "/admin/v3/integrations/" + f.Key.IKey, map[string]any{"name": "mine"}},
		{"grant self", http.MethodPost, "/admin/v3/integrations/" + weak.IKey, map[string]any{"adminapi_admins": "1"}},
		{"delete stronger", http.MethodDelete, "/admin/v3/integrations/" + f.Key.IKey, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := py.do(c.method, c.path, nil, c.params)
			if r.Status != 403 || r.Code != 40301 {
				t.Errorf("%s = %d %d %q, want 403 40301", c.name, r.Status, r.Code, r.MessageDetail)
			}
		})
	}
	got, err := f.Store.GetIntegration(t.Context(), f.Key.IKey)
	if err != nil || string(got.SKey.Reveal()) != before || got.Name != f.Key.Name {
		t.Errorf("the stronger key changed: %v %q", err, got.Name)
	}
	// What it may do: an Auth API integration.
	var in integrationV3JSON
	f.OK(py.do(http.MethodPost, "/admin/v3/integrations", nil, map[string]any{"name": "VPN", "type": "authapi"}), &in)
	if in.Type != "authapi" {
		t.Errorf("create authapi = %+v", in)
	}
}

// TestIntegrationsV3Refused: settings twostep does not implement are
// refused by name (not answered OK without the restriction asked for),
// and the signed-request attacks fail.
func TestIntegrationsV3Refused(t *testing.T) {
	f := newFixture(t)
	py := &py5{t: t, f: f, in: f.Key}
	for _, c := range []struct {
		params map[string]any
		detail string
	}{
		{map[string]any{"name": "x", "type": "authapi", "ip_whitelist": "192.0.2.0/24"}, "ip_whitelist"},
		{map[string]any{"name": "x", "type": "authapi", "ip_whitelist_enroll_policy": "enforce"}, "ip_whitelist_enroll_policy"},
		{map[string]any{"name": "x", "type": "authapi", "username_normalization_policy": "simple"}, "username_normalization_policy"},
		{map[string]any{"name": "x", "type": "authapi", "self_service_allowed": "1"}, "self_service_allowed"},
		{map[string]any{"name": "x", "type": "authapi", "user_access": "ALL_USERS"}, "user_access"},
		// create_integration(sso={...}): a nested object.
		{map[string]any{"name": "x", "type": "sso-generic", "sso": map[string]any{"saml_config": map[string]any{"entity_id": "e"}}}, "sso"},
		{map[string]any{"name": "x", "type": "sso-generic"}, "type"},
		{map[string]any{"type": "authapi"}, "name"},
		{map[string]any{"name": strings.Repeat("n", 300), "type": "authapi"}, "name"},
	} {
		r := py.do(http.MethodPost, "/admin/v3/integrations", nil, c.params)
		if r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, c.detail) {
			t.Errorf("create %v = %d %d %q, want 400 40002 naming %s", c.params, r.Status, r.Code, r.MessageDetail, c.detail)
		}
	}
	all, _, err := f.Store.ListIntegrations(t.Context(), mfa.Page{Limit: 100})
	if err != nil || len(all) != 1 {
		t.Errorf("integrations after refused creates = %d, %v; want only the caller", len(all), err)
	}

	// A body other than the one signed.
	tampered := &py5{t: t, f: f, in: f.Key, body: func(p map[string]any) []byte {
		p["adminapi_admins"] = "1"
		return pyJSON(p)
	}}
	if r := tampered.do(http.MethodPost, "/admin/v3/integrations", nil, map[string]any{"name": "x", "type": "adminapi"}); r.Status != 401 || r.Code != 40103 {
		t.Errorf("tampered body = %d %d, want 401 40103", r.Status, r.Code)
	}
	// Another key's secret.
	other := f.Integration(mfa.IntegrationAdminAPI, mfa.AllAdminPermissions())
	forged := other
	forged.SKey = mfa.Secret(strings.Repeat("x", 40))
	if r := (&py5{t: t, f: f, in: forged}).do(http.MethodGet, "/admin/v3/integrations", nil, nil); r.Status != 401 {
		t.Errorf("wrong secret = %d %d, want 401", r.Status, r.Code)
	}
	// An Auth API key on the Admin API.
	auth := f.Integration(mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	if r := (&py5{t: t, f: f, in: auth}).do(http.MethodGet, "/admin/v3/integrations", nil, nil); r.Status != 403 || r.Code != 40301 {
		t.Errorf("Auth API key = %d %d, want 403 40301", r.Status, r.Code)
	}
	// A key without adminapi_integrations.
	ro := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true, WriteResource: true})
	if r := (&py5{t: t, f: f, in: ro}).do(http.MethodGet, "/admin/v3/integrations", nil, nil); r.Status != 403 || r.Code != 40301 {
		t.Errorf("no integrations permission = %d %d, want 403 40301", r.Status, r.Code)
	}
	// Oversized body and a JSON body that is not an object.
	if r := py.do(http.MethodPost, "/admin/v3/integrations", nil, map[string]any{"name": strings.Repeat("n", 70<<10), "type": "authapi"}); r.Status != 400 || r.Code != 40002 {
		t.Errorf("oversized body = %d %d, want 400 40002", r.Status, r.Code)
	}
	arr := &py5{t: t, f: f, in: f.Key}
	if r := arr.do(http.MethodGet, "/admin/v3/integrations", []kv{{"limit", "501"}}, nil); r.Status != 400 || !strings.Contains(r.MessageDetail, "limit") {
		t.Errorf("limit=501 = %d %q, want 400 naming limit", r.Status, r.MessageDetail)
	}
	// The old form encoding still works on v3 (duo_client_python 4.x
	// style callers of the same path).
	r := f.Call(f.Key, http.MethodPost, "/admin/v3/integrations", url.Values{"name": {"form"}, "type": {"unix"}})
	var in integrationV3JSON
	f.OK(r, &in)
	if in.Type != "unix" {
		t.Errorf("form create = %+v", in)
	}
}
