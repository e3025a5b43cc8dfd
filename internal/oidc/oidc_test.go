package oidc_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestGoSDK drives Duo's own Go Universal SDK (v1.1.0) through the whole
// flow over real TLS: health check, auth URL, the browser sent to the
// prompt with its binding cookie, the prompt's completion, the return with
// duo_code and state, the code exchange and the id_token's claims.
func TestGoSDK(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	c := f.SDK(app, redirectURI)
	hc, err := c.HealthCheck()
	if err != nil || hc.Stat != "OK" || hc.Response.Time == 0 {
		t.Fatalf("HealthCheck() = %+v, %v; want OK with a timestamp", hc, err)
	}
	b := f.Browser()
	// The Go SDK puts no nonce in its auth URL; the Python SDK adds it as
	// a query parameter, which twostep accepts.
	l := b.Start(c, "alice", url.Values{"nonce": {"n-0S6_WzA2Mj-42"}})
	cookies := b.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: f.Host, Path: "/"})
	if len(cookies) != 1 || cookies[0].Name != mfa.LoginBindingCookie(l.ID) {
		t.Fatalf("cookies after authorize = %v, want the binding cookie %s", cookies, mfa.LoginBindingCookie(l.ID))
	}
	// Before the prompt is done, the return sends the browser back to it.
	resp, _ := b.Get("https://" + f.Host + returnPath(f, l))
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != l.Prompt.Path {
		t.Fatalf("return before the prompt finished = %d to %v, want 303 to %s", resp.StatusCode, loc, l.Prompt.Path)
	}
	lr := f.Complete(l, mfa.LoginAllow)
	q := b.Return(l)
	if q.Get("state") != l.State || q.Get("duo_code") == "" || q.Has("code") {
		t.Fatalf("redirect query = %v, want duo_code and state %q", q, l.State)
	}
	tok, err := c.ExchangeAuthorizationCodeFor2faResultWithNonce(q.Get("duo_code"), "alice", "n-0S6_WzA2Mj-42")
	if err != nil {
		t.Fatalf("ExchangeAuthorizationCodeFor2faResultWithNonce: %v", err)
	}
	if tok.PreferredUsername != "alice" || tok.Nonce != "n-0S6_WzA2Mj-42" || tok.Audience != app.IKey ||
		tok.Issuer != "https://"+f.Host+"/oauth/v1/token" || tok.Subject != "alice" || tok.Id == "" {
		t.Errorf("id_token = %+v, want alice, the nonce, aud %s, iss on %s", tok, app.IKey, f.Host)
	}
	if r := tok.AuthResult; r.Result != "allow" || r.Status != "allow" || r.StatusMsg != "Login Successful" {
		t.Errorf("auth_result = %+v, want allow/allow/Login Successful", r)
	}
	ac := tok.AuthContext
	if ac.Txid != lr.AuthTxID || ac.Factor != "duo_mobile_passcode" || ac.Result != "success" ||
		ac.User.Name != "alice" || ac.Application.Key != app.IKey || ac.AccessDevice.Ip != "192.0.2.7" ||
		ac.EventType != "authentication" || ac.Timestamp == 0 {
		t.Errorf("auth_context = %+v, want the auth-log record %s", ac, lr.AuthTxID)
	}
	if time.Unix(int64(tok.AuthTime), 0).Sub(lr.AuthTime).Abs() > time.Second {
		t.Errorf("auth_time = %d, want %v", tok.AuthTime, lr.AuthTime)
	}
	// The binding cookie is gone once the login is handed back.
	if cs := b.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: f.Host, Path: "/"}); len(cs) != 0 {
		t.Errorf("cookies after the return = %v, want none", cs)
	}
	// A code is single use.
	if _, err := c.ExchangeAuthorizationCodeFor2faResult(q.Get("duo_code"), "alice"); err == nil {
		t.Errorf("second exchange of one code succeeded")
	}
}

