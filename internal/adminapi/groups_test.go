package adminapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// groupJSON is the group object as a client decodes it.
type groupJSON struct {
	GroupID string `json:"group_id"`
	Name    string `json:"name"`
	Desc    string `json:"desc"`
	Status  string `json:"status"`
}

func createGroup(t *testing.T, f *fixture, params url.Values) groupJSON {
	t.Helper()
	var g groupJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/groups", params), &g)
	return g
}

// TestGroupsDuoClient drives every group call of duo_api_golang's admin
// package (GetGroups, GetGroup, GetUserGroups, AssociateGroupWithUser,
// DisassociateGroupFromUser) and the groups of its user objects.
func TestGroupsDuoClient(t *testing.T) {
	f := newFixture(t)
	duo := f.Duo(f.Key)
	g1 := createGroup(t, f, url.Values{"name": {"Staff"}, "desc": {"everyone"}})
	g2 := createGroup(t, f, url.Values{"name": {"Contractors"}, "status": {"bypass"}})
	u := newUser(t, f, "alice")

	if res, err := duo.AssociateGroupWithUser(u, g1.GroupID); err != nil || res.Stat != "OK" {
		t.Fatalf("AssociateGroupWithUser() = %+v, %v; want OK", res, err)
	}
	if res, err := duo.AssociateGroupWithUser(u, g2.GroupID); err != nil || res.Stat != "OK" {
		t.Fatalf("AssociateGroupWithUser() = %+v, %v; want OK", res, err)
	}
	all, err := duo.GetGroups()
	if err != nil || all.Stat != "OK" {
		t.Fatalf("GetGroups() = %+v, %v", all, err)
	}
	var names []string
	for _, g := range all.Response {
		names = append(names, g.Name+"/"+g.Status)
	}
	if diff := cmp.Diff([]string{"Staff/active", "Contractors/bypass"}, names); diff != "" {
		t.Errorf("GetGroups() names mismatch (-want +got):\n%s", diff)
	}
	one, err := duo.GetGroup(g2.GroupID)
	if err != nil || one.Stat != "OK" || one.Response.Name != "Contractors" || one.Response.GroupID != g2.GroupID ||
		!one.Response.PushEnabled {
		t.Errorf("GetGroup(%s) = %+v, %v", g2.GroupID, one, err)
	}
	ug, err := duo.GetUserGroups(u)
	if err != nil || len(ug.Response) != 2 {
		t.Fatalf("GetUserGroups() = %+v, %v; want 2 groups", ug, err)
	}
	user, err := duo.GetUser(u)
	if err != nil || len(user.Response.Groups) != 2 || user.Response.Groups[0].GroupID != g1.GroupID {
		t.Errorf("GetUser().Groups = %+v, %v; want [Staff Contractors]", user.Response.Groups, err)
	}
	if res, err := duo.DisassociateGroupFromUser(u, g1.GroupID); err != nil || res.Stat != "OK" {
		t.Fatalf("DisassociateGroupFromUser() = %+v, %v", res, err)
	}
	ug, err = duo.GetUserGroups(u)
	if err != nil || len(ug.Response) != 1 || ug.Response[0].GroupID != g2.GroupID {
		t.Errorf("GetUserGroups() after disassociation = %+v, %v; want [Contractors]", ug.Response, err)
	}
	// Paging through the client's limit/offset loop.
	for i := range 3 {
		createGroup(t, f, url.Values{"name": {"extra " + string(rune('a'+i))}})
	}
	paged, err := duo.GetGroups(func(v *url.Values) { v.Set("limit", "2") })
	if err != nil || len(paged.Response) != 2 || paged.Metadata.NextOffset != "2" || paged.Metadata.TotalObjects != "5" {
		t.Errorf("GetGroups(limit 2) = %d groups, metadata %+v, %v; want 2, next_offset 2, total 5",
			len(paged.Response), paged.Metadata, err)
	}
}

