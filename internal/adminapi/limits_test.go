package adminapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestListLimits: every list endpoint takes limit 1..max (Duo's maxima:
// 300 for users, 500 for the other lists, 1000 for the v2 logs) and
// refuses anything else with 400/40002 naming limit, rather than quietly
// answering a different page size than the caller asked for.
func TestListLimits(t *testing.T) {
	f := newFixture(t)
	u := newUser(t, f, "lim")
	g := createGroup(t, f, url.Values{"name": {"Lim"}})
	logs := url.Values{"mintime": {"0"}, "maxtime": {strconv.FormatInt(time.Now().UnixMilli(), 10)}}
	tests := []struct {
		path  string
		max   int
		extra url.Values
	}{
		{"/admin/v1/users", 300, nil},
		{"/admin/v1/users/" + u + "/phones", 500, nil},
		{"/admin/v1/users/" + u + "/tokens", 500, nil},
		{"/admin/v1/users/" + u + "/groups", 500, nil},
		{"/admin/v1/users/" + u + "/bypass_codes", 500, nil},
		{"/admin/v1/phones", 500, nil},
		{"/admin/v1/tokens", 500, nil},
		{"/admin/v1/bypass_codes", 500, nil},
		{"/admin/v1/groups", 500, nil},
		{"/admin/v2/groups/" + g.GroupID + "/users", 500, nil},
		{"/admin/v1/admins", 500, nil},
		{"/admin/v1/integrations", 500, nil},
		{"/admin/v2/integrations", 500, nil},
		{"/admin/v3/integrations", 500, nil},
		{"/admin/v2/logs/authentication", 1000, logs},
		{"/admin/v2/logs/telephony", 1000, logs},
		{"/admin/v2/logs/activity", 1000, logs},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			limit string
			ok    bool
		}{{"1", true}, {strconv.Itoa(tt.max), true}, {strconv.Itoa(tt.max + 1), false}, {"0", false}, {"-1", false}, {"ten", false}} {
			params := url.Values{"limit": {c.limit}}
			for k, v := range tt.extra {
				params[k] = v
			}
			r := f.Call(f.Key, http.MethodGet, tt.path, params)
			if c.ok && r.Status != 200 {
				t.Errorf("GET %s limit=%s = %d %q, want 200", tt.path, c.limit, r.Status, r.MessageDetail)
			}
			if !c.ok && (r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, "limit")) {
				t.Errorf("GET %s limit=%s = %d %d %q, want 400 40002 naming limit", tt.path, c.limit, r.Status, r.Code, r.MessageDetail)
			}
		}
	}
}