// TestGoSDKCodeAttribute: use_duo_code_attribute=false answers code=.
func TestGoSDKCodeAttribute(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	c := f.SDKWith(app.IKey, string(app.SKey.Reveal()), redirectURI, false)
	b := f.Browser()
	l := b.Start(c, "bob", nil)
	f.Complete(l, mfa.LoginAllow)
	q := b.Return(l)
	if q.Get("code") == "" || q.Has("duo_code") || q.Get("state") != l.State {
		t.Fatalf("redirect query = %v, want code= and state", q)
	}
	tok, err := c.ExchangeAuthorizationCodeFor2faResult(q.Get("code"), "bob")
	if err != nil || tok.PreferredUsername != "bob" {
		t.Fatalf("exchange = %+v, %v; want bob", tok, err)
	}
}

// TestDenied: a denied second factor goes back with access_denied and the
// state, and yields no code.
func TestDenied(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	c := f.SDK(app, redirectURI)
	b := f.Browser()
	l := b.Start(c, "alice", nil)
	f.Complete(l, mfa.LoginDeny)
	q := b.Return(l)
	if q.Get("error") != "access_denied" || q.Get("state") != l.State || q.Has("duo_code") {
		t.Fatalf("redirect query = %v, want error=access_denied with the state and no code", q)
	}
	lr, _ := f.Store.GetLoginRequest(t.Context(), l.ID)
	if lr.CodeHash != "" {
		t.Errorf("a denied login got a code")
	}
}

// TestRefusedExchangesConsumeNothing: each refused exchange leaves the code
// redeemable by its rightful client.
func TestRefusedExchangesConsumeNothing(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	other := f.App(redirectURI) // another application with the same redirect URI
	c := f.SDK(app, redirectURI)
	tests := []struct {
		name     string
		exchange func(code string) error
	}{
		{"wrong client secret", func(code string) error {
			_, err := f.SDKWith(app.IKey, strings.Repeat("x", 40), redirectURI, true).ExchangeAuthorizationCodeFor2faResult(code, "alice")
			return err
		}},
		{"code of client A exchanged by client B", func(code string) error {
			_, err := f.SDK(other, redirectURI).ExchangeAuthorizationCodeFor2faResult(code, "alice")
			return err
		}},
		{"another redirect_uri", func(code string) error {
			_, err := f.SDK(app, "https://app.example.com/elsewhere").ExchangeAuthorizationCodeFor2faResult(code, "alice")
			return err
		}},
		{"unknown client", func(code string) error {
			_, err := f.SDKWith("DIXXXXXXXXXXXXXXXXXX", string(app.SKey.Reveal()), redirectURI, true).ExchangeAuthorizationCodeFor2faResult(code, "alice")
			return err
		}},
		{"replayed client assertion", func(code string) error {
			a := f.assertion(app, "/oauth/v1/token")
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code + "x"}, "redirect_uri": {redirectURI},
				"client_id": {app.IKey}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion": {a}}
			f.postToken(form, "") // uses the assertion (wrong code: invalid_grant)
			form.Set("code", code)
			if status, body := f.postToken(form, ""); status != 401 || !strings.Contains(body, "invalid_client") {
				t.Errorf("replayed assertion = %d %s, want 401 invalid_client", status, body)
			}
			return errRefused
		}},
		{"oversized body", func(code string) error {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
				"client_id": {app.IKey}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion": {f.assertion(app, "/oauth/v1/token")}, "pad": {strings.Repeat("p", 20<<10)}}
			if status, body := f.postToken(form, ""); status != 400 || !strings.Contains(body, "invalid_request") {
				t.Errorf("oversized body = %d %s, want 400 invalid_request", status, body)
			}
			return errRefused
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.Browser()
			code, _ := b.Code(c, "alice")
			if err := tt.exchange(code); err == nil {
				t.Fatalf("exchange (%s) succeeded, want refused", tt.name)
			}
			tok, err := c.ExchangeAuthorizationCodeFor2faResult(code, "alice")
			if err != nil || tok.PreferredUsername != "alice" {
				t.Errorf("rightful exchange after the refused one = %v, %v; want the code still redeemable", tok, err)
			}
		})
	}
}