// newUser creates a user through the API and returns its id.
func newUser(t *testing.T, f *fixture, name string) string {
	t.Helper()
	var u struct {
		UserID string `json:"user_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users", url.Values{"username": {name}}), &u)
	return u.UserID
}

func TestGroupLifecycle(t *testing.T) {
	f := newFixture(t)
	g := createGroup(t, f, url.Values{"name": {"Ops"}, "desc": {"on call"}, "push_enabled": {"1"}})
	if g.Status != "active" || g.Desc != "on call" {
		t.Errorf("created group = %+v, want status active, desc %q", g, "on call")
	}
	var mod groupJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/groups/"+g.GroupID, url.Values{"status": {"disabled"}, "name": {"Ops 2"}}), &mod)
	if mod.Status != "disabled" || mod.Name != "Ops 2" || mod.Desc != "on call" {
		t.Errorf("modified group = %+v, want Ops 2, disabled, desc kept", mod)
	}
	u := newUser(t, f, "bob")
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users/"+u+"/groups", url.Values{"group_id": {g.GroupID}}), nil)
	var members []struct {
		UserID   string `json:"user_id"`
		Username string `json:"username"`
	}
	r := f.Call(f.Key, http.MethodGet, "/admin/v2/groups/"+g.GroupID+"/users", nil)
	f.OK(r, &members)
	if len(members) != 1 || members[0].Username != "bob" {
		t.Errorf("group users = %+v, want [bob]", members)
	}
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v1/groups/"+g.GroupID, nil), nil)
	f.OK(f.Call(f.Key, http.MethodDelete, "/admin/v1/groups/"+g.GroupID, nil), nil) // already gone: OK, as Duo
	if r := f.Call(f.Key, http.MethodGet, "/admin/v2/groups/"+g.GroupID, nil); r.Status != 404 || r.Code != 40401 {
		t.Errorf("GET deleted group = %d %d, want 404 40401", r.Status, r.Code)
	}
	// The admin log holds every change.
	entries, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "group_") {
			actions = append(actions, e.Action)
		}
	}
	want := []string{"group_create", "group_update", "group_member_add", "group_delete"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("admin log group actions mismatch (-want +got):\n%s", diff)
	}
}

func TestGroupBadInput(t *testing.T) {
	f := newFixture(t)
	g := createGroup(t, f, url.Values{"name": {"Taken"}})
	u := newUser(t, f, "carol")
	tests := []struct {
		name       string
		method     string
		path       string
		give       url.Values
		wantStatus int
		wantCode   int
		wantDetail string
	}{
		{"no name", "POST", "/admin/v1/groups", url.Values{"desc": {"x"}}, 400, 40002, "name"},
		{"blank name", "POST", "/admin/v1/groups", url.Values{"name": {"  "}}, 400, 40002, "name"},
		{"long name", "POST", "/admin/v1/groups", url.Values{"name": {strings.Repeat("n", 300)}}, 400, 40002, "name"},
		{"control chars", "POST", "/admin/v1/groups", url.Values{"name": {"a\x00b"}}, 400, 40002, "name"},
		{"bad status", "POST", "/admin/v1/groups", url.Values{"name": {"x"}, "status": {"locked out"}}, 400, 40002, "status"},
		{"factor restriction", "POST", "/admin/v1/groups", url.Values{"name": {"x"}, "sms_enabled": {"0"}}, 400, 40002, "sms_enabled"},
		{"bad bool", "POST", "/admin/v1/groups", url.Values{"name": {"x"}, "push_enabled": {"maybe"}}, 400, 40002, "push_enabled"},
		{"taken name", "POST", "/admin/v1/groups", url.Values{"name": {"TAKEN"}}, 400, 40002, "name"},
		{"limit too big", "GET", "/admin/v1/groups", url.Values{"limit": {"501"}}, 400, 40002, "limit"},
		{"negative offset", "GET", "/admin/v1/groups", url.Values{"offset": {"-1"}}, 400, 40002, "offset"},
		{"unknown group", "GET", "/admin/v2/groups/DG000000000000000000", nil, 404, 40401, ""},
		{"unknown group users", "GET", "/admin/v2/groups/DG000000000000000000/users", nil, 404, 40401, ""},
		{"modify unknown", "POST", "/admin/v1/groups/DG000000000000000000", url.Values{"name": {"y"}}, 404, 40401, ""},
		{"add: no group_id", "POST", "/admin/v1/users/" + u + "/groups", nil, 400, 40002, "group_id"},
		{"add: unknown group", "POST", "/admin/v1/users/" + u + "/groups", url.Values{"group_id": {"DG000000000000000000"}}, 404, 40401, ""},
		{"add: unknown user", "POST", "/admin/v1/users/DU000000000000000000/groups", url.Values{"group_id": {g.GroupID}}, 404, 40401, ""},
		{"remove: not a member", "DELETE", "/admin/v1/users/" + u + "/groups/" + g.GroupID, nil, 404, 40401, ""},
		{"user groups: unknown user", "GET", "/admin/v1/users/DU000000000000000000/groups", nil, 404, 40401, ""},
		{"repeated name", "POST", "/admin/v1/groups", url.Values{"name": {"a", "b"}}, 400, 40002, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.Call(f.Key, tt.method, tt.path, tt.give)
			if r.Status != tt.wantStatus || r.Code != tt.wantCode || !strings.Contains(r.MessageDetail, tt.wantDetail) {
				t.Errorf("%s %s = %d %d %q, want %d %d detail containing %q", tt.method, tt.path,
					r.Status, r.Code, r.MessageDetail, tt.wantStatus, tt.wantCode, tt.wantDetail)
			}
		})
	}
}

// TestGroupPermissions: reading needs adminapi_read_resource, changing
// groups and memberships adminapi_write_resource; a bad signature is 401.
func TestGroupPermissions(t *testing.T) {
	f := newFixture(t)
	g := createGroup(t, f, url.Values{"name": {"G"}})
	u := newUser(t, f, "dave")
	reader := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true})
	logs := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadLog: true})
	tests := []struct {
		name   string
		key    mfa.Integration
		method string
		path   string
		give   url.Values
		want   int
	}{
		{"reader lists", reader, "GET", "/admin/v1/groups", nil, 200},
		{"reader gets", reader, "GET", "/admin/v2/groups/" + g.GroupID, nil, 200},
		{"reader creates", reader, "POST", "/admin/v1/groups", url.Values{"name": {"x"}}, 403},
		{"reader modifies", reader, "POST", "/admin/v1/groups/" + g.GroupID, url.Values{"status": {"bypass"}}, 403},
		{"reader deletes", reader, "DELETE", "/admin/v1/groups/" + g.GroupID, nil, 403},
		{"reader adds member", reader, "POST", "/admin/v1/users/" + u + "/groups", url.Values{"group_id": {g.GroupID}}, 403},
		{"log reader lists", logs, "GET", "/admin/v1/groups", nil, 403},
		{"log reader lists members", logs, "GET", "/admin/v2/groups/" + g.GroupID + "/users", nil, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := f.Call(tt.key, tt.method, tt.path, tt.give); r.Status != tt.want {
				t.Errorf("%s %s = %d %d %s, want %d", tt.method, tt.path, r.Status, r.Code, r.Message, tt.want)
			}
		})
	}
	// The group is unchanged by the refused requests.
	got, err := f.Store.GetGroup(t.Context(), g.GroupID)
	if err != nil || got.Status != mfa.GroupActive {
		t.Errorf("group after refused writes = %+v, %v; want active", got, err)
	}
	// A request signed with another key's secret is refused.
	forged := reader
	forged.SKey = f.Key.SKey
	if r := f.Call(forged, "GET", "/admin/v1/groups", nil); r.Status != 401 {
		t.Errorf("forged signature = %d, want 401", r.Status)
	}
}

func TestGroupGolden(t *testing.T) {
	f := newFixture(t)
	g := createGroup(t, f, url.Values{"name": {"Golden"}, "desc": {"shape"}, "status": {"bypass"}})
	u := newUser(t, f, "erin")
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users/"+u+"/groups", url.Values{"group_id": {g.GroupID}}), nil)
	for _, c := range []struct{ name, path string }{
		{"groups_list", "/admin/v1/groups"},
		{"group_v2", "/admin/v2/groups/" + g.GroupID},
		{"group_v1", "/admin/v1/groups/" + g.GroupID},
		{"group_users", "/admin/v2/groups/" + g.GroupID + "/users"},
		{"user_groups", "/admin/v1/users/" + u + "/groups"},
		{"user_with_groups", "/admin/v1/users/" + u},
	} {
		_, body := f.Raw(f.Key, http.MethodGet, c.path, nil)
		golden(t, c.name, body)
	}
}

// TestAuthLogGroupsFilter: the v2 authentication log's groups filter keeps
// the records of the groups' members (and, with users, of those among
// them); it needs adminapi_read_log only. Each record's user.groups names
// the user's groups (none for bob).
func TestAuthLogGroupsFilter(t *testing.T) {
	f := newFixture(t)
	g := createGroup(t, f, url.Values{"name": {"VPN"}})
	empty := createGroup(t, f, url.Values{"name": {"Empty"}})
	alice, bob := newUser(t, f, "alice"), newUser(t, f, "bob")
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users/"+alice+"/groups", url.Values{"group_id": {g.GroupID}}), nil)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i, u := range []string{alice, bob, alice} {
		if err := f.Store.AppendAuthLog(t.Context(), mfa.AuthLogEntry{TxID: fmt.Sprintf("tx-%d", i), Time: base.Add(time.Duration(i) * time.Second),
			EventType: "authentication", UserID: u, IKey: "DIAPP", Factor: "passcode", Result: mfa.ResultSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	logs := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadLog: true})
	window := url.Values{"mintime": {fmt.Sprint(base.Add(-time.Minute).UnixMilli())}, "maxtime": {fmt.Sprint(time.Now().Add(time.Minute).UnixMilli())}}
	tests := []struct {
		name string
		give url.Values
		want []string
		code int
	}{
		{"group", url.Values{"groups": {g.GroupID}}, []string{"tx-2", "tx-0"}, 0},
		{"group and other user", url.Values{"groups": {g.GroupID}, "users": {bob}}, []string{}, 0},
		{"group and member", url.Values{"groups": {g.GroupID}, "users": {alice}}, []string{"tx-2", "tx-0"}, 0},
		{"empty group", url.Values{"groups": {empty.GroupID}}, []string{}, 0},
		{"no filter", url.Values{}, []string{"tx-2", "tx-1", "tx-0"}, 0},
		{"unknown group", url.Values{"groups": {"DG000000000000000000"}}, nil, 40401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := url.Values{}
			for k, v := range window {
				params[k] = v
			}
			for k, v := range tt.give {
				params[k] = v
			}
			r := f.Call(logs, http.MethodGet, "/admin/v2/logs/authentication", params)
			if tt.code != 0 {
				if r.Code != tt.code {
					t.Errorf("code = %d %s, want %d", r.Code, r.Message, tt.code)
				}
				return
			}
			var page struct {
				AuthLogs []struct {
					TxID string `json:"txid"`
					User struct {
						Key    string   `json:"key"`
						Groups []string `json:"groups"`
					} `json:"user"`
				} `json:"authlogs"`
			}
			f.OK(r, &page)
			got := []string{}
			for _, l := range page.AuthLogs {
				got = append(got, l.TxID)
				want := []string{}
				if l.User.Key == alice {
					want = []string{"VPN"}
				}
				if diff := cmp.Diff(want, l.User.Groups); diff != "" {
					t.Errorf("%s user.groups mismatch (-want +got):\n%s", l.TxID, diff)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("txids mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIntegrationGroupsAllowed: groups_allowed (Duo: comma-separated group
// ids) is stored, shown, validated and cleared.
func TestIntegrationGroupsAllowed(t *testing.T) {
	f := newFixture(t)
	g1 := createGroup(t, f, url.Values{"name": {"A"}})
	g2 := createGroup(t, f, url.Values{"name": {"B"}})
	var in struct {
		IKey          string   `json:"integration_key"`
		GroupsAllowed []string `json:"groups_allowed"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/integrations", url.Values{"name": {"VPN"}, "type": {"authapi"},
		"groups_allowed": {g1.GroupID + "," + g2.GroupID}}), &in)
	if diff := cmp.Diff([]string{g1.GroupID, g2.GroupID}, in.GroupsAllowed); diff != "" {
		t.Errorf("created groups_allowed mismatch (-want +got):\n%s", diff)
	}
	stored, err := f.Store.GetIntegration(t.Context(), in.IKey)
	if err != nil || len(stored.GroupsAllowed) != 2 {
		t.Errorf("stored GroupsAllowed = %v, %v", stored.GroupsAllowed, err)
	}
	r := f.Call(f.Key, http.MethodPost, "/admin/v1/integrations/"+in.IKey, url.Values{"groups_allowed": {"DG000000000000000000"}})
	if r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, "groups_allowed") {
		t.Errorf("unknown group in groups_allowed = %d %d %q, want 400 40002 naming groups_allowed", r.Status, r.Code, r.MessageDetail)
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/integrations/"+in.IKey, url.Values{"groups_allowed": {""}}), &in)
	if len(in.GroupsAllowed) != 0 {
		t.Errorf("groups_allowed after clearing = %v, want []", in.GroupsAllowed)
	}
}
