package adminapi_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

type devBypass struct {
	ID         string `json:"bypass_code_id"`
	AdminEmail string `json:"admin_email"`
	Created    int64  `json:"created"`
	Expiration *int64 `json:"expiration"`
	ReuseCount *int   `json:"reuse_count"`
	User       struct {
		UserID   string `json:"user_id"`
		Username string `json:"username"`
	} `json:"user"`
}

func bypassCount(f *fixture) int {
	f.t.Helper()
	_, n, err := f.Store.ListBypassCodes(f.t.Context(), mfa.BypassFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestBypassEndpointsSQLite(t *testing.T) { testBypassEndpoints(t, newFixture(t)) }
func TestBypassEndpointsPostgres(t *testing.T) {
	testBypassEndpoints(t, newFixture(t, sqltest.PostgresDSN(t)))
}

func testBypassEndpoints(t *testing.T, f *fixture) {
	u := devUser(f, "alice")
	// Duo's Go client: GetUserBypassCodes POSTs and gets 10 new codes.
	res, err := f.Duo(f.Key).GetUserBypassCodes(u.ID)
	if err != nil || res.Stat != "OK" || len(res.Response) != 10 {
		t.Fatalf("GetUserBypassCodes() = %+v, %v; want 10 codes", res, err)
	}
	codes := res.Response
	for _, c := range codes {
		if !regexp.MustCompile(`^[0-9]{9}$`).MatchString(c) {
			t.Errorf("code %q is not 9 digits", c)
		}
	}
	// Caller-chosen codes, preserved, with reuse and expiry.
	var chosen []string
	f.OK(f.Call(f.Key, "POST", "/admin/v1/users/"+u.ID+"/bypass_codes", url.Values{
		"codes": {"012345678,876543210"}, "reuse_count": {"0"}, "valid_secs": {"3600"}, "preserve_existing": {"true"}}), &chosen)
	if strings.Join(chosen, ",") != "012345678,876543210" {
		t.Errorf("created %v, want the chosen codes", chosen)
	}
	codes = append(codes, chosen...)
	// Lists never show a code.
	for _, path := range []string{"/admin/v1/users/" + u.ID + "/bypass_codes", "/admin/v1/bypass_codes"} {
		r := f.Call(f.Key, "GET", path, nil)
		var list []devBypass
		f.OK(r, &list)
		var meta struct {
			Total int `json:"total_objects"`
		}
		json.Unmarshal(r.Metadata, &meta)
		if len(list) != 12 || meta.Total != 12 {
			t.Fatalf("GET %s = %d codes (total %d), want 12", path, len(list), meta.Total)
		}
		unlimited := 0
		for _, b := range list {
			if b.AdminEmail != f.Key.Name || b.User.UserID != u.ID || !strings.HasPrefix(b.ID, "DB") {
				t.Errorf("listed %+v, want admin_email %q and the user", b, f.Key.Name)
			}
			if b.ReuseCount == nil {
				unlimited++
				if b.Expiration == nil || *b.Expiration-b.Created != 3600 {
					t.Errorf("chosen code expiration %v, want created+3600", b.Expiration)
				}
			} else if *b.ReuseCount != 1 || b.Expiration != nil {
				t.Errorf("default code reuse_count %v expiration %v, want 1 and null", *b.ReuseCount, b.Expiration)
			}
		}
		if unlimited != 2 {
			t.Errorf("%d codes with reuse_count null, want 2", unlimited)
		}
		for _, c := range codes {
			if strings.Contains(string(r.Response), c) {
				t.Errorf("GET %s shows code %s", path, c)
			}
		}
	}
	var list []devBypass
	f.OK(f.Call(f.Key, "GET", "/admin/v1/bypass_codes", url.Values{"limit": {"1"}}), &list)
	id := list[0].ID
	var one devBypass
	r := f.Call(f.Key, "GET", "/admin/v1/bypass_codes/"+id, nil)
	f.OK(r, &one)
	if one.ID != id {
		t.Errorf("GET bypass code = %+v, want %s", one, id)
	}
	// No endpoint changes a code: POST to a code is refused, nothing changes.
	before, _ := f.Store.GetBypassCode(t.Context(), id)
	for _, p := range []url.Values{{"reuse_count": {"0"}}, {"valid_secs": {"0"}}, {"expiration": {"0"}}} {
		status, body := f.Raw(f.Key, "POST", "/admin/v1/bypass_codes/"+id, p)
		if status != 405 && status != 404 {
			t.Errorf("POST /admin/v1/bypass_codes/{id} %v = %d %s, want 405 or 404", p, status, body)
		}
	}
	if after, _ := f.Store.GetBypassCode(t.Context(), id); after.UsesLeft != before.UsesLeft ||
		after.Unlimited != before.Unlimited || !after.Expires.Equal(before.Expires) {
		t.Errorf("code after POST = %+v, want unchanged %+v", after, before)
	}
	var empty string
	f.OK(f.Call(f.Key, "DELETE", "/admin/v1/bypass_codes/"+id, nil), &empty)
	if r := f.Call(f.Key, "GET", "/admin/v1/bypass_codes/"+id, nil); r.Status != 404 || r.Code != 40401 {
		t.Errorf("GET deleted code = %d %d, want 404 40401", r.Status, r.Code)
	}
	// The limit of 100, through the API.
	v := devUser(f, "bob")
	for range 10 {
		f.OK(f.Call(f.Key, "POST", "/admin/v1/users/"+v.ID+"/bypass_codes", url.Values{"preserve_existing": {"1"}}), nil)
	}
	n := bypassCount(f)
	r = f.Call(f.Key, "POST", "/admin/v1/users/"+v.ID+"/bypass_codes", url.Values{"preserve_existing": {"1"}, "count": {"5"}})
	if r.Status != 400 || r.Code != 40002 || !strings.HasPrefix(r.MessageDetail, "count: a user can have at most 100 active bypass codes") ||
		!strings.Contains(r.MessageDetail, "would make 105") {
		t.Errorf("105th code = %d %d %q, want 400 40002 naming the limit", r.Status, r.Code, r.MessageDetail)
	}
	if bypassCount(f) != n {
		t.Errorf("the refused request changed the number of codes")
	}
}

func TestBypassBadInput(t *testing.T) {
	f := newFixture(t)
	u := devUser(f, "alice")
	f.OK(f.Call(f.Key, "POST", "/admin/v1/users/"+u.ID+"/bypass_codes", url.Values{"count": {"3"}}), nil)
	adm := mfa.Admin{ID: "DEADMINNOTAUSER000", Email: "a@example.com", Name: "A", Role: mfa.RoleOwner}
	if err := f.Store.CreateAdmin(t.Context(), adm); err != nil {
		t.Fatal(err)
	}
	create := "/admin/v1/users/" + u.ID + "/bypass_codes"
	tests := []struct {
		method, path string
		give         url.Values
		wantStatus   int
		wantDetail   string
	}{
		{"POST", create, url.Values{"count": {"0"}}, 400, "count: must be between 1 and 10"},
		{"POST", create, url.Values{"count": {"11"}}, 400, "count: must be between 1 and 10"},
		{"POST", create, url.Values{"count": {"two"}}, 400, "count: "},
		{"POST", create, url.Values{"count": {"1"}, "codes": {"123456789"}}, 400, "count: give either count or codes"},
		{"POST", create, url.Values{"codes": {""}}, 400, "codes: empty"},
		{"POST", create, url.Values{"codes": {"12345678"}}, 400, "codes: code 1 of 1 is not exactly 9 digits"},
		{"POST", create, url.Values{"codes": {"123456789,123456789"}}, 400, "codes: code 2 repeats"},
		{"POST", create, url.Values{"codes": {strings.Repeat("123456789,", 10) + "123456789"}}, 400, "codes: at most 10"},
		{"POST", create, url.Values{"reuse_count": {"-1"}}, 400, "reuse_count: "},
		{"POST", create, url.Values{"reuse_count": {"x"}}, 400, "reuse_count: "},
		{"POST", create, url.Values{"valid_secs": {"-5"}}, 400, "valid_secs: "},
		{"POST", create, url.Values{"valid_secs": {"315360001"}}, 400, "valid_secs: "},
		{"POST", create, url.Values{"preserve_existing": {"maybe"}}, 400, "preserve_existing: "},
		{"POST", "/admin/v1/users/DUNOSUCHUSER000000/bypass_codes", nil, 404, ""},
		{"POST", "/admin/v1/users/" + adm.ID + "/bypass_codes", nil, 404, ""},
		{"GET", "/admin/v1/users/DUNOSUCHUSER000000/bypass_codes", nil, 404, ""},
		{"GET", "/admin/v1/users/" + u.ID + "/bypass_codes", url.Values{"limit": {"501"}}, 400, "limit: "},
		{"GET", "/admin/v1/bypass_codes", url.Values{"offset": {"-1"}}, 400, "offset: "},
		{"GET", "/admin/v1/bypass_codes/DBNOSUCHCODE000000", nil, 404, ""},
		{"DELETE", "/admin/v1/bypass_codes/DBNOSUCHCODE000000", nil, 200, ""}, // Duo: deleting what is gone does nothing
	}
	before, _, _ := f.Store.ListBypassCodes(t.Context(), mfa.BypassFilter{})
	for _, tt := range tests {
		r := f.Call(f.Key, tt.method, tt.path, tt.give)
		wantCode := map[int]int{400: 40002, 404: 40401}[tt.wantStatus]
		if r.Status != tt.wantStatus || r.Code != wantCode || !strings.HasPrefix(r.MessageDetail, tt.wantDetail) {
			t.Errorf("%s %s %v = %d %d %q, want %d %d %q...", tt.method, tt.path, tt.give, r.Status, r.Code, r.MessageDetail,
				tt.wantStatus, wantCode, tt.wantDetail)
		}
	}
	after, _, _ := f.Store.ListBypassCodes(t.Context(), mfa.BypassFilter{})
	if len(after) != len(before) {
		t.Errorf("refused requests changed the codes: %d before, %d after", len(before), len(after))
	}
	for i := range after {
		if after[i].ID != before[i].ID {
			t.Errorf("refused requests replaced code %s", before[i].ID)
		}
	}
}

// TestDeviceWritesNeedWritePermission: an integration without
// adminapi_write_resource gets 403/40301 from every token and bypass code
// write, and changes nothing; it can still read.
func TestDeviceWritesNeedWritePermission(t *testing.T) {
	f := newFixture(t)
	u := devUser(f, "alice")
	var tok devToken
	f.OK(f.Call(f.Key, "POST", "/admin/v1/tokens", url.Values{"type": {"h6"}, "serial": {"S"}, "secret": {devSecretHex}}), &tok)
	f.OK(f.Call(f.Key, "POST", "/admin/v1/users/"+u.ID+"/tokens", url.Values{"token_id": {tok.TokenID}}), nil)
	f.OK(f.Call(f.Key, "POST", "/admin/v1/users/"+u.ID+"/bypass_codes", url.Values{"count": {"1"}}), nil)
	var list []devBypass
	f.OK(f.Call(f.Key, "GET", "/admin/v1/bypass_codes", nil), &list)
	reader := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true})
	writes := []struct {
		method, path string
		give         url.Values
	}{
		{"POST", "/admin/v1/tokens", url.Values{"type": {"h6"}, "serial": {"T"}, "secret": {devSecretHex}}},
		{"POST", "/admin/v1/tokens/" + tok.TokenID, url.Values{"totp_step": {"60"}}},
		{"DELETE", "/admin/v1/tokens/" + tok.TokenID, nil},
		{"POST", "/admin/v1/tokens/" + tok.TokenID + "/resync", url.Values{"code1": {"1"}, "code2": {"2"}, "code3": {"3"}}},
		{"POST", "/admin/v1/users/" + u.ID + "/tokens", url.Values{"token_id": {tok.TokenID}}},
		{"DELETE", "/admin/v1/users/" + u.ID + "/tokens/" + tok.TokenID, nil},
		{"POST", "/admin/v1/users/" + u.ID + "/bypass_codes", nil},
		{"DELETE", "/admin/v1/bypass_codes/" + list[0].ID, nil},
	}
	tokens, codes := tokenCount(f), bypassCount(f)
	for _, w := range writes {
		if r := f.Call(reader, w.method, w.path, w.give); r.Status != 403 || r.Code != 40301 {
			t.Errorf("%s %s without write permission = %d %d, want 403 40301", w.method, w.path, r.Status, r.Code)
		}
	}
	if tokenCount(f) != tokens || bypassCount(f) != codes {
		t.Error("refused writes changed tokens or bypass codes")
	}
	if ut, _ := f.Store.UserTokens(t.Context(), u.ID); len(ut) != 1 {
		t.Errorf("refused writes changed the user's tokens: %d", len(ut))
	}
	for _, path := range []string{"/admin/v1/tokens", "/admin/v1/tokens/" + tok.TokenID, "/admin/v1/users/" + u.ID + "/tokens",
		"/admin/v1/bypass_codes", "/admin/v1/bypass_codes/" + list[0].ID, "/admin/v1/users/" + u.ID + "/bypass_codes"} {
		f.OK(f.Call(reader, "GET", path, nil), nil)
	}
	none := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{})
	if r := f.Call(none, "GET", "/admin/v1/tokens", nil); r.Status != 403 || r.Code != 40301 {
		t.Errorf("GET /admin/v1/tokens without read permission = %d %d, want 403 40301", r.Status, r.Code)
	}
}