var errRefused = io.ErrUnexpectedEOF // any non-nil error: the test checked the refusal itself

// postToken POSTs form to the token endpoint as a body, or (python=true via
// rawQuery) as the query of a bodiless POST.
func (f *fixture) postToken(form url.Values, mode string) (int, string) {
	f.t.Helper()
	u := "https://" + f.Host + "/oauth/v1/token"
	var req *http.Request
	if mode == "query" {
		req, _ = http.NewRequest(http.MethodPost, u+"?"+form.Encode(), nil)
	} else {
		req, _ = http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := f.HTTP(nil).Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		f.t.Errorf("token answer Cache-Control = %q, want no-store", cc)
	}
	return resp.StatusCode, string(body)
}

// TestTokenQueryParameters: the Python SDK's bodiless POST with query
// parameters works like a form body.
func TestTokenQueryParameters(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	code, _ := f.Browser().Code(f.SDK(app, redirectURI), "alice")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"client_id": {app.IKey}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {f.assertion(app, "/oauth/v1/token")}}
	status, body := f.postToken(form, "query")
	var got struct {
		IDToken   string `json:"id_token"`
		Access    string `json:"access_token"`
		ExpiresIn int    `json:"expires_in"`
		TokenType string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(body), &got); status != 200 || err != nil || got.IDToken == "" ||
		got.Access == "" || got.ExpiresIn <= 0 || got.TokenType != "Bearer" {
		t.Fatalf("bodiless POST = %d %s, want the four keys with token_type Bearer", status, body)
	}
	// Missing parameters and wrong grant types are named.
	for _, tt := range []struct {
		drop, set, val, want string
	}{
		{drop: "code", want: "invalid_request"},
		{drop: "client_assertion", want: "invalid_request"},
		{set: "grant_type", val: "password", want: "unsupported_grant_type"},
		{set: "client_assertion_type", val: "x", want: "invalid_request"},
	} {
		g := url.Values{}
		for k, v := range form {
			g[k] = v
		}
		g.Set("client_assertion", f.assertion(app, "/oauth/v1/token"))
		if tt.drop != "" {
			g.Del(tt.drop)
		} else {
			g.Set(tt.set, tt.val)
		}
		if status, body := f.postToken(g, ""); status != 400 || !strings.Contains(body, `"`+tt.want+`"`) {
			t.Errorf("token with %+v = %d %s, want 400 %s", tt, status, body, tt.want)
		}
	}
}

// TestCodeExpires: a code lives about a minute.
func TestCodeExpires(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	c := f.SDK(app, redirectURI)
	code, _ := f.Browser().Code(c, "alice")
	f.Advance(61 * time.Second)
	if _, err := c.ExchangeAuthorizationCodeFor2faResult(code, "alice"); err == nil {
		t.Fatalf("exchange of a 61-second-old code succeeded")
	}
}

// TestClientSideChecks: what the server cannot know (the username and
// nonce the application expects) the SDK checks in the id_token: a code
// of another user's login, or a wrong nonce, is refused by the SDK.
func TestClientSideChecks(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	c := f.SDK(app, redirectURI)
	code, _ := f.Browser().Code(c, "alice")
	if _, err := c.ExchangeAuthorizationCodeFor2faResult(code, "mallory"); err == nil {
		t.Errorf("alice's code exchanged as mallory's: the SDK accepted it")
	}
	b := f.Browser()
	l := b.Start(c, "alice", url.Values{"nonce": {"the-right-nonce"}})
	f.Complete(l, mfa.LoginAllow)
	q := b.Return(l)
	if _, err := c.ExchangeAuthorizationCodeFor2faResultWithNonce(q.Get("duo_code"), "alice", "another-nonce"); err == nil {
		t.Errorf("wrong nonce accepted by the SDK")
	}
}

