package adminapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

type adminJSON struct {
	AdminID  string `json:"admin_id"`
	Role     string `json:"role"`
	Status   string `json:"status"`
	Password string `json:"password"`
}

// TestAdminStatus: administrators carry Duo's status (Active, Disabled);
// it is set on create and modify, stored, and the last active Owner can be
// neither disabled nor left as the only Owner by disabling.
func TestAdminStatus(t *testing.T) {
	f := cheap(newFixture(t))
	var a adminJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"off@example.com"}, "role": {"Help Desk"},
		"status": {"Disabled"}}), &a)
	if a.Status != "Disabled" {
		t.Errorf("created status = %q, want Disabled", a.Status)
	}
	if got, err := f.Store.GetAdmin(t.Context(), a.AdminID); err != nil || got.CanSignIn() {
		t.Errorf("stored disabled administrator: CanSignIn %v, %v; want false", got.CanSignIn(), err)
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins/"+a.AdminID, url.Values{"status": {"Active"}}), &a)
	if got, _ := f.Store.GetAdmin(t.Context(), a.AdminID); a.Status != "Active" || !got.CanSignIn() {
		t.Errorf("re-enabled: status %q, CanSignIn %v; want Active, true", a.Status, got.CanSignIn())
	}
	var def adminJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"on@example.com"}, "role": {"Read-only"}}), &def)
	if def.Status != "Active" {
		t.Errorf("default status = %q, want Active", def.Status)
	}

	var owner adminJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"owner@example.com"}, "role": {"Owner"}}), &owner)
	tests := []struct {
		name   string
		path   string
		give   url.Values
		field  string
		status int
	}{
		{"lower case", "/admin/v1/admins/" + a.AdminID, url.Values{"status": {"disabled"}}, "status", 400},
		{"unknown", "/admin/v1/admins/" + a.AdminID, url.Values{"status": {"Pending Activation"}}, "status", 400},
		{"empty", "/admin/v1/admins/" + a.AdminID, url.Values{"status": {""}}, "status", 400},
		{"disable the last active Owner", "/admin/v1/admins/" + owner.AdminID, url.Values{"status": {"Disabled"}}, "status", 400},
	}
	for _, tt := range tests {
		r := f.Call(f.Key, http.MethodPost, tt.path, tt.give)
		if r.Status != tt.status || !strings.Contains(r.MessageDetail, tt.field) {
			t.Errorf("%s: %d %d %q, want %d naming %s", tt.name, r.Status, r.Code, r.MessageDetail, tt.status, tt.field)
		}
	}
	if got, _ := f.Store.GetAdmin(t.Context(), owner.AdminID); got.Disabled {
		t.Error("refused request disabled the last Owner")
	}
	// With a second active Owner, one may be disabled; then the other is the last.
	var second adminJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"owner2@example.com"}, "role": {"Owner"}}), &second)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins/"+owner.AdminID, url.Values{"status": {"Disabled"}}), nil)
	if r := f.Call(f.Key, http.MethodDelete, "/admin/v1/admins/"+second.AdminID, nil); r.Status != 400 {
		t.Errorf("delete the last active Owner (other Owner disabled) = %d %q, want 400", r.Status, r.MessageDetail)
	}
	if r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins/"+second.AdminID, url.Values{"role": {"Administrator"}}); r.Status != 400 {
		t.Errorf("demote the last active Owner = %d %q, want 400", r.Status, r.MessageDetail)
	}
}

// TestAdminReset: POST /admin/v1/admins/{id}/reset answers "" and is
// logged (twostep keeps no failed-login counter to clear); unknown ids are
// 404, and it needs adminapi_admins and the no-climbing rule.
func TestAdminReset(t *testing.T) {
	f := cheap(newFixture(t))
	var a, owner adminJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"hd@example.com"}, "role": {"Help Desk"}}), &a)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"o@example.com"}, "role": {"Owner"}}), &owner)
	r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins/"+a.AdminID+"/reset", nil)
	if r.Status != 200 || string(r.Response) != `""` {
		t.Fatalf("reset = %d %s %q, want 200 \"\"", r.Status, r.Response, r.MessageDetail)
	}
	logs, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range logs {
		found = found || (l.Action == "admin_reset" && l.Object == a.AdminID && l.Actor == f.Key.IKey)
	}
	if !found {
		t.Errorf("admin log %+v has no admin_reset of %s by %s", logs, a.AdminID, f.Key.IKey)
	}
	if r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins/DEAAAAAAAAAAAAAAAAAA/reset", nil); r.Status != 404 || r.Code != 40401 {
		t.Errorf("reset unknown = %d %d, want 404 40401", r.Status, r.Code)
	}
	reader := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true, WriteResource: true})
	if r := f.Call(reader, http.MethodPost, "/admin/v1/admins/"+a.AdminID+"/reset", nil); r.Status != 403 {
		t.Errorf("reset without adminapi_admins = %d, want 403", r.Status)
	}
	admins := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Admins: true})
	if r := f.Call(admins, http.MethodPost, "/admin/v1/admins/"+owner.AdminID+"/reset", nil); r.Status != 403 {
		t.Errorf("reset an Owner with only adminapi_admins = %d, want 403", r.Status)
	}
	forged := f.Key
	forged.SKey = reader.SKey
	if r := f.Call(forged, http.MethodPost, "/admin/v1/admins/"+a.AdminID+"/reset", nil); r.Status != 401 {
		t.Errorf("forged signature = %d, want 401", r.Status)
	}
}

