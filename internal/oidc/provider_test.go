package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/oidc"
)

const rpRedirect = "https://rp.example.com/callback"

// OIDCClient stores an oidc integration (a confidential client unless
// public).
func (f *fixture) OIDCClient(public bool) mfa.Integration {
	f.t.Helper()
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 40)
	in := mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "Grafana", Type: mfa.IntegrationOIDC,
		EnrollPolicy: mfa.EnrollPolicyDeny, RedirectURIs: []string{rpRedirect}, PublicClient: public,
		PostLogoutRedirectURIs: []string{"https://rp.example.com/bye"}, Created: time.Now()}
	if err := f.Store.CreateIntegration(f.t.Context(), in); err != nil {
		f.t.Fatal(err)
	}
	return in
}

// rp is a relying party: golang.org/x/oauth2 + github.com/coreos/go-oidc/v3
// through discovery, over the test TLS.
type rp struct {
	f        *fixture
	ctx      context.Context
	provider *gooidc.Provider
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func (f *fixture) RP(in mfa.Integration, secret string) *rp {
	f.t.Helper()
	ctx := gooidc.ClientContext(f.t.Context(), &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: f.tls.Clone()}})
	p, err := gooidc.NewProvider(ctx, "https://"+f.Host+"/oidc")
	if err != nil {
		f.t.Fatalf("discovery: %v", err)
	}
	return &rp{f: f, ctx: ctx, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: in.IKey}),
		conf: oauth2.Config{ClientID: in.IKey, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}}
}

// codeFlow runs authorize in b with PKCE and completes the login as the
// first-factor page and the prompt would (through the store), returning
// the code and verifier.
func (r *rp) codeFlow(b *Browser, u mfa.User, opts ...oauth2.AuthCodeOption) (code, verifier, nonce string) {
	t := r.f.t
	t.Helper()
	verifier, nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	authURL := r.conf.AuthCodeURL("state-123", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier),
		gooidc.Nonce(nonce)}, opts...)...)
	resp, body := b.Get(authURL)
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.Path, "/login/") {
		t.Fatalf("authorize = %d %v %s, want 303 to /login/{id}", resp.StatusCode, loc, body)
	}
	id := strings.TrimPrefix(loc.Path, "/login/")
	ctx := t.Context()
	lr, err := r.f.Store.SetLoginUser(ctx, id, mfa.LoginUser{UserID: u.ID, Username: u.Username, FirstFactor: mfa.FirstFactorPassword}, r.f.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.f.Store.CompleteLoginRequest(ctx, id, mfa.LoginOutcome{Result: mfa.LoginAllow, Factor: "hardware_token",
		AuthTime: r.f.now()}); err != nil {
		t.Fatal(err)
	}
	resp, body = b.Get("https://" + r.f.Host + lr.Continue)
	loc, _ = resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), rpRedirect+"?") {
		t.Fatalf("return = %d %v %s, want 303 to the client", resp.StatusCode, loc, body)
	}
	if loc.Query().Get("state") != "state-123" || loc.Query().Get("code") == "" {
		t.Fatalf("return to the client = %v, want code and state", loc)
	}
	return loc.Query().Get("code"), verifier, nonce
}

