package adminapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	duoadmin "github.com/duosecurity/duo_api_golang/admin"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func cheap(f *fixture) *fixture {
	f.Svc.SetPasswordHasher(admin.PasswordHasher{Time: 1, Memory: 8 * 1024, Threads: 1})
	return f
}

func TestDuoClientUsersSQLite(t *testing.T) { testDuoClientUsers(t, cheap(newFixture(t))) }
func TestDuoClientUsersPostgres(t *testing.T) {
	testDuoClientUsers(t, cheap(newFixture(t, sqltest.PostgresDSN(t))))
}

func testDuoClientUsers(t *testing.T, f *fixture) {
	duo := f.Duo(f.Key)
	created, err := duo.CreateUser(url.Values{"username": {"jsmith"}, "realname": {"J Smith"}, "email": {"j@example.com"},
		"alias1": {"js"}, "aliases": {"alias2=jsm&alias3=smithj"}})
	if err != nil || created.Stat != "OK" {
		t.Fatalf("CreateUser() = %+v, %v", created, err)
	}
	u := created.Response
	if u.Username != "jsmith" || *u.RealName != "J Smith" || u.Status != "active" || u.Alias1 == nil || *u.Alias1 != "js" ||
		u.Alias2 == nil || *u.Alias2 != "jsm" || !strings.HasPrefix(u.UserID, "DU") {
		t.Errorf("CreateUser() = %+v", u)
	}
	got, err := duo.GetUser(u.UserID)
	if err != nil || got.Response.UserID != u.UserID || got.Response.Email != "j@example.com" {
		t.Errorf("GetUser() = %+v, %v", got, err)
	}
	mod, err := duo.ModifyUser(u.UserID, url.Values{"status": {"bypass"}, "notes": {"vip"}})
	if err != nil || mod.Response.Status != "bypass" || mod.Response.Notes != "vip" || mod.Response.Email != "j@example.com" {
		t.Errorf("ModifyUser() = %+v, %v; want status and notes changed, email kept", mod, err)
	}
	byName, err := duo.GetUsers(duoadmin.GetUsersUsername("JSM"))
	if err != nil || len(byName.Response) != 1 || byName.Response[0].UserID != u.UserID {
		t.Errorf("GetUsers(username=alias) = %+v, %v", byName, err)
	}

	// A phone, associated.
	r := f.Call(f.Key, http.MethodPost, "/admin/v1/phones", url.Values{"number": {"+1 555-555-0100"}, "type": {"Mobile"}, "platform": {"Google Android"}})
	var ph struct {
		PhoneID string `json:"phone_id"`
	}
	f.OK(r, &ph)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users/"+u.UserID+"/phones", url.Values{"phone_id": {ph.PhoneID}}), nil)
	phones, err := duo.GetUserPhones(u.UserID)
	if err != nil || len(phones.Response) != 1 || phones.Response[0].Number != "+15555550100" || phones.Response[0].Type != "Mobile" ||
		phones.Response[0].Platform != "Google Android" {
		t.Errorf("GetUserPhones() = %+v, %v", phones, err)
	}
	allPhones, err := duo.GetPhones(duoadmin.GetPhonesNumber("+15555550100"))
	if err != nil || len(allPhones.Response) != 1 || len(allPhones.Response[0].Users) != 1 || allPhones.Response[0].Users[0].Username != "jsmith" {
		t.Errorf("GetPhones(number) = %+v, %v; want the phone with its user", allPhones, err)
	}
	one, err := duo.GetPhone(ph.PhoneID)
	if err != nil || one.Response.PhoneID != ph.PhoneID || len(one.Response.Capabilities) == 0 {
		t.Errorf("GetPhone() = %+v, %v", one, err)
	}
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v1/users/"+u.UserID+"/phones/"+ph.PhoneID, nil), nil)
	if phones, _ := duo.GetUserPhones(u.UserID); len(phones.Response) != 0 {
		t.Errorf("after disassociate, GetUserPhones() = %+v", phones.Response)
	}
	if res, err := duo.DeletePhone(ph.PhoneID); err != nil || res.Stat != "OK" {
		t.Errorf("DeletePhone() = %+v, %v", res, err)
	}
	if res, _ := duo.GetPhone(ph.PhoneID); res.Stat != "FAIL" || res.Message == nil || *res.Message != "Resource not found" {
		t.Errorf("GetPhone(deleted) = %+v, want 40401", res)
	}

	// 250 users (plus jsmith), paged.
	for i := range 250 {
		if _, err := f.Svc.CreateUser(t.Context(), admin.SystemActor(), admin.UserFields{Username: ref(fmt.Sprintf("user%03d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	offset := uint64(0)
	pages := 0
	for {
		res, err := duo.GetUsers(duoadmin.Limit(100), duoadmin.Offset(offset))
		if err != nil || res.Stat != "OK" {
			t.Fatalf("GetUsers(limit 100, offset %d) = %+v, %v", offset, res, err)
		}
		pages++
		for _, u := range res.Response {
			seen[u.UserID]++
		}
		if res.Metadata.TotalObjects.String() != "251" {
			t.Errorf("total_objects = %s, want 251", res.Metadata.TotalObjects)
		}
		next := res.Metadata.NextOffset.String()
		if next == "" {
			break
		}
		n, _ := strconv.ParseUint(next, 10, 64)
		offset = n
	}
	if len(seen) != 251 || pages != 3 {
		t.Errorf("paging saw %d distinct users in %d pages, want 251 in 3", len(seen), pages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("user %s seen %d times", id, n)
		}
	}
	// Without a limit the client follows next_offset itself.
	all, err := duo.GetUsers()
	if err != nil || len(all.Response) != 251 {
		t.Errorf("GetUsers() = %d users, %v; want 251", len(all.Response), err)
	}

	// username_list and user_id_list as duo_client_python sends them.
	var list []struct {
		UserID string `json:"user_id"`
	}
	ids, _ := json.Marshal([]string{"user001", "user002", "nobody"})
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/users", url.Values{"username_list": {string(ids)}}), &list)
	if len(list) != 2 {
		t.Errorf("username_list matched %d users, want 2", len(list))
	}
	idl, _ := json.Marshal([]string{u.UserID})
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/users", url.Values{"user_id_list": {string(idl)}}), &list)
	if len(list) != 1 || list[0].UserID != u.UserID {
		t.Errorf("user_id_list = %+v", list)
	}

	if res, err := duo.DeleteUser(u.UserID); err != nil || res.Stat != "OK" {
		t.Errorf("DeleteUser() = %+v, %v", res, err)
	}
	if res, _ := duo.GetUser(u.UserID); res.Stat != "FAIL" || res.Message == nil || *res.Message != "Resource not found" {
		t.Errorf("GetUser(deleted) = %+v, want 40401", res)
	}
	// Deleting again does nothing (Duo: "if the user is already deleted, does nothing").
	if res, err := duo.DeleteUser(u.UserID); err != nil || res.Stat != "OK" {
		t.Errorf("DeleteUser(again) = %+v, %v; want OK", res, err)
	}
}

func ref[T any](v T) *T { return &v }

// snapshot is everything a bad request must leave unchanged.
func snapshot(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := t.Context()
	users, _, _ := f.Store.ListUsers(ctx, mfa.UserFilter{})
	phones, _, _ := f.Store.ListPhones(ctx, mfa.PhoneFilter{})
	admins, _, _ := f.Store.ListAdmins(ctx, mfa.Page{})
	ins, _, _ := f.Store.ListIntegrations(ctx, mfa.Page{})
	settings, _ := f.Store.GetSettings(ctx)
	logs, _ := f.Store.ListAdminLog(ctx, mfa.LogFilter{})
	for i := range ins {
		ins[i].SKey = nil
	}
	var links []string
	for _, u := range users {
		ps, _ := f.Store.UserPhones(ctx, u.ID)
		links = append(links, fmt.Sprint(u.ID, len(ps)))
	}
	b, _ := json.Marshal([]any{users, phones, admins, ins, settings, len(logs), links})
	return string(b)
}

func TestBadInput(t *testing.T) {
	f := cheap(newFixture(t))
	ctx := t.Context()
	sys := admin.SystemActor()
	u, _ := f.Svc.CreateUser(ctx, sys, admin.UserFields{Username: ref("taken"), Aliases: map[int]string{1: "alias-taken"}})
	ph, _ := f.Svc.CreatePhone(ctx, sys, admin.PhoneFields{Number: ref("+15555550100")})
	ad, _, _ := f.Svc.CreateAdmin(ctx, sys, admin.AdminFields{Email: ref("owner@example.com"), Role: ref("Owner")})
	const missing = "DXNOSUCHOBJECT000000"
	type V = url.Values
	tests := []struct {
		method, path string
		give         V
		wantStatus   int
		wantDetail   string // prefix of message_detail
	}{
		{"GET", "/admin/v1/users", V{"limit": {"301"}}, 400, "limit"},
		{"GET", "/admin/v1/users", V{"limit": {"x"}}, 400, "limit"},
		{"GET", "/admin/v1/users", V{"offset": {"-1"}}, 400, "offset"},
		{"GET", "/admin/v1/users", V{"username_list": {"[1,2]"}}, 400, "username_list"},
		{"POST", "/admin/v1/users", V{}, 400, "username"},
		{"POST", "/admin/v1/users", V{"username": {"TAKEN"}}, 400, "username"},
		{"POST", "/admin/v1/users", V{"username": {"new"}, "alias1": {"Alias-Taken"}}, 400, "aliases"},
		{"POST", "/admin/v1/users", V{"username": {"new"}, "alias9": {"x"}}, 400, "alias9"},
		{"POST", "/admin/v1/users", V{"username": {"new"}, "aliases": {"alias12=x"}}, 400, "aliases"},
		{"POST", "/admin/v1/users", V{"username": {"new"}, "status": {"locked out"}}, 400, "status"},
		{"POST", "/admin/v1/users", V{"username": {"new"}, "email": {"nope"}}, 400, "email"},
		{"POST", "/admin/v1/users", V{"username": {strings.Repeat("x", 101)}}, 400, "username"},
		{"GET", "/admin/v1/users/" + missing, nil, 404, ""},
		{"POST", "/admin/v1/users/" + missing, V{"notes": {"x"}}, 404, ""},
		{"POST", "/admin/v1/users/" + u.ID, V{"status": {"locked out"}}, 400, "status"},
		{"POST", "/admin/v1/users/" + u.ID, V{"username": {""}}, 400, "username"},
		{"GET", "/admin/v1/users/" + missing + "/phones", nil, 404, ""},
		{"POST", "/admin/v1/users/" + u.ID + "/phones", V{}, 400, "phone_id"},
		{"POST", "/admin/v1/users/" + u.ID + "/phones", V{"phone_id": {missing}}, 400, "phone_id"},
		{"POST", "/admin/v1/users/" + missing + "/phones", V{"phone_id": {ph.ID}}, 404, ""},
		{"DELETE", "/admin/v1/users/" + u.ID + "/phones/" + ph.ID, nil, 404, ""},
		{"GET", "/admin/v1/phones", V{"limit": {"501"}}, 400, "limit"},
		{"GET", "/admin/v1/phones", V{"number": {"abc"}}, 400, "number"},
		{"POST", "/admin/v1/phones", V{"number": {"555-0100"}}, 400, "number"},
		{"POST", "/admin/v1/phones", V{"number": {"+15555550199"}, "extension": {"12x"}}, 400, "extension"},
		{"POST", "/admin/v1/phones", V{"type": {"pager"}}, 400, "type"},
		{"POST", "/admin/v1/phones", V{"platform": {"nokia"}}, 400, "platform"},
		{"GET", "/admin/v1/phones/" + missing, nil, 404, ""},
		{"POST", "/admin/v1/phones/" + missing, V{"name": {"x"}}, 404, ""},
		{"POST", "/admin/v1/phones/" + ph.ID, V{"number": {"+1"}}, 400, "number"},
		{"POST", "/admin/v1/admins", V{"role": {"Owner"}}, 400, "email"},
		{"POST", "/admin/v1/admins", V{"email": {"a@example.com"}}, 400, "role"},
		{"POST", "/admin/v1/admins", V{"email": {"a@example.com"}, "role": {"owner"}}, 400, "role"},
		{"POST", "/admin/v1/admins", V{"email": {"a@example.com"}, "role": {"Owner"}, "password": {"short"}}, 400, "password"},
		{"POST", "/admin/v1/admins", V{"email": {"OWNER@example.com"}, "role": {"Owner"}}, 400, "email"},
		{"GET", "/admin/v1/admins/" + missing, nil, 404, ""},
		{"POST", "/admin/v1/admins/" + missing, V{"name": {"x"}}, 404, ""},
		{"POST", "/admin/v1/admins/" + ad.ID, V{"role": {"Read-only"}}, 400, "role"},
		{"DELETE", "/admin/v1/admins/" + ad.ID, nil, 400, "admin_id"},
		{"POST", "/admin/v1/integrations", V{"type": {"authapi"}}, 400, "name"},
		{"POST", "/admin/v1/integrations", V{"name": {"x"}}, 400, "type"},
		{"POST", "/admin/v2/integrations", V{"name": {"x"}, "type": {"authapi"}, "enroll_policy": {"sometimes"}}, 400, "enroll_policy"},
		{"POST", "/admin/v1/integrations", V{"name": {"x"}, "type": {"adminapi"}, "adminapi_read_log": {"yes"}}, 400, "adminapi_read_log"},
		{"POST", "/admin/v1/integrations", V{"name": {"x"}, "type": {"authapi"}, "trusted_device_days": {"400"}}, 400, "trusted_device_days"},
		{"GET", "/admin/v1/integrations/" + missing, nil, 404, ""},
		{"GET", "/admin/v1/integrations/" + missing + "/skey", nil, 404, ""},
		{"POST", "/admin/v2/integrations/" + missing, V{"name": {"x"}}, 404, ""},
		{"POST", "/admin/v1/integrations/" + f.Key.IKey, V{"type": {"authapi"}}, 400, "type"},
		{"POST", "/admin/v1/integrations/" + f.Key.IKey, V{"adminapi_integrations": {"0"}}, 400, "adminapi_integrations"},
		{"DELETE", "/admin/v1/integrations/" + f.Key.IKey, nil, 400, "integration_key"},
		{"POST", "/admin/v1/settings", V{"sms_batch": {"11"}}, 400, "sms_batch"},
		{"POST", "/admin/v1/settings", V{"sms_batch": {"2"}, "lockout_threshold": {"abc"}}, 400, "lockout_threshold"},
		{"POST", "/admin/v1/settings", V{"lockout_expire_duration": {"3"}}, 400, "lockout_expire_duration"},
		{"POST", "/admin/v1/settings", V{"helpdesk_bypass": {"maybe"}}, 400, "helpdesk_bypass"},
		{"POST", "/admin/v1/settings", V{"sms_refresh": {"perhaps"}}, 400, "sms_refresh"},
		{"POST", "/admin/v1/settings", V{"fraud_email": {"x"}}, 400, "fraud_email"},
		{"GET", "/admin/v2/logs/authentication", V{"maxtime": {"1"}}, 400, "mintime"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"1"}}, 400, "maxtime"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"x"}, "maxtime": {"1"}}, 400, "mintime"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"5"}, "maxtime": {"1"}}, 400, "maxtime"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"1"}, "maxtime": {"2"}, "limit": {"1001"}}, 400, "limit"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"1"}, "maxtime": {"2"}, "sort": {"name"}}, 400, "sort"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"1"}, "maxtime": {"2"}, "next_offset": {"abc"}}, 400, "next_offset"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"1"}, "maxtime": {"2"}, "event_types": {"login"}}, 400, "event_types"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"1"}, "maxtime": {"2"}, "webauthnkey": {"k"}}, 400, "webauthnkey"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"1"}, "maxtime": {"2"}, "phone_numbers": {"12"}}, 400, "phone_numbers"},
		{"GET", "/admin/v2/logs/telephony", V{"maxtime": {"1"}}, 400, "mintime"},
		{"GET", "/admin/v2/logs/telephony", V{"mintime": {"5"}, "maxtime": {"1"}}, 400, "maxtime"},
		{"GET", "/admin/v2/logs/telephony", V{"mintime": {"1"}, "maxtime": {"2"}, "limit": {"1001"}}, 400, "limit"},
		{"GET", "/admin/v2/logs/telephony", V{"mintime": {"1"}, "maxtime": {"2"}, "limit": {"0"}}, 400, "limit"},
		{"GET", "/admin/v2/logs/telephony", V{"mintime": {"1"}, "maxtime": {"2"}, "next_offset": {"1,x"}}, 400, "next_offset"},
		{"GET", "/admin/v2/logs/activity", V{"mintime": {"1"}, "maxtime": {"2"}, "sort": {"ts"}}, 400, "sort"},
		{"GET", "/admin/v2/logs/activity", V{"mintime": {"1"}, "maxtime": {"2"}, "next_offset": {"12"}}, 400, "next_offset"},
		{"GET", "/admin/v1/logs/authentication", V{"mintime": {"yesterday"}}, 400, "mintime"},
		{"GET", "/admin/v1/logs/administrator", V{"mintime": {"-5"}}, 400, "mintime"},
		{"GET", "/admin/v1/logs/telephony", V{"mintime": {"1.5"}}, 400, "mintime"},
	}
	for _, tt := range tests {
		before := snapshot(t, f)
		r := f.Call(f.Key, tt.method, tt.path, tt.give)
		wantCode := 40002
		if tt.wantStatus == 404 {
			wantCode = 40401
		}
		if r.Status != tt.wantStatus || r.Code != wantCode || !strings.HasPrefix(r.MessageDetail, tt.wantDetail) {
			t.Errorf("%s %s %v = %d %d %q, want %d %d %q...", tt.method, tt.path, tt.give, r.Status, r.Code, r.MessageDetail,
				tt.wantStatus, wantCode, tt.wantDetail)
		}
		if after := snapshot(t, f); after != before {
			t.Errorf("%s %s %v changed the database", tt.method, tt.path, tt.give)
		}
	}
}