// TestAuthorizeRefused: bad request objects are shown as an error page
// (never a redirect to an unvalidated URI) and start no login.
func TestAuthorizeRefused(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	secret := string(app.SKey.Reveal())
	sign := func(mods ...func(map[string]any)) string {
		return jwtHS(t, "HS512", secret, f.requestObject(app, mods...))
	}
	good := sign()
	tests := []struct {
		name  string
		query url.Values
		want  string // in the page
	}{
		{"expired", url.Values{"request": {sign(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })}}, "expired"},
		{"far exp", url.Values{"request": {sign(func(c map[string]any) { c["exp"] = time.Now().Add(time.Hour).Unix() })}}, "ahead"},
		{"no exp", url.Values{"request": {sign(func(c map[string]any) { delete(c, "exp") })}}, "exp is missing"},
		{"tampered signature", url.Values{"request": {good[:len(good)-4] + "AAAA"}}, "signature"},
		{"tampered claims", url.Values{"request": {tamper(good)}}, "signature"},
		{"alg none", url.Values{"request": {jwtHS(t, "none", "", f.requestObject(app))}}, "not an HS512 JWT"},
		{"alg HS256", url.Values{"request": {jwtHS(t, "HS256", secret, f.requestObject(app))}}, "not an HS512 JWT"},
		{"other secret", url.Values{"request": {jwtHS(t, "HS512", strings.Repeat("y", 40), f.requestObject(app))}}, "signature"},
		{"unregistered redirect_uri", url.Values{"request": {sign(func(c map[string]any) { c["redirect_uri"] = "https://evil.example/cb" })}}, "not registered"},
		{"redirect_uri prefix", url.Values{"request": {sign(func(c map[string]any) { c["redirect_uri"] = redirectURI + "/x" })}}, "not registered"},
		{"another client_id", url.Values{"request": {sign(func(c map[string]any) { c["client_id"] = "DIXXXXXXXXXXXXXXXXXX" })}}, "client_id"},
		{"wrong aud", url.Values{"request": {sign(func(c map[string]any) { c["aud"] = "https://evil.example" })}}, "audience"},
		{"missing request", url.Values{}, "missing"},
		{"oversized request", url.Values{"request": {strings.Repeat("a", 9<<10)}}, "longer than"},
		{"oversized query", url.Values{"request": {good}, "pad": {strings.Repeat("p", 17<<10)}}, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"response_type": {"code"}, "client_id": {app.IKey}}
			for k, v := range tt.query {
				q[k] = v
			}
			b := f.Browser()
			resp, body := b.Get("https://" + f.Host + "/oauth/v1/authorize?" + q.Encode())
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("authorize (%s) = %d %q, want 400 page saying %q", tt.name, resp.StatusCode, body, tt.want)
			}
			wantPageHeaders(t, resp)
			if len(resp.Cookies()) != 0 {
				t.Errorf("authorize (%s) set cookies %v, want none", tt.name, resp.Cookies())
			}
		})
	}
	// Unknown and non-websdk clients.
	authapi := mfa.Integration{IKey: "DIAUTHAPIXXXXXXXXXXX", SKey: app.SKey, Name: "a", Type: mfa.IntegrationAuthAPI,
		EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}
	if err := f.Store.CreateIntegration(t.Context(), authapi); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"DIUNKNOWNXXXXXXXXXXX", authapi.IKey} {
		resp, body := f.Browser().Get("https://" + f.Host + "/oauth/v1/authorize?" +
			url.Values{"response_type": {"code"}, "client_id": {id}, "request": {good}}.Encode())
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "client_id") {
			t.Errorf("authorize with client %s = %d %q, want 400 naming client_id", id, resp.StatusCode, body)
		}
	}
}