func (f *fixture) user(name string) mfa.User {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	u := mfa.User{ID: id, Username: name, RealName: "Alice Liddell", Email: name + "@example.com", Status: mfa.StatusActive, Created: time.Now()}
	if err := f.Store.CreateUser(f.t.Context(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// oauthErr extracts the OAuth error code of an oauth2 exchange failure.
func oauthErr(err error) string {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		return re.ErrorCode
	}
	return ""
}

// TestProviderCodeFlow: discovery, authorize with PKCE, token, id_token
// verified against the JWKS (amr, acr, nonce, claims), userinfo.
func TestProviderCodeFlow(t *testing.T) {
	f := newFixture(t)
	in := f.OIDCClient(false)
	alice := f.user("alice")
	r := f.RP(in, string(in.SKey.Reveal()))
	code, verifier, nonce := r.codeFlow(f.Browser(), alice)
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("Verify(id_token): %v", err)
	}
	var claims struct {
		AMR               []string `json:"amr"`
		ACR               string   `json:"acr"`
		Nonce             string   `json:"nonce"`
		PreferredUsername string   `json:"preferred_username"`
		Email             string   `json:"email"`
		Name              string   `json:"name"`
		AuthTime          int64    `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != alice.ID || claims.Nonce != nonce || claims.PreferredUsername != "alice" || claims.Email != "alice@example.com" ||
		claims.Name != "Alice Liddell" || !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) ||
		claims.ACR != "http://schemas.openid.net/pape/policies/2007/06/multi-factor" || claims.AuthTime == 0 {
		t.Errorf("id_token sub %s claims %+v", idt.Subject, claims)
	}
	ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	if ui.Subject != alice.ID || ui.Email != "alice@example.com" {
		t.Errorf("userinfo = %+v", ui)
	}

	// A second exchange of the same code: invalid_grant.
	if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); oauthErr(err) != "invalid_grant" {
		t.Errorf("reused code: %v, want invalid_grant", err)
	}
	// A tampered id_token: refused by the verifier.
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), alice.ID, "DUMALLORY00000000000", 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	if _, err := r.verifier.Verify(r.ctx, tampered); err == nil {
		t.Errorf("a tampered id_token verified")
	}
	// The id_token is not an access token.
	req, _ := http.NewRequest("GET", "https://"+f.Host+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	resp, err := f.HTTP(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("userinfo with the id_token = %d %q, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// The access token expires: userinfo refuses it (invalid_token).
	f.Advance(11 * time.Minute)
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("userinfo with an expired access token = %v, want 401", err)
	}
}

// TestProviderTokenRefusals: each refusal is the OAuth error the spec
// names, and a refused client consumes nothing.
func TestProviderTokenRefusals(t *testing.T) {
	f := newFixture(t)
	in := f.OIDCClient(false)
	alice := f.user("alice")
	good := f.RP(in, string(in.SKey.Reveal()))

	t.Run("wrong client secret", func(t *testing.T) {
		code, verifier, _ := good.codeFlow(f.Browser(), alice)
		bad := f.RP(in, "not-the-secret-not-the-secret-not-the-se")
		_, err := bad.conf.Exchange(bad.ctx, code, oauth2.VerifierOption(verifier))
		if oauthErr(err) != "invalid_client" {
			t.Errorf("wrong secret: %v, want invalid_client", err)
		}
		// The code was not consumed by the refused client.
		if _, err := good.conf.Exchange(good.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("the right client after a refused one: %v", err)
		}
	})
	t.Run("PKCE verifier mismatch", func(t *testing.T) {
		code, _, _ := good.codeFlow(f.Browser(), alice)
		_, err := good.conf.Exchange(good.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if oauthErr(err) != "invalid_grant" {
			t.Errorf("wrong verifier: %v, want invalid_grant", err)
		}
	})
	t.Run("PKCE verifier missing", func(t *testing.T) {
		code, _, _ := good.codeFlow(f.Browser(), alice)
		if _, err := good.conf.Exchange(good.ctx, code); oauthErr(err) != "invalid_grant" {
			t.Errorf("no verifier: %v, want invalid_grant", err)
		}
	})
	t.Run("another redirect_uri at the exchange", func(t *testing.T) {
		code, verifier, _ := good.codeFlow(f.Browser(), alice)
		other := *good
		other.conf.RedirectURL = "https://rp.example.com/other"
		if _, err := other.conf.Exchange(other.ctx, code, oauth2.VerifierOption(verifier)); oauthErr(err) != "invalid_grant" {
			t.Errorf("another redirect_uri: %v, want invalid_grant", err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code, verifier, _ := good.codeFlow(f.Browser(), alice)
		f.Advance(2 * time.Minute)
		if _, err := good.conf.Exchange(good.ctx, code, oauth2.VerifierOption(verifier)); oauthErr(err) != "invalid_grant" {
			t.Errorf("expired code: %v, want invalid_grant", err)
		}
	})
	t.Run("unsupported grant", func(t *testing.T) {
		resp, body := post(t, f, url.Values{"grant_type": {"password"}, "client_id": {in.IKey}, "client_secret": {string(in.SKey.Reveal())}})
		if resp.StatusCode != 400 || !strings.Contains(body, "unsupported_grant_type") {
			t.Errorf("grant_type=password: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("websdk client at the standard token endpoint", func(t *testing.T) {
		app := f.App()
		resp, body := post(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {redirectURI},
			"client_id": {app.IKey}, "client_secret": {string(app.SKey.Reveal())}})
		if resp.StatusCode != 401 || !strings.Contains(body, "invalid_client") {
			t.Errorf("websdk client: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		resp, body := post(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("c", 20<<10)}})
		if resp.StatusCode != 400 || !strings.Contains(body, "invalid_request") {
			t.Errorf("oversized: %d %s", resp.StatusCode, body)
		}
	})
}

func post(t *testing.T, f *fixture, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := f.HTTP(nil).PostForm("https://"+f.Host+"/oidc/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestProviderAuthorizeRefusals: before the redirect_uri is known good,
// refusals are pages; after, OAuth errors at the client's redirect_uri.
func TestProviderAuthorizeRefusals(t *testing.T) {
	f := newFixture(t)
	conf := f.OIDCClient(false)
	pub := f.OIDCClient(true)
	base := func(in mfa.Integration, mods map[string]string) string {
		q := url.Values{"client_id": {in.IKey}, "redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"s1"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
		for k, v := range mods {
			if v == "" {
				q.Del(k)
			} else {
				q.Set(k, v)
			}
		}
		return "https://" + f.Host + "/oidc/authorize?" + q.Encode()
	}
	pages := []struct {
		name string
		url  string
	}{
		{"unregistered redirect_uri", base(conf, map[string]string{"redirect_uri": "https://evil.example/cb"})},
		{"unknown client", base(mfa.Integration{IKey: "DIXXXXXXXXXXXXXXXXXX"}, nil)},
		{"websdk client", base(f.App(rpRedirect), nil)},
		{"parameter twice", base(conf, nil) + "&scope=openid"},
	}
	for _, tt := range pages {
		resp, body := f.Browser().Get(tt.url)
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode < 400 || !strings.Contains(body, "not valid") {
			t.Errorf("%s: %d %v, want an error page, no redirect", tt.name, resp.StatusCode, resp.Header.Get("Location"))
		}
		wantPageHeaders(t, resp)
	}
	redirects := []struct {
		name string
		in   mfa.Integration
		mods map[string]string
		want string
	}{
		{"response_type token", conf, map[string]string{"response_type": "token"}, "unsupported_response_type"},
		{"no openid scope", conf, map[string]string{"scope": "profile"}, "invalid_scope"},
		{"PKCE plain", conf, map[string]string{"code_challenge_method": "plain"}, "invalid_request"},
		{"public client without PKCE", pub, map[string]string{"code_challenge": "", "code_challenge_method": ""}, "invalid_request"},
		{"short challenge", conf, map[string]string{"code_challenge": "abc"}, "invalid_request"},
		{"prompt=none", conf, map[string]string{"prompt": "none"}, "login_required"},
		{"bad max_age", conf, map[string]string{"max_age": "-1"}, "invalid_request"},
		{"request object", conf, map[string]string{"request": "eyJ..."}, "request_not_supported"},
	}
	for _, tt := range redirects {
		resp, _ := f.Browser().Get(base(tt.in, tt.mods))
		loc, _ := resp.Location()
		if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), rpRedirect) ||
			loc.Query().Get("error") != tt.want || loc.Query().Get("state") != "s1" {
			t.Errorf("%s: %d %v, want 303 to the client with error=%s and the state", tt.name, resp.StatusCode, loc, tt.want)
		}
	}
	// A confidential client may skip PKCE; the login then goes to the password page.
	resp, _ := f.Browser().Get(base(conf, map[string]string{"code_challenge": "", "code_challenge_method": ""}))
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.Path, "/login/") {
		t.Errorf("confidential client without PKCE: %d %v, want 303 to /login/", resp.StatusCode, loc)
	}
}

// TestProviderKeyRotation: after a rotation, new tokens are signed by the
// new key, the old key stays in the JWKS, and tokens signed before verify
// as well as tokens signed after.
func TestProviderKeyRotation(t *testing.T) {
	f := newFixture(t)
	in := f.OIDCClient(false)
	alice := f.user("alice")
	r := f.RP(in, string(in.SKey.Reveal()))
	issue := func() string {
		code, verifier, _ := r.codeFlow(f.Browser(), alice)
		tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return tok.Extra("id_token").(string)
	}
	kid := func(raw string) string {
		h, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
		var v struct {
			Kid string `json:"kid"`
		}
		json.Unmarshal(h, &v)
		return v.Kid
	}
	before := issue()
	keys := f.jwks()
	if len(keys) != 1 {
		t.Fatalf("JWKS before rotation has %d keys, want 1", len(keys))
	}
	if err := f.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	after := issue()
	if kid(before) == kid(after) {
		t.Fatalf("the token after rotation has the old kid %s", kid(after))
	}
	keys = f.jwks()
	if len(keys) != 2 || !slices.Contains(keys, kid(before)) || !slices.Contains(keys, kid(after)) {
		t.Errorf("JWKS after rotation = %v, want the old and the new key", keys)
	}
	// A fresh relying party (cold key cache) verifies both.
	fresh := f.RP(in, string(in.SKey.Reveal()))
	for name, raw := range map[string]string{"old": before, "new": after} {
		if _, err := fresh.verifier.Verify(fresh.ctx, raw); err != nil {
			t.Errorf("Verify(%s token) after rotation: %v", name, err)
		}
	}
	// Once the old key's tokens have expired, the old key is no longer published.
	f.Advance(12 * time.Minute)
	if keys := f.jwks(); len(keys) != 1 || keys[0] != kid(after) {
		t.Errorf("JWKS after the overlap = %v, want only %s", keys, kid(after))
	}
}

func (f *fixture) jwks() []string {
	f.t.Helper()
	resp, body := f.Browser().Get("https://" + f.Host + "/oidc/jwks")
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &set); err != nil || resp.StatusCode != 200 {
		f.t.Fatalf("jwks = %d %s", resp.StatusCode, body)
	}
	var out []string
	for _, k := range set.Keys {
		if k.D != "" || k.Alg != "ES256" {
			f.t.Errorf("JWKS key %s: alg %s, private part published: %v", k.Kid, k.Alg, k.D != "")
		}
		out = append(out, k.Kid)
	}
	return out
}

// RotateKeys rotates the provider's signing keys (as another node, or the
// operator's command, would: through the store).
func (f *fixture) RotateKeys() error {
	h := oidc.New(oidc.Deps{Store: f.Store, Now: f.now, Rand: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	_, err := oidc.NewProvider(h, f.Store, 0).RotateKeys(f.t.Context())
	return err
}

// TestProviderGroupsClaim: with scope groups, the id_token and userinfo
// carry the names of the user's twostep groups; without it, neither does.
func TestProviderGroupsClaim(t *testing.T) {
	f := newFixture(t)
	in := f.OIDCClient(false)
	alice := f.user("alice")
	for _, name := range []string{"vpn-users", "engineering"} {
		id, err := mfa.NewID(mfa.PrefixGroup, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		g := mfa.Group{ID: id, Name: name, Status: mfa.GroupActive, Created: time.Now()}
		if err := f.Store.CreateGroup(t.Context(), g); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.AddGroupMember(t.Context(), g.ID, alice.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, withGroups := range []bool{true, false} {
		r := f.RP(in, string(in.SKey.Reveal()))
		if withGroups {
			r.conf.Scopes = append(r.conf.Scopes, "groups")
		}
		code, verifier, _ := r.codeFlow(f.Browser(), alice)
		tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.verifier.Verify(r.ctx, raw)
		if err != nil {
			t.Fatalf("Verify(id_token): %v", err)
		}
		var claims struct {
			Groups []string `json:"groups"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("UserInfo: %v", err)
		}
		var uiClaims struct {
			Groups []string `json:"groups"`
		}
		if err := ui.Claims(&uiClaims); err != nil {
			t.Fatal(err)
		}
		slices.Sort(claims.Groups)
		slices.Sort(uiClaims.Groups)
		want := []string(nil)
		if withGroups {
			want = []string{"engineering", "vpn-users"}
		}
		if !slices.Equal(claims.Groups, want) || !slices.Equal(uiClaims.Groups, want) {
			t.Errorf("scope groups %t: id_token groups %q, userinfo groups %q; want %q", withGroups, claims.Groups, uiClaims.Groups, want)
		}
	}
}