// TestPermissionFlags calls every endpoint with an Admin API integration
// that has every permission but the one the endpoint needs: 403/40301.
func TestPermissionFlags(t *testing.T) {
	f := cheap(newFixture(t))
	ctx := t.Context()
	sys := admin.SystemActor()
	u, _ := f.Svc.CreateUser(ctx, sys, admin.UserFields{Username: ref("u")})
	ph, _ := f.Svc.CreatePhone(ctx, sys, admin.PhoneFields{})
	ad, _, _ := f.Svc.CreateAdmin(ctx, sys, admin.AdminFields{Email: ref("o@example.com"), Role: ref("Owner")})
	other := f.Integration(mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	without := func(flag string) mfa.AdminPermissions {
		p := mfa.AllAdminPermissions()
		switch flag {
		case "read_resource":
			p.ReadResource = false
		case "write_resource":
			p.WriteResource = false
		case "admins":
			p.Admins = false
		case "integrations":
			p.Integrations = false
		case "settings":
			p.Settings = false
		case "read_log":
			p.ReadLog = false
		}
		return p
	}
	type V = url.Values
	tests := []struct {
		method, path string
		give         V
		flag         string
	}{
		{"GET", "/admin/v1/users", nil, "read_resource"},
		{"GET", "/admin/v1/users/" + u.ID, nil, "read_resource"},
		{"POST", "/admin/v1/users", V{"username": {"n"}}, "write_resource"},
		{"POST", "/admin/v1/users/" + u.ID, V{"notes": {"n"}}, "write_resource"},
		{"DELETE", "/admin/v1/users/" + u.ID, nil, "write_resource"},
		{"GET", "/admin/v1/users/" + u.ID + "/phones", nil, "read_resource"},
		{"POST", "/admin/v1/users/" + u.ID + "/phones", V{"phone_id": {ph.ID}}, "write_resource"},
		{"DELETE", "/admin/v1/users/" + u.ID + "/phones/" + ph.ID, nil, "write_resource"},
		{"GET", "/admin/v1/phones", nil, "read_resource"},
		{"GET", "/admin/v1/phones/" + ph.ID, nil, "read_resource"},
		{"POST", "/admin/v1/phones", V{"name": {"n"}}, "write_resource"},
		{"POST", "/admin/v1/phones/" + ph.ID, V{"name": {"n"}}, "write_resource"},
		{"DELETE", "/admin/v1/phones/" + ph.ID, nil, "write_resource"},
		{"GET", "/admin/v1/admins", nil, "admins"},
		{"GET", "/admin/v1/admins/" + ad.ID, nil, "admins"},
		{"POST", "/admin/v1/admins", V{"email": {"n@example.com"}, "role": {"Owner"}}, "admins"},
		{"POST", "/admin/v1/admins/" + ad.ID, V{"name": {"n"}}, "admins"},
		{"DELETE", "/admin/v1/admins/" + ad.ID, nil, "admins"},
		{"GET", "/admin/v1/integrations", nil, "integrations"},
		{"GET", "/admin/v2/integrations", nil, "integrations"},
		{"GET", "/admin/v1/integrations/" + other.IKey, nil, "integrations"},
		{"GET", "/admin/v2/integrations/" + other.IKey, nil, "integrations"},
		{"GET", "/admin/v1/integrations/" + other.IKey + "/skey", nil, "integrations"},
		{"POST", "/admin/v1/integrations", V{"name": {"n"}, "type": {"authapi"}}, "integrations"},
		{"POST", "/admin/v2/integrations", V{"name": {"n"}, "type": {"authapi"}}, "integrations"},
		{"POST", "/admin/v1/integrations/" + other.IKey, V{"notes": {"n"}}, "integrations"},
		{"POST", "/admin/v2/integrations/" + other.IKey, V{"notes": {"n"}}, "integrations"},
		{"DELETE", "/admin/v1/integrations/" + other.IKey, nil, "integrations"},
		{"DELETE", "/admin/v2/integrations/" + other.IKey, nil, "integrations"},
		{"GET", "/admin/v3/integrations", nil, "integrations"},
		{"GET", "/admin/v3/integrations/" + other.IKey, nil, "integrations"},
		{"POST", "/admin/v3/integrations", V{"name": {"n"}, "type": {"authapi"}}, "integrations"},
		{"POST", "/admin/v3/integrations/" + other.IKey, V{"notes": {"n"}}, "integrations"},
		{"DELETE", "/admin/v3/integrations/" + other.IKey, nil, "integrations"},
		{"GET", "/admin/v1/settings", nil, "settings"},
		{"POST", "/admin/v1/settings", V{"sms_batch": {"3"}}, "settings"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"0"}, "maxtime": {"1"}}, "read_log"},
		{"GET", "/admin/v2/logs/authentication", V{"mintime": {"0"}, "maxtime": {"1"}, "phone_numbers": {"+15555550100"}}, "read_log"},
		{"GET", "/admin/v2/logs/telephony", V{"mintime": {"0"}, "maxtime": {"1"}}, "read_log"},
		{"GET", "/admin/v2/logs/activity", V{"mintime": {"0"}, "maxtime": {"1"}}, "read_log"},
		{"GET", "/admin/v1/logs/authentication", nil, "read_log"},
		{"GET", "/admin/v1/logs/administrator", nil, "read_log"},
		{"GET", "/admin/v1/logs/telephony", nil, "read_log"},
	}
	keys := map[string]mfa.Integration{}
	for _, tt := range tests {
		in, ok := keys[tt.flag]
		if !ok {
			in = f.Integration(mfa.IntegrationAdminAPI, without(tt.flag))
			keys[tt.flag] = in
		}
		before := snapshot(t, f)
		r := f.Call(in, tt.method, tt.path, tt.give)
		if r.Status != 403 || r.Code != 40301 {
			t.Errorf("%s %s without adminapi_%s = %d %d %q, want 403 40301", tt.method, tt.path, tt.flag, r.Status, r.Code, r.MessageDetail)
		}
		if snapshot(t, f) != before {
			t.Errorf("%s %s without adminapi_%s changed the database", tt.method, tt.path, tt.flag)
		}
		// And with the flag, the same call is not refused.
		if r := f.Call(f.Key, tt.method, tt.path, tt.give); r.Status == 403 {
			t.Errorf("%s %s with every permission = 403 %q", tt.method, tt.path, r.MessageDetail)
		}
	}
	// An Auth API integration cannot call the Admin API at all.
	if r := f.Call(f.Integration(mfa.IntegrationAuthAPI, mfa.AllAdminPermissions()), http.MethodGet, "/admin/v1/users", nil); r.Status != 403 || r.Code != 40301 {
		t.Errorf("Auth API key on /admin/v1/users = %d %d, want 403 40301", r.Status, r.Code)
	}
}

