package adminapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

type adminActivationJSON struct {
	ID        string `json:"admin_activation_id"`
	Role      string `json:"admin_role"`
	Code      string `json:"code"`
	Email     string `json:"email"`
	Link      string `json:"link"`
	ValidDays int    `json:"valid_days"`
}

// TestAdminActivations: POST /admin/v1/admins/activations makes a link
// (default role Read-only, 7 days), GET lists the pending ones without
// their codes, DELETE withdraws one; refusals name the parameter; each
// change is in the administrator log; shapes pinned by golden files.
func TestAdminActivations(t *testing.T) {
	f := cheap(newFixture(t))
	admin.WithPublicHost(f.Host)(f.Svc)
	var def adminActivationJSON
	status, body := f.Raw(f.Key, http.MethodPost, "/admin/v1/admins/activations", url.Values{"email": {"ro@example.com"}})
	if status != 200 {
		t.Fatalf("create = %d %s", status, body)
	}
	golden(t, "admin_activation_create", body)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins/activations", url.Values{"email": {"ro2@example.com"}}), &def)
	if def.Role != "Read-only" || def.ValidDays != 7 || def.Link != "https://"+f.Host+admin.AdminActivationPath+def.Code || len(def.Code) != 20 {
		t.Errorf("default activation = %+v, want Read-only for 7 days with its link", def)
	}
	var hd adminActivationJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins/activations", url.Values{"email": {"hd@example.com"},
		"admin_role": {"Help Desk"}, "valid_days": {"31"}, "send_email": {"False"}}), &hd)
	if hd.Role != "Help Desk" || hd.ValidDays != 31 {
		t.Errorf("activation = %+v, want Help Desk for 31 days", hd)
	}
	_, body = f.Raw(f.Key, http.MethodGet, "/admin/v1/admins/activations", nil)
	golden(t, "admin_activations_list", body)
	var list []map[string]any
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/admins/activations", url.Values{"limit": {"2"}}), &list)
	if len(list) != 2 {
		t.Errorf("listed %d, want 2 (limit)", len(list))
	}
	for _, a := range list {
		if _, ok := a["code"]; ok {
			t.Errorf("listed activation %v shows its code", a)
		}
	}
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v1/admins/activations/"+hd.ID, nil), nil)
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v1/admins/activations/"+hd.ID, nil), nil) // gone: OK, as Duo's deletes
	if _, err := f.Svc.AdminActivationByCode(t.Context(), hd.Code); err == nil {
		t.Errorf("a withdrawn link still works")
	}

	existing := f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"taken@example.com"}, "role": {"Read-only"}})
	f.OK(existing, nil)
	tests := []struct {
		name   string
		give   url.Values
		status int
		detail string
	}{
		{"no email", url.Values{"admin_role": {"Help Desk"}}, 400, "email"},
		{"bad email", url.Values{"email": {"not an address"}}, 400, "email"},
		{"bad role", url.Values{"email": {"x@example.com"}, "admin_role": {"help desk"}}, 400, "admin_role"},
		{"zero days", url.Values{"email": {"x@example.com"}, "valid_days": {"0"}}, 400, "valid_days"},
		{"too many days", url.Values{"email": {"x@example.com"}, "valid_days": {"32"}}, 400, "valid_days"},
		{"bad send_email", url.Values{"email": {"x@example.com"}, "send_email": {"maybe"}}, 400, "send_email"},
		{"no carrier", url.Values{"email": {"x@example.com"}, "send_email": {"1"}}, 400, "send_email"},
		{"already an administrator", url.Values{"email": {"Taken@Example.com"}}, 400, "email: an administrator with this email already exists"},
	}
	for _, tt := range tests {
		r := f.Call(f.Key, http.MethodPost, "/admin/v1/admins/activations", tt.give)
		if r.Status != tt.status || !strings.Contains(r.MessageDetail, tt.detail) {
			t.Errorf("%s: = %d %q, want %d naming %s", tt.name, r.Status, r.MessageDetail, tt.status, tt.detail)
		}
	}
	logs, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, l := range logs {
		counts[l.Action]++
		if strings.Contains(l.Description, def.Code) || strings.Contains(l.Description, hd.Code) {
			t.Errorf("admin log record holds an activation code: %+v", l)
		}
	}
	if counts["admin_activation_create"] != 3 || counts["admin_activation_delete"] != 1 {
		t.Errorf("admin log actions = %v, want 3 creates and 1 delete", counts)
	}
}

// TestAdminActivationRoles: inviting needs the administrators permission,
// and nobody invites a role that could do more than they can: a key with
// only adminapi_admins can invite nobody (every role reads users), one
// that can do what Help Desk does invites Help Desk but not an
// Administrator. Refusals create nothing.
func TestAdminActivationRoles(t *testing.T) {
	f := cheap(newFixture(t))
	admin.WithPublicHost(f.Host)(f.Svc)
	reader := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true, WriteResource: true})
	admins := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Admins: true})
	helpDesk := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Admins: true, ReadResource: true, WriteResource: true, ReadLog: true})
	tests := []struct {
		name   string
		key    mfa.Integration
		method string
		path   string
		give   url.Values
		status int
	}{
		{"no admins permission creates", reader, "POST", "/admin/v1/admins/activations", url.Values{"email": {"a@example.com"}}, 403},
		{"no admins permission lists", reader, "GET", "/admin/v1/admins/activations", nil, 403},
		{"admins key invites an Owner", admins, "POST", "/admin/v1/admins/activations", url.Values{"email": {"b@example.com"}, "admin_role": {"Owner"}}, 403},
		{"admins-only key invites Read-only", admins, "POST", "/admin/v1/admins/activations", url.Values{"email": {"c@example.com"}, "admin_role": {"Read-only"}}, 403},
		{"help-desk key invites an Administrator", helpDesk, "POST", "/admin/v1/admins/activations", url.Values{"email": {"d@example.com"}, "admin_role": {"Administrator"}}, 403},
		{"help-desk key invites Help Desk", helpDesk, "POST", "/admin/v1/admins/activations", url.Values{"email": {"e@example.com"}, "admin_role": {"Help Desk"}}, 200},
	}
	for _, tt := range tests {
		r := f.Call(tt.key, tt.method, tt.path, tt.give)
		if r.Status != tt.status {
			t.Errorf("%s: = %d %s %q, want %d", tt.name, r.Status, r.Message, r.MessageDetail, tt.status)
		}
	}
	list, _, err := f.Store.ListAdminActivations(t.Context(), time.Now(), mfa.Page{})
	if err != nil || len(list) != 1 || list[0].Email != "e@example.com" {
		t.Errorf("stored activations = %+v, %v; want only e@example.com's", list, err)
	}
}