// tamper changes the request object's username without re-signing.
func tamper(jwt string) string {
	parts := strings.Split(jwt, ".")
	payload, _ := base64Decode(parts[1])
	payload = []byte(strings.Replace(string(payload), `"alice"`, `"admin"`, 1))
	parts[1] = base64Encode(payload)
	return strings.Join(parts, ".")
}

// TestAuthorizeRedirectsErrors: once the redirect URI is validated, errors
// go back to the application with error= and state=.
func TestAuthorizeRedirectsErrors(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	secret := string(app.SKey.Reveal())
	tests := []struct {
		name      string
		mod       func(map[string]any)
		wantError string
		wantState bool
	}{
		{"short state", func(c map[string]any) { c["state"] = "short" }, "invalid_request", false},
		{"long state", func(c map[string]any) { c["state"] = strings.Repeat("s", 1025) }, "invalid_request", false},
		{"no username", func(c map[string]any) { delete(c, "duo_uname") }, "invalid_request", true},
		{"response_type token", func(c map[string]any) { c["response_type"] = "token" }, "unsupported_response_type", true},
		{"scope without openid", func(c map[string]any) { c["scope"] = "email" }, "invalid_scope", true},
	}
	for _, tt := range tests {
		q := url.Values{"response_type": {"code"}, "client_id": {app.IKey},
			"request": {jwtHS(t, "HS512", secret, f.requestObject(app, tt.mod))}}
		resp, body := f.Browser().Get("https://" + f.Host + "/oauth/v1/authorize?" + q.Encode())
		loc, _ := resp.Location()
		if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), redirectURI+"?") {
			t.Errorf("authorize (%s) = %d %v %q, want 303 to the application", tt.name, resp.StatusCode, loc, body)
			continue
		}
		got := loc.Query()
		if got.Get("error") != tt.wantError || (got.Get("state") == strings.Repeat("s", 36)) != tt.wantState {
			t.Errorf("authorize (%s) redirect query = %v, want error=%s (state: %v)", tt.name, got, tt.wantError, tt.wantState)
		}
	}
}

// TestBindingCookie: only the browser that started a login may finish it;
// a refused return consumes nothing.
func TestBindingCookie(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	c := f.SDK(app, redirectURI)
	victim := f.Browser()
	l := victim.Start(c, "alice", nil)
	f.Complete(l, mfa.LoginAllow)
	ret := "https://" + f.Host + returnPath(f, l)

	attacker := f.Browser()
	resp, body := attacker.Get(ret)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "another browser") {
		t.Errorf("return without the cookie = %d %q, want 403", resp.StatusCode, body)
	}
	wantPageHeaders(t, resp)
	// The attacker's own login's cookie does not open the victim's.
	own := attacker.Start(c, "mallory", nil)
	cs := attacker.Client.Jar.Cookies(&url.URL{Scheme: "https", Host: f.Host, Path: "/"})
	req, _ := http.NewRequest(http.MethodGet, ret, nil)
	for _, ck := range cs {
		req.AddCookie(&http.Cookie{Name: mfa.LoginBindingCookie(l.ID), Value: ck.Value})
	}
	r2, err := f.HTTP(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusForbidden {
		t.Errorf("return with another login's secret = %d, want 403", r2.StatusCode)
	}
	_ = own
	// Nothing was consumed: the victim's browser finishes the login.
	q := victim.Return(l)
	if _, err := c.ExchangeAuthorizationCodeFor2faResult(q.Get("duo_code"), "alice"); err != nil {
		t.Errorf("the victim's exchange after refused returns: %v", err)
	}
	// The return is not repeatable: a second code is never issued.
	resp, _ = victim.Get(ret)
	if resp.StatusCode == http.StatusSeeOther {
		t.Errorf("a second return redirected again (%v)", resp.Header.Get("Location"))
	}
	// Unknown ids.
	for _, id := range []string{"nope", strings.Repeat("x", 65), ""} {
		resp, _ := victim.Get("https://" + f.Host + "/oauth/v1/authorize/return?id=" + url.QueryEscape(id))
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("return id %q = %d, want 404 or 400", id, resp.StatusCode)
		}
	}
}