func TestAdminLogThroughAPI(t *testing.T) {
	f := cheap(newFixture(t))
	duo := f.Duo(f.Key)
	start := time.Now().Add(-time.Second)
	created, _ := duo.CreateUser(url.Values{"username": {"logme"}})
	_, _ = duo.ModifyUser(created.Response.UserID, url.Values{"realname": {"Log Me"}})
	var ph struct {
		PhoneID string `json:"phone_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones", url.Values{"number": {"+15555550111"}}), &ph)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones/"+ph.PhoneID, url.Values{"name": {"desk"}}), nil)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users/"+created.Response.UserID+"/phones", url.Values{"phone_id": {ph.PhoneID}}), nil)
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v1/users/"+created.Response.UserID+"/phones/"+ph.PhoneID, nil), nil)
	_, _ = duo.DeletePhone(ph.PhoneID)
	var adm struct {
		AdminID  string `json:"admin_id"`
		Password string `json:"password"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"new@example.com"}, "role": {"Help Desk"}}), &adm)
	if len(adm.Password) != 24 {
		t.Errorf("created admin password %q, want 24 generated characters", adm.Password)
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins/"+adm.AdminID, url.Values{"name": {"New"}}), nil)
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v1/admins/"+adm.AdminID, nil), nil)
	var in struct {
		IKey string `json:"integration_key"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v2/integrations", url.Values{"name": {"vpn"}, "type": {"authapi"}}), &in)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v2/integrations/"+in.IKey, url.Values{"notes": {"n"}}), nil)
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v2/integrations/"+in.IKey, nil), nil)
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/settings", url.Values{"sms_batch": {"5"}}), nil)
	_, _ = duo.DeleteUser(created.Response.UserID)
	// Deleting what is gone changes nothing and logs nothing.
	_, _ = duo.DeleteUser(created.Response.UserID)

	res, err := duo.GetAdminLogs(start)
	if err != nil || res.Stat != "OK" {
		t.Fatalf("GetAdminLogs() = %+v, %v", res, err)
	}
	var actions []string
	for _, e := range res.Logs {
		actions = append(actions, e["action"].(string))
		if e["username"] != f.Key.IKey {
			t.Errorf("log record %v does not name the calling integration %s", e, f.Key.IKey)
		}
		if _, err := e.Timestamp(); err != nil {
			t.Errorf("log record %v: %v", e, err)
		}
		if strings.Contains(fmt.Sprint(e), adm.Password) {
			t.Errorf("log record %v holds the generated password", e)
		}
	}
	want := "user_create,user_update,phone_create,phone_update,user_phone_associate,user_phone_disassociate,phone_delete," +
		"admin_create,admin_update,admin_delete,integration_create,integration_update,integration_delete,customer_update,user_delete"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("admin log actions =\n %s\nwant\n %s", got, want)
	}
}

func TestIntegrationSecrets(t *testing.T) {
	f := cheap(newFixture(t))
	var created map[string]any
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/integrations", url.Values{"name": {"siem"}, "type": {"adminapi"},
		"adminapi_read_log": {"1"}, "adminapi_info": {"true"}}), &created)
	skey, _ := created["secret_key"].(string)
	ikey, _ := created["integration_key"].(string)
	if len(skey) != 40 || len(ikey) != 20 || created["adminapi_read_log"] != float64(1) || created["adminapi_admins"] != float64(0) ||
		created["enroll_policy"] != "enroll" {
		t.Fatalf("create response = %v", created)
	}
	check := func(what string, r Response) {
		t.Helper()
		f.OK(r, nil)
		if strings.Contains(string(r.Response), skey) || strings.Contains(string(r.Response), "secret_key") {
			t.Errorf("%s shows the secret key: %s", what, r.Response)
		}
	}
	check("GET v1 list", f.Call(f.Key, http.MethodGet, "/admin/v1/integrations", nil))
	check("GET v2 list", f.Call(f.Key, http.MethodGet, "/admin/v2/integrations", nil))
	check("GET v1", f.Call(f.Key, http.MethodGet, "/admin/v1/integrations/"+ikey, nil))
	check("GET v2", f.Call(f.Key, http.MethodGet, "/admin/v2/integrations/"+ikey, nil))
	check("modify", f.Call(f.Key, http.MethodPost, "/admin/v1/integrations/"+ikey, url.Values{"greeting": {"hi"}}))
	var sk map[string]any
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/integrations/"+ikey+"/skey", nil), &sk)
	if sk["secret_key"] != skey {
		t.Errorf("skey endpoint = %v, want the secret", sk)
	}
	logs, _ := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	for _, e := range logs {
		if strings.Contains(e.Description, skey) || strings.Contains(e.Object, skey) {
			t.Errorf("admin log record %s holds the secret", e.Action)
		}
	}
	// The new key works with Duo's client, with the permissions it was given.
	in, err := f.Store.GetIntegration(t.Context(), ikey)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.Duo(in).GetAdminLogs(time.Unix(0, 0)); err != nil || res.Stat != "OK" {
		t.Errorf("the new key reading logs = %+v, %v", res, err)
	}
	if r := f.Call(in, http.MethodGet, "/admin/v1/users", nil); r.Status != 403 {
		t.Errorf("the new key reading users = %d, want 403", r.Status)
	}
}

func TestSettingsAPI(t *testing.T) {
	f := cheap(newFixture(t))
	var s map[string]any
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/settings", nil), &s)
	if s["lockout_threshold"] != float64(10) || s["sms_batch"] != float64(10) || s["helpdesk_bypass"] != "allow" {
		t.Errorf("GET settings = %v", s)
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/settings", url.Values{"lockout_threshold": {"3"}, "sms_expiration": {""},
		"sms_refresh": {"1"}, "push_timeout_seconds": {"90"}}), &s)
	if s["lockout_threshold"] != float64(3) || s["sms_refresh"] != true || s["push_timeout_seconds"] != float64(90) || s["sms_batch"] != float64(10) {
		t.Errorf("POST settings = %v", s)
	}
	got, _ := f.Store.GetSettings(t.Context())
	if got.LockoutThreshold != 3 || got.PushTimeout != 90*time.Second || !got.SMSRefresh {
		t.Errorf("stored settings = %+v", got)
	}
	// twostep's push settings.
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/settings", url.Values{"verified_push": {"true"},
		"verified_push_digits": {"4"}, "push_mute_minutes": {"0"}, "trusted_device_max_days": {"30"}}), &s)
	if s["verified_push"] != true || s["verified_push_digits"] != float64(4) || s["push_mute_minutes"] != float64(0) ||
		s["trusted_device_max_days"] != float64(30) {
		t.Errorf("POST push settings = %v", s)
	}
	got, _ = f.Store.GetSettings(t.Context())
	if !got.VerifiedPush || got.VerifiedPushDigits != 4 || got.PushMuteAfterFraud != 0 || got.TrustedDeviceMaxDays != 30 {
		t.Errorf("stored push settings = %+v", got)
	}
	// Daily telephony caps (twostep extensions; the user cap is on by default).
	if s["telephony_daily_user_limit"] != float64(20) || s["telephony_daily_limit"] != float64(0) {
		t.Errorf("default telephony caps = %v, %v; want 20, 0", s["telephony_daily_user_limit"], s["telephony_daily_limit"])
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/settings", url.Values{"telephony_daily_user_limit": {"5"},
		"telephony_daily_limit": {"500"}}), &s)
	got, _ = f.Store.GetSettings(t.Context())
	if s["telephony_daily_user_limit"] != float64(5) || s["telephony_daily_limit"] != float64(500) ||
		got.TelephonyDailyUserLimit != 5 || got.TelephonyDailyLimit != 500 {
		t.Errorf("POST telephony caps = %v; stored %+v", s, got)
	}
	for _, bad := range []url.Values{{"verified_push_digits": {"2"}}, {"verified_push_digits": {"7"}},
		{"push_mute_minutes": {"-1"}}, {"push_mute_minutes": {"1441"}}, {"trusted_device_max_days": {"0"}},
		{"verified_push": {"maybe"}}, {"telephony_daily_user_limit": {"-1"}}, {"telephony_daily_limit": {"1000001"}},
		{"telephony_daily_limit": {"lots"}}} {
		r := f.Call(f.Key, http.MethodPost, "/admin/v1/settings", bad)
		for name := range bad {
			if r.Status != 400 || r.Code != 40002 || !strings.HasPrefix(r.MessageDetail, name) {
				t.Errorf("POST settings %v = %d %d %q, want 400 naming %s", bad, r.Status, r.Code, r.MessageDetail, name)
			}
		}
	}
}