// TestAdminSendEmail: send_email=1 emails the new administrator a welcome
// naming the role and the host, never the password; without an email
// carrier it is refused and nobody is created.
func TestAdminSendEmail(t *testing.T) {
	f := cheap(newFixture(t))
	r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"new@example.com"}, "role": {"Help Desk"}, "send_email": {"1"}})
	if r.Status != 400 || !strings.Contains(r.MessageDetail, "send_email") {
		t.Errorf("send_email without a carrier = %d %q, want 400 naming send_email", r.Status, r.MessageDetail)
	}
	if n, _ := f.Store.CountAdmins(t.Context()); n != 0 {
		t.Errorf("refused create left %d administrators", n)
	}
	rec := withNotifier(f)
	var a adminJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"new@example.com"}, "role": {"Help Desk"},
		"send_email": {"1"}}), &a)
	msgs := rec.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sent %d messages, want 1 welcome", len(msgs))
	}
	m := msgs[0]
	body := string(m.Body)
	if m.Channel != mfa.ChannelEmail || m.To != "new@example.com" || m.Subject != admin.SubjectAdminWelcome ||
		!strings.Contains(body, "Help Desk") || !strings.Contains(body, f.Host) || a.Password == "" || strings.Contains(body, a.Password) {
		t.Errorf("welcome = %+v %q; want an email to new@example.com naming the role and host, without the password", m, body)
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"quiet@example.com"}, "role": {"Help Desk"},
		"send_email": {"0"}}), nil)
	if r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"x@example.com"}, "role": {"Help Desk"},
		"send_email": {"maybe"}}); r.Status != 400 || !strings.Contains(r.MessageDetail, "send_email") {
		t.Errorf("send_email=maybe = %d %q, want 400 naming it", r.Status, r.MessageDetail)
	}
	if got := len(rec.Messages()); got != 1 {
		t.Errorf("send_email=0 sent mail: %d messages", got)
	}
}

// TestAdminUnsupportedParams: Duo's administrator parameters twostep does
// not implement are refused by name (400/40002) on create and modify, and a
// refused create creates nobody, rather than being silently ignored.
func TestAdminUnsupportedParams(t *testing.T) {
	f := cheap(newFixture(t))
	var a adminJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"a@example.com"}, "role": {"Help Desk"}}), &a)
	before, _, err := f.Store.ListAdmins(t.Context(), mfa.Page{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		give  string
		value string
	}{
		{"phone", "+15555550100"},
		{"token_id", "DHAAAAAAAAAAAAAAAAAA"},
		{"valid_days", "7"},
		{"restricted_by_admin_units", "true"},
		{"admin_units", "DUAAAAAAAAAAAAAAAAAA"},
		{"password_change_required", "true"},
		{"phone", ""},
	}
	for _, tt := range tests {
		create := url.Values{"email": {"new-" + tt.give + "@example.com"}, "role": {"Read-only"}, tt.give: {tt.value}}
		if r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins", create); r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, tt.give) {
			t.Errorf("create with %s=%q = %d %d %q, want 400 40002 naming it", tt.give, tt.value, r.Status, r.Code, r.MessageDetail)
		}
		modify := url.Values{"name": {"Renamed"}, tt.give: {tt.value}}
		if r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins/"+a.AdminID, modify); r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, tt.give) {
			t.Errorf("modify with %s=%q = %d %d %q, want 400 40002 naming it", tt.give, tt.value, r.Status, r.Code, r.MessageDetail)
		}
	}
	after, _, err := f.Store.ListAdmins(t.Context(), mfa.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("refused creates left %d administrators, want %d", len(after), len(before))
	}
	if got, _ := f.Store.GetAdmin(t.Context(), a.AdminID); got.Name == "Renamed" {
		t.Error("a refused modify renamed the administrator")
	}
}