// TestHealthCheck: Duo's envelope; a bad or replayed assertion is 40002
// invalid_client.
func TestHealthCheck(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	post := func(form url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := f.HTTP(nil).PostForm("https://"+f.Host+"/oauth/v1/health_check", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	a := f.assertion(app, "/oauth/v1/health_check")
	if status, v := post(url.Values{"client_id": {app.IKey}, "client_assertion": {a}}); status != 200 || v["stat"] != "OK" {
		t.Fatalf("health check = %d %v, want 200 OK", status, v)
	}
	// With a port-less audience too (a configured host name without port).
	noPort := f.assertion(app, "", func(c map[string]any) { c["aud"] = "https://localhost/oauth/v1/health_check" })
	if status, v := post(url.Values{"client_id": {app.IKey}, "client_assertion": {noPort}}); status != 200 {
		t.Errorf("health check with aud on localhost = %d %v, want 200", status, v)
	}
	bad := []struct {
		name string
		give url.Values
	}{
		{"replayed", url.Values{"client_id": {app.IKey}, "client_assertion": {a}}},
		{"wrong secret", url.Values{"client_id": {app.IKey}, "client_assertion": {jwtHS(t, "HS512", strings.Repeat("z", 40),
			map[string]any{"iss": app.IKey, "sub": app.IKey, "aud": "https://" + f.Host + "/oauth/v1/health_check", "exp": time.Now().Add(time.Minute).Unix(), "jti": "j1"})}}},
		{"token audience", url.Values{"client_id": {app.IKey}, "client_assertion": {f.assertion(app, "/oauth/v1/token")}}},
		{"foreign host", url.Values{"client_id": {app.IKey}, "client_assertion": {f.assertion(app, "", func(c map[string]any) { c["aud"] = "https://evil.example/oauth/v1/health_check" })}}},
		{"expired", url.Values{"client_id": {app.IKey}, "client_assertion": {f.assertion(app, "/oauth/v1/health_check", func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })}}},
		{"far exp", url.Values{"client_id": {app.IKey}, "client_assertion": {f.assertion(app, "/oauth/v1/health_check", func(c map[string]any) { c["exp"] = time.Now().Add(time.Hour).Unix() })}}},
		{"no jti", url.Values{"client_id": {app.IKey}, "client_assertion": {f.assertion(app, "/oauth/v1/health_check", func(c map[string]any) { delete(c, "jti") })}}},
		{"iss other", url.Values{"client_id": {app.IKey}, "client_assertion": {f.assertion(app, "/oauth/v1/health_check", func(c map[string]any) { c["iss"] = "DIXXXXXXXXXXXXXXXXXX" })}}},
		{"alg none", url.Values{"client_id": {app.IKey}, "client_assertion": {jwtHS(t, "none", "", map[string]any{"iss": app.IKey, "sub": app.IKey, "aud": "https://" + f.Host + "/oauth/v1/health_check", "exp": time.Now().Add(time.Minute).Unix(), "jti": "j2"})}}},
		{"unknown client", url.Values{"client_id": {"DIXXXXXXXXXXXXXXXXXX"}, "client_assertion": {a}}},
		{"oversized", url.Values{"client_id": {app.IKey}, "client_assertion": {strings.Repeat("a", 20<<10)}}},
	}
	for _, tt := range bad {
		status, v := post(tt.give)
		if status != 400 || v["stat"] != "FAIL" || v["code"] != float64(40002) || v["message"] != "invalid_client" {
			t.Errorf("health check (%s) = %d %v, want 400 FAIL 40002 invalid_client", tt.name, status, v)
		}
	}
	// Duo's SDK with the wrong secret reports the failure.
	if _, err := f.SDKWith(app.IKey, strings.Repeat("q", 40), redirectURI, true).HealthCheck(); err == nil {
		t.Errorf("SDK HealthCheck with a wrong secret succeeded")
	}
}

// TestWebSDKKeyCannotSignAPIs: a websdk client id and secret cannot call
// the Auth API (the Admin API's refusal is in adminapi's TestWebSDKKeyRefused).
func TestWebSDKKeyCannotSignAPIs(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	req, _ := http.NewRequest(http.MethodGet, "https://"+f.Host+"/auth/v2/check", nil)
	if err := duoproto.SignRequest(req, app.IKey, string(app.SKey.Reveal()), 2, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := f.HTTP(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "40301") {
		t.Errorf("GET /auth/v2/check signed by a websdk key = %d %s, want 403 40301", resp.StatusCode, body)
	}
}

// TestDiscovery: the OpenID metadata names the endpoints on the host used.
func TestDiscovery(t *testing.T) {
	f := newFixture(t)
	resp, body := f.Browser().Get("https://" + f.Host + "/.well-known/openid-configuration")
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); resp.StatusCode != 200 || err != nil ||
		v["token_endpoint"] != "https://"+f.Host+"/oauth/v1/token" || v["authorization_endpoint"] != "https://"+f.Host+"/oauth/v1/authorize" {
		t.Errorf("discovery = %d %s", resp.StatusCode, body)
	}
}

// wantPageHeaders checks the security headers of a page.
func wantPageHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" ||
		resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("page headers = %v, want CSP default-src/frame-ancestors 'none', DENY, no-store, no-referrer", resp.Header)
	}
}

