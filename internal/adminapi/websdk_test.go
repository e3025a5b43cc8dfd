package adminapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestWebSDKIntegration: type=websdk with redirect_uris (Universal Prompt
// applications), created, shown, modified and refused as Duo's 40002 naming
// the bad URI.
func TestWebSDKIntegration(t *testing.T) {
	f := newFixture(t)
	var created struct {
		IntegrationKey string   `json:"integration_key"`
		SecretKey      string   `json:"secret_key"`
		Type           string   `json:"type"`
		RedirectURIs   []string `json:"redirect_uris"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/integrations", url.Values{"name": {"Intranet"}, "type": {"websdk"},
		"redirect_uris": {"https://app.example.com/duo-callback, http://127.0.0.1:8080/cb,http://localhost/cb,http://[::1]:9/cb"}}), &created)
	wantURIs := []string{"https://app.example.com/duo-callback", "http://127.0.0.1:8080/cb", "http://localhost/cb", "http://[::1]:9/cb"}
	if created.Type != "websdk" || len(created.IntegrationKey) != 20 || len(created.SecretKey) != 40 ||
		!slices.Equal(created.RedirectURIs, wantURIs) {
		t.Fatalf("create websdk = %+v, want type websdk, 20/40-character keys, redirect_uris %q", created, wantURIs)
	}
	stored, err := f.Store.GetIntegration(t.Context(), created.IntegrationKey)
	if err != nil || stored.Type != mfa.IntegrationWebSDK || !slices.Equal(stored.RedirectURIs, wantURIs) {
		t.Fatalf("stored = %+v, %v; want websdk with %q", stored, err, wantURIs)
	}
	var modified struct {
		RedirectURIs []string `json:"redirect_uris"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/integrations/"+created.IntegrationKey,
		url.Values{"redirect_uris": {"https://new.example.com/cb"}}), &modified)
	if !slices.Equal(modified.RedirectURIs, []string{"https://new.example.com/cb"}) {
		t.Errorf("modify redirect_uris = %q, want [https://new.example.com/cb]", modified.RedirectURIs)
	}

	bad := []struct {
		name   string
		give   url.Values
		detail string // message_detail contains
	}{
		{"missing", url.Values{"name": {"x"}, "type": {"websdk"}}, "redirect_uris"},
		{"empty", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {" , "}}, "at least one"},
		{"http on a public host", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"https://ok.example/cb,http://app.example.com/cb"}}, `"http://app.example.com/cb"`},
		{"http on a loopback-looking name", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"http://127.0.0.1.example.com/cb"}}, "127.0.0.1.example.com"},
		{"fragment", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"https://app.example.com/cb#frag"}}, "fragment"},
		{"relative", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"/cb"}}, `"/cb" is not an absolute URL`},
		{"javascript", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"javascript:alert(1)"}}, "javascript:alert(1)"},
		{"user info", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"https://u:p@app.example.com/cb"}}, "user information"},
		{"space", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"https://app.example.com/a b"}}, "space"},
		{"too long", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"https://app.example.com/" + strings.Repeat("a", 1100)}}, "longer than"},
		{"too many", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {strings.Repeat("https://a.example/x,", 10) + strings.Repeat("https://b.example/y", 1) + "," + manyURIs(20)}}, "at most 20"},
		{"on another type", url.Values{"name": {"x"}, "type": {"authapi"}, "redirect_uris": {"https://app.example.com/cb"}}, "only websdk"},
	}
	for _, tt := range bad {
		r := f.Call(f.Key, http.MethodPost, "/admin/v1/integrations", tt.give)
		if r.Status != 400 || r.Code != 40002 || !strings.HasPrefix(r.MessageDetail, "redirect_uris") ||
			!strings.Contains(r.MessageDetail, tt.detail) {
			t.Errorf("create websdk (%s) = %d %d %q, want 400 40002 about redirect_uris containing %q",
				tt.name, r.Status, r.Code, r.MessageDetail, tt.detail)
		}
	}
	r := f.Call(f.Key, http.MethodPost, "/admin/v1/integrations/"+created.IntegrationKey, url.Values{"redirect_uris": {""}})
	if r.Status != 400 || r.Code != 40002 {
		t.Errorf("modify websdk with no redirect_uris = %d %d %q, want 400 40002", r.Status, r.Code, r.MessageDetail)
	}
	list, _, err := f.Store.ListIntegrations(t.Context(), mfa.Page{})
	if err != nil || len(list) != 2 {
		t.Errorf("after refused creates: %d integrations (%v), want 2 (the caller's and the websdk one)", len(list), err)
	}
}

func manyURIs(n int) string {
	var b []string
	for i := range n {
		b = append(b, "https://c.example/"+strings.Repeat("z", i+1))
	}
	return strings.Join(b, ",")
}

// TestWebSDKKeyRefused: a websdk integration's keys (a Universal Prompt
// client id and secret) cannot sign Admin API calls.
func TestWebSDKKeyRefused(t *testing.T) {
	f := newFixture(t)
	web := f.Integration(mfa.IntegrationWebSDK, mfa.AdminPermissions{})
	for _, path := range []string{"/admin/v1/users", "/admin/v1/integrations"} {
		r := f.Call(web, http.MethodGet, path, nil)
		if r.Status != 403 || r.Code != 40301 {
			t.Errorf("GET %s signed by a websdk key = %d %d %q, want 403 40301", path, r.Status, r.Code, r.Message)
		}
	}
}
