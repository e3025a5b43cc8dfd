package adminapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOIDCClients: OIDC clients are integrations of type oidc; the
// secret is shown once (not at all for a public client).
func TestOIDCClients(t *testing.T) {
	f := newFixture(t)
	type obj struct {
		IKey                   string   `json:"integration_key"`
		SecretKey              string   `json:"secret_key"`
		Type                   string   `json:"type"`
		RedirectURIs           []string `json:"redirect_uris"`
		PublicClient           *int     `json:"public_client"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	}
	var conf obj
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/integrations", url.Values{"name": {"Grafana"}, "type": {"oidc"},
		"redirect_uris":             {"https://grafana.example.com/login/generic_oauth"},
		"post_logout_redirect_uris": {"https://grafana.example.com/login, https://grafana.example.com/"}}), &conf)
	if conf.Type != "oidc" || len(conf.SecretKey) != 40 || conf.PublicClient == nil || *conf.PublicClient != 0 ||
		len(conf.PostLogoutRedirectURIs) != 2 {
		t.Errorf("create confidential oidc client = %+v", conf)
	}
	var got obj
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/integrations/"+conf.IKey, nil), &got)
	if got.SecretKey != "" || got.RedirectURIs[0] != "https://grafana.example.com/login/generic_oauth" {
		t.Errorf("GET oidc client = %+v, want no secret", got)
	}
	var pub obj
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/integrations", url.Values{"name": {"CLI"}, "type": {"oidc"},
		"redirect_uris": {"http://127.0.0.1:8400/callback"}, "public_client": {"1"}}), &pub)
	if pub.SecretKey != "" || pub.PublicClient == nil || *pub.PublicClient != 1 {
		t.Errorf("create public oidc client = %+v, want no secret, public_client 1", pub)
	}
	tests := []struct {
		name   string
		params url.Values
		want   string
	}{
		{"no redirect_uris", url.Values{"name": {"x"}, "type": {"oidc"}}, "redirect_uris"},
		{"http redirect", url.Values{"name": {"x"}, "type": {"oidc"}, "redirect_uris": {"http://app.example.com/cb"}}, "redirect_uris"},
		{"public_client on authapi", url.Values{"name": {"x"}, "type": {"authapi"}, "public_client": {"1"}}, "public_client"},
		{"logout URI with fragment", url.Values{"name": {"x"}, "type": {"oidc"}, "redirect_uris": {"https://a.example/cb"},
			"post_logout_redirect_uris": {"https://a.example/#x"}}, "post_logout_redirect_uris"},
		{"logout URIs on websdk", url.Values{"name": {"x"}, "type": {"websdk"}, "redirect_uris": {"https://a.example/cb"},
			"post_logout_redirect_uris": {"https://a.example/"}}, "post_logout_redirect_uris"},
	}
	for _, tt := range tests {
		r := f.Call(f.Key, http.MethodPost, "/admin/v1/integrations", tt.params)
		if r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail+r.Message, tt.want) {
			t.Errorf("%s: %d %d %q %q, want 400 40002 naming %s", tt.name, r.Status, r.Code, r.Message, r.MessageDetail, tt.want)
		}
	}
}