// TestFailedAssertionsSlowed: a source whose client assertions keep failing
// (guessing a client secret) gets 429 with Retry-After on the health check
// and the token endpoint alike, before its next assertion is even checked,
// until the limiter (shared with the signed APIs) refills.
func TestFailedAssertionsSlowed(t *testing.T) {
	f := newFixture(t)
	app := f.App()
	post := func(path string, form url.Values) (*http.Response, map[string]any) {
		t.Helper()
		resp, err := f.HTTP(nil).PostForm("https://"+f.Host+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp, v
	}
	guess := func(i int) url.Values {
		return url.Values{"client_id": {app.IKey}, "client_assertion": {jwtHS(t, "HS512", strings.Repeat("z", 40),
			map[string]any{"iss": app.IKey, "sub": app.IKey, "aud": "https://" + f.Host + "/oauth/v1/health_check",
				"exp": time.Now().Add(time.Minute).Unix(), "jti": fmt.Sprintf("guess-%d", i)})}}
	}
	for i := range 30 { // api.DefaultFailureLimit's burst
		if resp, v := post("/oauth/v1/health_check", guess(i)); resp.StatusCode != 400 {
			t.Fatalf("guess %d = %d %v, want 400 invalid_client", i, resp.StatusCode, v)
		}
	}
	good := url.Values{"client_id": {app.IKey}, "client_assertion": {f.assertion(app, "/oauth/v1/health_check")}}
	resp, v := post("/oauth/v1/health_check", good)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || v["code"] != float64(42901) {
		t.Errorf("health check after 30 failures = %d (Retry-After %q) %v, want 429 42901 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"), v)
	}
	resp, v = post("/oauth/v1/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {app.IKey}})
	if resp.StatusCode != 429 || v["error"] != "temporarily_unavailable" {
		t.Errorf("token after 30 failures = %d %v, want 429 temporarily_unavailable", resp.StatusCode, v)
	}
	f.Advance(time.Minute) // the limiter refills on the server's clock
	if resp, v := post("/oauth/v1/health_check", good); resp.StatusCode != 200 {
		t.Errorf("health check a minute later = %d %v, want 200", resp.StatusCode, v)
	}
}
