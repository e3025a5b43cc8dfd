package adminapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestInfo: the account information endpoints count what the store
// holds, within mintime/maxtime (seconds, inclusive), and need
// adminapi_info.
func TestInfo(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	newUser(t, f, "alice")
	newUser(t, f, "bob")
	f.Integration(mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	now := time.Now().Truncate(time.Second)
	old := now.Add(-40 * 24 * time.Hour) // outside the default 30 days
	for i, c := range []struct {
		at      time.Time
		credits int
	}{{now.Add(-time.Hour), 1}, {now.Add(-2 * time.Hour), 2}, {old, 5}} {
		if _, err := f.Store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: c.at, Type: "sms",
			Context: "authentication", Phone: "+1555555010" + strconv.Itoa(i), Credits: c.credits}); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range []struct {
		user   string
		result mfa.AuthResult
		event  string
		at     time.Time
	}{
		{"DUA", mfa.ResultSuccess, "authentication", now.Add(-time.Minute)},
		{"DUA", mfa.ResultSuccess, "authentication", now.Add(-2 * time.Minute)},
		{"DUB", mfa.ResultSuccess, "authentication", now.Add(-3 * time.Minute)},
		{"DUA", mfa.ResultFailure, "authentication", now.Add(-4 * time.Minute)},
		{"DUA", mfa.ResultDenied, "authentication", now.Add(-5 * time.Minute)},
		{"DUB", mfa.ResultFraud, "authentication", now.Add(-6 * time.Minute)},
		{"DUB", mfa.ResultError, "authentication", now.Add(-7 * time.Minute)},
		{"DUB", mfa.ResultSuccess, "enrollment", now.Add(-8 * time.Minute)},
		{"DUC", mfa.ResultSuccess, "authentication", old},
	} {
		if err := f.Store.AppendAuthLog(ctx, mfa.AuthLogEntry{TxID: "tx" + strconv.Itoa(i), Time: a.at, EventType: a.event,
			UserID: a.user, Username: a.user, Result: a.result}); err != nil {
			t.Fatal(err)
		}
	}

	get := func(path string, v url.Values) Response {
		t.Helper()
		r := f.Call(f.Key, http.MethodGet, path, v)
		f.OK(r, nil)
		return r
	}
	var sum map[string]any
	r := get("/admin/v1/info/summary", nil)
	f.OK(r, &sum)
	golden(t, "info_summary", r.Response)
	// the fixture's key, the Auth API one; alice and bob; no administrators.
	if sum["user_count"] != 2.0 || sum["integration_count"] != 2.0 || sum["admin_count"] != 0.0 {
		t.Errorf("summary = %v", sum)
	}

	var tc struct {
		Used    int   `json:"telephony_credits_used"`
		MinTime int64 `json:"mintime"`
		MaxTime int64 `json:"maxtime"`
	}
	r = get("/admin/v1/info/telephony_credits_used", nil)
	f.OK(r, &tc)
	golden(t, "info_telephony_credits_used", r.Response)
	if tc.Used != 3 || tc.MaxTime-tc.MinTime != 30*24*3600 {
		t.Errorf("telephony_credits_used (last 30 days) = %+v, want 3", tc)
	}
	s := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	f.OK(get("/admin/v1/info/telephony_credits_used", url.Values{"mintime": {s(old)}, "maxtime": {s(now)}}), &tc)
	if tc.Used != 8 || tc.MinTime != old.Unix() {
		t.Errorf("telephony_credits_used (since %d) = %+v, want 8", old.Unix(), tc)
	}

	var aa struct {
		Attempts map[string]int `json:"authentication_attempts"`
	}
	r = get("/admin/v1/info/authentication_attempts", nil)
	f.OK(r, &aa)
	golden(t, "info_authentication_attempts", r.Response)
	if diff := cmp.Diff(map[string]int{"SUCCESS": 3, "FAILURE": 2, "FRAUD": 1, "ERROR": 1}, aa.Attempts); diff != "" {
		t.Errorf("authentication_attempts (-want +got):\n%s", diff)
	}
	var ua struct {
		Users map[string]int `json:"user_authentication_attempts"`
	}
	r = get("/admin/v1/info/user_authentication_attempts", url.Values{"mintime": {s(old)}})
	f.OK(r, &ua)
	golden(t, "info_user_authentication_attempts", r.Response)
	if diff := cmp.Diff(map[string]int{"SUCCESS": 3, "FAILURE": 1, "FRAUD": 1, "ERROR": 1}, ua.Users); diff != "" {
		t.Errorf("user_authentication_attempts (-want +got):\n%s", diff)
	}

	// adminapi_info is needed; bad windows are refused by name.
	noInfo := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadLog: true, ReadResource: true})
	info := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Info: true})
	for _, p := range []string{"summary", "telephony_credits_used", "authentication_attempts", "user_authentication_attempts"} {
		if r := f.Call(noInfo, http.MethodGet, "/admin/v1/info/"+p, nil); r.Status != 403 || r.Code != 40301 {
			t.Errorf("%s without adminapi_info = %d %d, want 403 40301", p, r.Status, r.Code)
		}
		f.OK(f.Call(info, http.MethodGet, "/admin/v1/info/"+p, nil), nil)
		for _, bad := range []struct {
			v    url.Values
			name string
		}{
			{url.Values{"mintime": {"x"}}, "mintime"},
			{url.Values{"maxtime": {"-1"}}, "maxtime"},
			{url.Values{"mintime": {s(now)}, "maxtime": {s(old)}}, "maxtime"},
		} {
			if p == "summary" {
				continue
			}
			if r := f.Call(info, http.MethodGet, "/admin/v1/info/"+p, bad.v); r.Status != 400 || r.Code != 40002 ||
				len(r.MessageDetail) < len(bad.name) || r.MessageDetail[:len(bad.name)] != bad.name {
				t.Errorf("%s %v = %d %q, want 400 naming %s", p, bad.v, r.Status, r.MessageDetail, bad.name)
			}
		}
	}
}
