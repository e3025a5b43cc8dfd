package adminapi_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	duoadmin "github.com/duosecurity/duo_api_golang/admin"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

const devSecretHex = "3132333435363738393031323334353637383930"

var devSecret, _ = hex.DecodeString(devSecretHex)

// devUser stores a user for the token and bypass code tests.
func devUser(f *fixture, name string) mfa.User {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	u := mfa.User{ID: id, Username: name, Email: name + "@example.com", Status: mfa.StatusActive, Created: time.Now()}
	if err := f.Store.CreateUser(f.t.Context(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// tokenCount is how many tokens are stored.
func tokenCount(f *fixture) int {
	f.t.Helper()
	_, n, err := f.Store.ListTokens(f.t.Context(), mfa.TokenFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

type devToken struct {
	TokenID  string `json:"token_id"`
	Type     string `json:"type"`
	Serial   string `json:"serial"`
	TOTPStep *int   `json:"totp_step"`
	Users    []struct {
		UserID string `json:"user_id"`
	} `json:"users"`
}

func TestTokenEndpointsSQLite(t *testing.T) { testTokenEndpoints(t, newFixture(t)) }
func TestTokenEndpointsPostgres(t *testing.T) {
	testTokenEndpoints(t, newFixture(t, sqltest.PostgresDSN(t)))
}

func testTokenEndpoints(t *testing.T, f *fixture) {
	u := devUser(f, "alice")
	// Create one of each type.
	creates := []url.Values{
		{"type": {"h6"}, "serial": {"H6-1"}, "secret": {devSecretHex}, "counter": {"3"}},
		{"type": {"h8"}, "serial": {"H8-1"}, "secret": {devSecretHex}},
		{"type": {"t6"}, "serial": {"T6-1"}, "secret": {devSecretHex}},
		{"type": {"t8"}, "serial": {"T8-1"}, "secret": {devSecretHex}, "totp_step": {"60"}},
		{"type": {"yk"}, "serial": {"vvccccdfgbjk"}, "private_id": {"a1b2c3d4e5f6"}, "aes_key": {"00112233445566778899aabbccddeeff"}},
	}
	ids := map[string]string{}
	for _, p := range creates {
		r := f.Call(f.Key, "POST", "/admin/v1/tokens", p)
		var tok devToken
		f.OK(r, &tok)
		if tok.Type != p.Get("type") || tok.Serial != p.Get("serial") || !strings.HasPrefix(tok.TokenID, "DH") {
			t.Errorf("POST /admin/v1/tokens %v = %+v", p, tok)
		}
		for _, leak := range []string{"secret", "aes_key", "private_id", devSecretHex, "a1b2c3d4e5f6", "00112233445566778899aabbccddeeff"} {
			if strings.Contains(string(r.Response), leak) {
				t.Errorf("POST /admin/v1/tokens response %s contains %q", r.Response, leak)
			}
		}
		ids[tok.Serial] = tok.TokenID
	}
	// Duo's Go client reads them.
	duo := f.Duo(f.Key)
	all, err := duo.GetTokens()
	if err != nil || all.Stat != "OK" || len(all.Response) != 5 {
		t.Fatalf("GetTokens() = %+v, %v; want 5 tokens", all, err)
	}
	for _, tok := range all.Response {
		wantStep := map[string]int{"t6": 30, "t8": 60}[tok.Type]
		if (tok.TOTPStep == nil) != (wantStep == 0) || (tok.TOTPStep != nil && *tok.TOTPStep != wantStep) {
			t.Errorf("token %s totp_step = %v, want %d (null unless TOTP)", tok.Serial, tok.TOTPStep, wantStep)
		}
	}
	one, err := duo.GetTokens(func(v *url.Values) { v.Set("type", "t8"); v.Set("serial", "T8-1") })
	if err != nil || len(one.Response) != 1 || one.Response[0].TokenID != ids["T8-1"] {
		t.Errorf("GetTokens(type t8, serial T8-1) = %+v, %v", one, err)
	}
	// Associate, list per user, token shows its users.
	if r, err := duo.AssociateUserToken(u.ID, ids["H6-1"]); err != nil || r.Stat != "OK" {
		t.Fatalf("AssociateUserToken() = %+v, %v", r, err)
	}
	ut, err := duo.GetUserTokens(u.ID)
	if err != nil || len(ut.Response) != 1 || ut.Response[0].TokenID != ids["H6-1"] {
		t.Errorf("GetUserTokens() = %+v, %v", ut, err)
	}
	got, err := duo.GetToken(ids["H6-1"])
	if err != nil || len(got.Response.Users) != 1 || got.Response.Users[0].UserID != u.ID {
		t.Errorf("GetToken() = %+v, %v; want its user", got, err)
	}
	// Modify the step.
	var mod devToken
	f.OK(f.Call(f.Key, "POST", "/admin/v1/tokens/"+ids["T6-1"], url.Values{"totp_step": {"60"}}), &mod)
	if mod.TOTPStep == nil || *mod.TOTPStep != 60 {
		t.Errorf("modify totp_step = %+v, want 60", mod)
	}
	// Resync the HOTP token (stored counter 3) with codes 700..702.
	r := f.Call(f.Key, "POST", "/admin/v1/tokens/"+ids["H6-1"]+"/resync", url.Values{
		"code1": {otp.HOTP(devSecret, 700, 6)}, "code2": {otp.HOTP(devSecret, 701, 6)}, "code3": {otp.HOTP(devSecret, 702, 6)}})
	var empty string
	f.OK(r, &empty)
	if stored, _ := f.Store.GetToken(t.Context(), ids["H6-1"]); stored.Counter != 703 {
		t.Errorf("after resync counter = %d, want 703", stored.Counter)
	}
	// Disassociate and delete.
	f.OK(f.Call(f.Key, "DELETE", "/admin/v1/users/"+u.ID+"/tokens/"+ids["H6-1"], nil), &empty)
	f.OK(f.Call(f.Key, "DELETE", "/admin/v1/tokens/"+ids["H6-1"], nil), &empty)
	if r := f.Call(f.Key, "GET", "/admin/v1/tokens/"+ids["H6-1"], nil); r.Status != 404 || r.Code != 40401 {
		t.Errorf("GET deleted token = %d %d, want 404 40401", r.Status, r.Code)
	}
	// Paging metadata.
	r = f.Call(f.Key, "GET", "/admin/v1/tokens", url.Values{"limit": {"2"}, "offset": {"2"}})
	var page []devToken
	f.OK(r, &page)
	var meta struct {
		Total int  `json:"total_objects"`
		Next  *int `json:"next_offset"`
		Prev  *int `json:"prev_offset"`
	}
	json.Unmarshal(r.Metadata, &meta)
	if len(page) != 2 || meta.Total != 4 || meta.Next != nil || meta.Prev == nil || *meta.Prev != 0 {
		t.Errorf("page 2 of tokens = %d items, metadata %s", len(page), r.Metadata)
	}
	var _ duoadmin.Token
}

func TestTokenBadInput(t *testing.T) {
	f := newFixture(t)
	u := devUser(f, "alice")
	var tok devToken
	f.OK(f.Call(f.Key, "POST", "/admin/v1/tokens", url.Values{"type": {"h6"}, "serial": {"DUP"}, "secret": {devSecretHex}}), &tok)
	var tt6 devToken
	f.OK(f.Call(f.Key, "POST", "/admin/v1/tokens", url.Values{"type": {"t6"}, "serial": {"T"}, "secret": {devSecretHex}}), &tt6)
	h6 := func(extra url.Values) url.Values {
		v := url.Values{"type": {"h6"}, "serial": {"NEW"}, "secret": {devSecretHex}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	codes := url.Values{"code1": {"123456"}, "code2": {"234567"}, "code3": {"345678"}}
	tests := []struct {
		method, path string
		give         url.Values
		wantStatus   int
		wantDetail   string // prefix of message_detail
	}{
		{"POST", "/admin/v1/tokens", url.Values{"serial": {"X"}, "secret": {devSecretHex}}, 400, "type: required"},
		{"POST", "/admin/v1/tokens", h6(url.Values{"type": {"x9"}}), 400, "type: "},
		{"POST", "/admin/v1/tokens", h6(url.Values{"serial": {""}}), 400, "serial: required"},
		{"POST", "/admin/v1/tokens", h6(url.Values{"serial": {strings.Repeat("x", 129)}}), 400, "serial: at most 128"},
		{"POST", "/admin/v1/tokens", h6(url.Values{"serial": {"DUP"}}), 400, `serial: a h6 token with serial "DUP" already exists`},
		{"POST", "/admin/v1/tokens", h6(url.Values{"secret": {"not hex at all!"}}), 400, "secret: "},
		{"POST", "/admin/v1/tokens", h6(url.Values{"secret": {""}}), 400, "secret: required"},
		{"POST", "/admin/v1/tokens", h6(url.Values{"counter": {"-1"}}), 400, "counter: "},
		{"POST", "/admin/v1/tokens", h6(url.Values{"counter": {"ten"}}), 400, "counter: "},
		{"POST", "/admin/v1/tokens", url.Values{"type": {"t6"}, "serial": {"X"}, "secret": {devSecretHex}, "totp_step": {"45"}}, 400, "totp_step: must be 30 or 60"},
		{"POST", "/admin/v1/tokens", url.Values{"type": {"t6"}, "serial": {"X"}, "secret": {devSecretHex}, "totp_step": {"x"}}, 400, "totp_step: "},
		{"POST", "/admin/v1/tokens", url.Values{"type": {"yk"}, "serial": {"X"}, "private_id": {"zz"}, "aes_key": {"00112233445566778899aabbccddeeff"}}, 400, "private_id: "},
		{"POST", "/admin/v1/tokens", url.Values{"type": {"yk"}, "serial": {"X"}, "private_id": {"a1b2c3d4e5f6"}}, 400, "aes_key: required"},
		{"GET", "/admin/v1/tokens", url.Values{"limit": {"501"}}, 400, "limit: "},
		{"GET", "/admin/v1/tokens", url.Values{"type": {"zz"}, "serial": {"X"}}, 400, "type: "},
		{"GET", "/admin/v1/tokens/DHNOSUCHTOKEN00000", nil, 404, ""},
		{"POST", "/admin/v1/tokens/DHNOSUCHTOKEN00000", url.Values{"totp_step": {"60"}}, 404, ""},
		{"POST", "/admin/v1/tokens/" + tt6.TokenID, url.Values{"totp_step": {"90"}}, 400, "totp_step: must be 30 or 60"},
		{"POST", "/admin/v1/tokens/" + tok.TokenID, url.Values{"totp_step": {"60"}}, 400, "totp_step: only TOTP tokens"},
		{"DELETE", "/admin/v1/tokens/DHNOSUCHTOKEN00000", nil, 200, ""}, // Duo: deleting what is gone does nothing
		{"POST", "/admin/v1/tokens/DHNOSUCHTOKEN00000/resync", codes, 404, ""},
		{"POST", "/admin/v1/tokens/" + tok.TokenID + "/resync", url.Values{"code1": {"123456"}}, 400, "code2: required"},
		{"POST", "/admin/v1/tokens/" + tok.TokenID + "/resync", url.Values{"code1": {"12345"}, "code2": {"1"}, "code3": {"1"}}, 400, "code1: must be 6 digits"},
		{"POST", "/admin/v1/tokens/" + tok.TokenID + "/resync", codes, 400, "code1: codes do not match three consecutive codes of this token"},
		{"POST", "/admin/v1/tokens/" + tt6.TokenID + "/resync", codes, 400, "token_id: resync is only for HOTP tokens"},
		{"GET", "/admin/v1/users/DUNOSUCHUSER000000/tokens", nil, 404, ""},
		{"POST", "/admin/v1/users/" + u.ID + "/tokens", nil, 400, "token_id: required"},
		{"POST", "/admin/v1/users/" + u.ID + "/tokens", url.Values{"token_id": {"DHNOSUCH"}}, 404, ""},
		{"POST", "/admin/v1/users/DUNOSUCHUSER000000/tokens", url.Values{"token_id": {tok.TokenID}}, 404, ""},
		{"DELETE", "/admin/v1/users/" + u.ID + "/tokens/" + tok.TokenID, nil, 404, ""},
	}
	before := tokenCount(f)
	stored, _ := f.Store.GetToken(t.Context(), tok.TokenID)
	for _, tt := range tests {
		r := f.Call(f.Key, tt.method, tt.path, tt.give)
		wantCode := map[int]int{400: 40002, 404: 40401}[tt.wantStatus]
		if r.Status != tt.wantStatus || r.Code != wantCode || !strings.HasPrefix(r.MessageDetail, tt.wantDetail) {
			t.Errorf("%s %s %v = %d %d %q, want %d %d %q...", tt.method, tt.path, tt.give, r.Status, r.Code, r.MessageDetail,
				tt.wantStatus, wantCode, tt.wantDetail)
		}
		if strings.Contains(r.MessageDetail, devSecretHex) {
			t.Errorf("%s %s: message_detail echoes the secret", tt.method, tt.path)
		}
	}
	if after := tokenCount(f); after != before {
		t.Errorf("token count went from %d to %d over refused requests", before, after)
	}
	if after, _ := f.Store.GetToken(t.Context(), tok.TokenID); after.Counter != stored.Counter {
		t.Errorf("refused resyncs moved the counter from %d to %d", stored.Counter, after.Counter)
	}
}
