package adminapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestUserIdentity: set, show (only "set"/"not set"), clear and import
// the self-service identity answers; bad input names the parameter and
// nothing echoes an answer.
func TestUserIdentity(t *testing.T) {
	f := newFixture(t)
	var u struct {
		UserID string `json:"user_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users", url.Values{"username": {"jsmith"}}), &u)
	path := "/admin/v1/users/" + u.UserID + "/identity"
	var got map[string]string
	f.OK(f.Call(f.Key, http.MethodGet, path, nil), &got)
	if got["pin"] != "not set" || got["dob_id"] != "not set" || len(got) != 2 {
		t.Errorf("GET identity (none) = %v", got)
	}
	f.OK(f.Call(f.Key, http.MethodPost, path, url.Values{"pin": {"482913"}, "dob": {"1984-03-07"}, "id_last4": {"0042"}}), &got)
	if got["pin"] != "set" || got["dob_id"] != "set" {
		t.Errorf("POST identity = %v, want both set", got)
	}
	if ok, _ := f.Store.CheckUserIdentity(t.Context(), u.UserID, mfa.IdentityPIN, "482913"); !ok {
		t.Error("the PIN was not stored")
	}
	readOnly := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true})
	tests := []struct {
		name       string
		in         mfa.Integration
		method     string
		path       string
		params     url.Values
		wantStatus int
		wantDetail string
	}{
		{"nothing given", f.Key, "POST", path, url.Values{}, 400, "pin"},
		{"weak pin", f.Key, "POST", path, url.Values{"pin": {"111111"}}, 400, "pin"},
		{"dob alone", f.Key, "POST", path, url.Values{"dob": {"1975-03-07"}}, 400, "id_last4"},
		{"bad date", f.Key, "POST", path, url.Values{"dob": {"1975-02-30"}, "id_last4": {"0042"}}, 400, "dob"},
		{"bad digits", f.Key, "POST", path, url.Values{"dob": {"1975-03-07"}, "id_last4": {"42"}}, 400, "id_last4"},
		{"unknown user", f.Key, "POST", "/admin/v1/users/DUNOSUCHUSER00000000/identity", url.Values{"pin": {"739105"}}, 404, ""},
		{"unknown user get", f.Key, "GET", "/admin/v1/users/DUNOSUCHUSER00000000/identity", nil, 404, ""},
		{"read-only sets", readOnly, "POST", path, url.Values{"pin": {"739105"}}, 403, ""},
		{"import without csv", f.Key, "POST", "/admin/v1/users/identity_import", url.Values{}, 400, "csv"},
		{"import read-only", readOnly, "POST", "/admin/v1/users/identity_import", url.Values{"csv": {"jsmith,1984-03-07,0042"}}, 403, ""},
	}
	for _, tt := range tests {
		r := f.Call(tt.in, tt.method, tt.path, tt.params)
		if r.Status != tt.wantStatus || !strings.Contains(r.MessageDetail+r.Message, tt.wantDetail) {
			t.Errorf("%s: %d %q %q, want %d naming %q", tt.name, r.Status, r.Message, r.MessageDetail, tt.wantStatus, tt.wantDetail)
		}
		if strings.Contains(r.MessageDetail+r.Message, "1975") || strings.Contains(r.MessageDetail+r.Message, "111111") {
			t.Errorf("%s: the answer echoes what was sent: %q", tt.name, r.MessageDetail)
		}
	}
	// Read-only sees the flags.
	f.OK(f.Call(readOnly, http.MethodGet, path, nil), &got)
	f.OK(f.Call(f.Key, http.MethodPost, path, url.Values{"pin": {""}}), &got)
	if got["pin"] != "not set" || got["dob_id"] != "set" {
		t.Errorf("clearing the PIN = %v", got)
	}
	var rep struct {
		Imported, Failed int
		Rows             []map[string]any
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users/identity_import",
		url.Values{"csv": {"username,dob,id_last4\njsmith,1990-01-02,1234\nnobody,1990-01-02,1234\n"}}), &rep)
	if rep.Imported != 1 || rep.Failed != 1 || len(rep.Rows) != 2 || rep.Rows[1]["result"] != "error" ||
		rep.Rows[1]["line"] != float64(3) || rep.Rows[1]["message"] != "no such user" {
		t.Errorf("import = %+v", rep)
	}
}

// TestSelfBypassSettings: the settings endpoint reads and changes the
// self-service bypass settings, naming a bad value.
func TestSelfBypassSettingsAPI(t *testing.T) {
	f := newFixture(t)
	var s map[string]any
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/settings", nil), &s)
	if s["self_service_bypass"] != false || s["self_service_bypass_check"] != "pin" || s["self_service_bypass_minutes"] != float64(10) {
		t.Errorf("defaults = %v", s)
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/settings", url.Values{"self_service_bypass": {"true"},
		"self_service_bypass_check": {"dob_id"}, "self_service_bypass_minutes": {"20"}}), &s)
	if s["self_service_bypass"] != true || s["self_service_bypass_check"] != "dob_id" || s["self_service_bypass_minutes"] != float64(20) {
		t.Errorf("after POST = %v", s)
	}
	for _, p := range []url.Values{{"self_service_bypass_check": {"ssn"}}, {"self_service_bypass_minutes": {"0"}},
		{"self_service_bypass_minutes": {"61"}}, {"self_service_bypass": {"maybe"}}} {
		r := f.Call(f.Key, http.MethodPost, "/admin/v1/settings", p)
		var name string
		for k := range p {
			name = k
		}
		if r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, name) {
			t.Errorf("POST %v = %d %d %q, want 40002 naming %s", p, r.Status, r.Code, r.MessageDetail, name)
		}
	}
}
