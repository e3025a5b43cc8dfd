package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	duoapi "github.com/duosecurity/duo_api_golang"
	"golang.org/x/oauth2"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/slapdtest"
	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// relyingParty is a small Go web application behind twostep's OIDC
// provider: golang.org/x/oauth2 with PKCE and github.com/coreos/go-oidc/v3
// through discovery, verifying every id_token against the JWKS.
type relyingParty struct {
	t        *testing.T
	ctx      context.Context
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider
	url      string

	mu      sync.Mutex
	pending map[string][2]string // state -> verifier, nonce
	tokens  []string             // every verified id_token, in order
}

var rpPage = template.Must(template.New("").Parse(`<!doctype html><html lang="en"><head><title>RP</title></head><body><main>
<h1 id="welcome">Welcome, {{.User}}</h1>
<p>sub <span id="sub">{{.Sub}}</span></p>
<p>amr <span id="amr">{{.AMR}}</span></p>
<p>email <span id="email">{{.Email}}</span></p>
</main></body></html>`))

func (rp *relyingParty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		state, verifier, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.pending[state] = [2]string{verifier, nonce}
		rp.mu.Unlock()
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}
		if p := r.URL.Query().Get("prompt"); p != "" {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
		}
		http.Redirect(w, r, rp.conf.AuthCodeURL(state, opts...), http.StatusSeeOther)
	case "/callback":
		rp.mu.Lock()
		pend, ok := rp.pending[r.URL.Query().Get("state")]
		delete(rp.pending, r.URL.Query().Get("state"))
		rp.mu.Unlock()
		if !ok {
			http.Error(w, "unknown state; error="+r.URL.Query().Get("error"), http.StatusBadRequest)
			return
		}
		tok, err := rp.conf.Exchange(rp.ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(pend[0]))
		if err != nil {
			http.Error(w, "exchange: "+err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.verifier.Verify(rp.ctx, raw)
		if err != nil || idt.Nonce != pend[1] {
			http.Error(w, fmt.Sprintf("id_token: %v (nonce ok %v)", err, idt != nil && idt.Nonce == pend[1]), http.StatusBadGateway)
			return
		}
		var c struct {
			AMR  []string `json:"amr"`
			User string   `json:"preferred_username"`
		}
		idt.Claims(&c)
		ui, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != idt.Subject {
			http.Error(w, fmt.Sprintf("userinfo: %v", err), http.StatusBadGateway)
			return
		}
		rp.mu.Lock()
		rp.tokens = append(rp.tokens, raw)
		rp.mu.Unlock()
		rpPage.Execute(w, map[string]string{"User": c.User, "Sub": idt.Subject, "AMR": strings.Join(c.AMR, " "), "Email": ui.Email})
	case "/bye":
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Bye</title></head><body><main><h1 id="bye">Logged out (%s)</h1></main></body></html>`,
			template.HTMLEscapeString(r.URL.Query().Get("state")))
	default:
		http.NotFound(w, r)
	}
}

func (rp *relyingParty) last() string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.tokens[len(rp.tokens)-1]
}

func kidOf(raw string) string {
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	var v struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(h, &v)
	return v.Kid
}

// TestBrowserOIDC is issue 11's "Done when": a Go application using
// github.com/coreos/go-oidc/v3 and golang.org/x/oauth2 logs people in
// through twostep's OIDC provider, in real headless Chromium against a
// real twostepd:
//   - discovery, authorize with PKCE, the twostep password (after a wrong
//     one and an unknown user, which get the same message), the second
//     factor (an oathtool passcode) in the prompt, token, userinfo, and the
//     id_token verified against the JWKS with amr pwd otp mfa;
//   - single sign-on: the next login asks nothing; prompt=login asks again;
//   - after `twostepd oidc rotate-keys`, a new token carries the new kid
//     and both the old and the new token verify with a fresh client;
//   - end_session logs the browser out and returns to the application;
//   - a directory user (Debian's slapd, StartTLS, generated CA) logs in
//     through the same pages; with the directory down the page says to try
//     again later and nothing is accepted.
//
// axe-core runs on each first-factor page; with TWOSTEP_UPDATE_SCREENSHOTS=1
// they are written to docs/screenshots/login-*.png.
func TestBrowserOIDC(t *testing.T) {
	needProgram(t, "oathtool", "oathtool")
	dir := slapdtest.Start(t, slapdtest.User{UID: "dana", Password: "dana's directory password", Mail: "dana@example.com", CN: "Dana Scully"})
	env := map[string]string{
		"TWOSTEP_ORGANIZATION":       "Example Corp",
		"TWOSTEP_FIRST_FACTOR_OIDC":  "password,ldap",
		"TWOSTEP_LDAP_URLS":          dir.URL,
		"TWOSTEP_LDAP_CA_FILE":       dir.CAFile,
		"TWOSTEP_LDAP_SERVER_NAME":   "localhost",
		"TWOSTEP_LDAP_BIND_DN":       slapdtest.BindDN,
		"TWOSTEP_LDAP_BIND_PASSWORD": slapdtest.BindPassword,
		"TWOSTEP_LDAP_BASE_DN":       slapdtest.BaseDN,
		"TWOSTEP_LDAP_USER_FILTER":   "(&(objectClass=inetOrgPerson)(uid={username}))",
		"TWOSTEP_LDAP_TIMEOUT":       "2s",
	}
	in := startServe(t, func(k string) string { return env[k] })
	a := adminE2E{t, in}
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)

	// alice: a twostep password and an h6 token; dana: a directory user
	// with an h6 token.
	seedA, seedD := make([]byte, 20), make([]byte, 20)
	rand.Read(seedA)
	rand.Read(seedD)
	a.ok("user", "add", "alice", "--email", "alice@example.com", "--realname", "Alice Liddell")
	a.ok("user", "add", "dana", "--email", "dana@example.com")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600)
	a.ok("user", "set-password", "alice", "--password-file", pwFile)
	file := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(file, []byte("serial,secret,counter\nHW-1,"+hex.EncodeToString(seedA)+",0\n"), 0o600)
	a.ok("token", "import", file, "--type", "h6", "--assign", "alice")
	os.WriteFile(file, []byte("serial,secret,counter\nHW-2,"+hex.EncodeToString(seedD)+",0\n"), 0o600)
	a.ok("token", "import", file, "--type", "h6", "--assign", "dana")

	// The application, registered as an OIDC client through the Admin API.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	admin := duoapi.NewDuoApi(creds.AdminAPI.IKey, creds.AdminAPI.SKey, creds.APIHost, "twostep-e2e",
		duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = pool }))
	_, body, err := admin.SignedCall("POST", "/admin/v1/integrations", url.Values{"name": {"Go app"}, "type": {"oidc"},
		"redirect_uris": {appURL + "/callback"}, "post_logout_redirect_uris": {appURL + "/bye"}})
	var created struct {
		Stat     string `json:"stat"`
		Response struct {
			IKey string `json:"integration_key"`
			SKey string `json:"secret_key"`
		} `json:"response"`
	}
	if err != nil || json.Unmarshal(body, &created) != nil || created.Stat != "OK" {
		t.Fatalf("create oidc client: %s, %v", body, err)
	}
	rpCtx := gooidc.ClientContext(context.Background(), httpsClient(pool))
	issuer := "https://" + creds.APIHost + "/oidc"
	newRP := func() (*gooidc.Provider, *gooidc.IDTokenVerifier) {
		p, err := gooidc.NewProvider(rpCtx, issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		return p, p.Verifier(&gooidc.Config{ClientID: created.Response.IKey})
	}
	prov, ver := newRP()
	rp := &relyingParty{t: t, ctx: rpCtx, provider: prov, verifier: ver, url: appURL, pending: map[string][2]string{},
		conf: oauth2.Config{ClientID: created.Response.IKey, ClientSecret: created.Response.SKey, Endpoint: prov.Endpoint(),
			RedirectURL: appURL + "/callback", Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}}
	app := httptest.NewUnstartedServer(rp)
	app.Listener.Close()
	app.Listener = ln
	app.Start()
	t.Cleanup(app.Close)

	conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	ctx := browsertest.New(t, browsertest.TrustCertificate(leaf), browsertest.WindowSize(1024, 900), browsertest.Timeout(3*time.Minute))
	text := func(t *testing.T, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// waitFor waits (bounded) for sel, and on failure says where the
	// browser is and what it shows.
	waitFor := func(t *testing.T, sel string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(wctx, chromedp.WaitVisible(sel)); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Text("body"))
			t.Fatalf("waiting for %s: %v\nat %s:\n%s", sel, err, loc, body)
		}
	}
	// password submits the login form; the page it leaves is marked
	// stale, so that waits match only the next page.
	password := func(t *testing.T, user, pw, next string) {
		t.Helper()
		waitFor(t, "#f-username")
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`(document.querySelector("#f-username").value = "", document.body.dataset.stale = "1", true)`)); err != nil {
			t.Fatal(err)
		}
		browsertest.Do(t, ctx, chromedp.SendKeys("#f-username", user), chromedp.SendKeys("#f-password", pw), chromedp.Submit("#f-password"))
		waitFor(t, "body:not([data-stale]) "+next)
	}
	passcode := func(t *testing.T, code string) {
		t.Helper()
		browsertest.Do(t, ctx, chromedp.WaitVisible("#f-passcode, .prompt-devices"))
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector(".prompt-devices")`)); ok {
			browsertest.Do(t, ctx, chromedp.Click(`.prompt-devices button[data-method="passcode"]`), chromedp.WaitVisible("#f-passcode"))
		}
		browsertest.Do(t, ctx, chromedp.SendKeys("#f-passcode", code), chromedp.Submit("#f-passcode"))
		waitFor(t, "#welcome")
	}

	t.Run("password and passcode", func(t *testing.T) {
		browsertest.Do(t, ctx, chromedp.Navigate(appURL+"/login"), chromedp.WaitVisible("#f-username"))
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "login-password")
		password(t, "alice", "wrong horse battery staple", ".field-error")
		wrong := text(t, ".field-error")
		if !strings.Contains(wrong, authflow.MsgBadPassword) {
			t.Errorf("wrong password says %q, want %q", wrong, authflow.MsgBadPassword)
		}
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "login-password-error")
		password(t, "mallory", "correct horse battery staple", ".field-error")
		if unknown := text(t, ".field-error"); unknown != wrong {
			t.Errorf("unknown user says %q, wrong password %q: want the same", unknown, wrong)
		}
		password(t, "alice", "correct horse battery staple", "#f-passcode, body:not([data-stale]) .prompt-devices")
		passcode(t, oathHOTP(t, seedA, 0))
		browsertest.Do(t, ctx, chromedp.WaitVisible("#welcome"))
		if got := text(t, "#amr"); got != "pwd otp mfa" {
			t.Errorf("amr = %q, want pwd otp mfa", got)
		}
		if got := text(t, "#email"); got != "alice@example.com" {
			t.Errorf("userinfo email = %q", got)
		}
	})
	first := rp.last()

	t.Run("single sign-on and prompt=login", func(t *testing.T) {
		browsertest.Do(t, ctx, chromedp.Navigate(appURL+"/login"), chromedp.WaitVisible("#welcome"))
		if got := text(t, "#amr"); got != "pwd otp mfa" {
			t.Errorf("amr after single sign-on = %q", got)
		}
		browsertest.Do(t, ctx, chromedp.Navigate(appURL+"/login?prompt=login"), chromedp.WaitVisible("#f-username"))
	})

	t.Run("key rotation", func(t *testing.T) {
		var o, e bytes.Buffer
		if err := run(context.Background(), []string{"oidc", "rotate-keys", "--data", in.data}, func(string) string { return "" },
			strings.NewReader(""), &o, &e); err != nil {
			t.Fatalf("oidc rotate-keys: %v\n%s", err, e.String())
		}
		browsertest.Do(t, ctx, chromedp.Navigate(appURL+"/login"), chromedp.WaitVisible("#welcome"))
		second := rp.last()
		if kidOf(first) == kidOf(second) {
			t.Fatalf("the token after rotation has the old kid %s", kidOf(second))
		}
		_, fresh := newRP()
		for name, raw := range map[string]string{"before rotation": first, "after rotation": second} {
			if _, err := fresh.Verify(rpCtx, raw); err != nil {
				t.Errorf("Verify(token %s) with a fresh client: %v", name, err)
			}
		}
	})

	t.Run("end_session", func(t *testing.T) {
		q := url.Values{"id_token_hint": {rp.last()}, "post_logout_redirect_uri": {appURL + "/bye"}, "state": {"s-42"}}
		browsertest.Do(t, ctx, chromedp.Navigate("https://"+creds.APIHost+"/oidc/end_session?"+q.Encode()), chromedp.WaitVisible("#bye"))
		if got := text(t, "#bye"); !strings.Contains(got, "s-42") {
			t.Errorf("post-logout page = %q, want the state back", got)
		}
		browsertest.Do(t, ctx, chromedp.Navigate(appURL+"/login"), chromedp.WaitVisible("#f-username"))
	})

	t.Run("directory user", func(t *testing.T) {
		// The login page is open from the previous step.
		password(t, "dana", "not dana's password", ".field-error")
		if got := text(t, ".field-error"); !strings.Contains(got, authflow.MsgBadPassword) {
			t.Errorf("directory user, wrong password: %q", got)
		}
		password(t, "dana", "dana's directory password", "#f-passcode, body:not([data-stale]) .prompt-devices")
		passcode(t, oathHOTP(t, seedD, 0))
		browsertest.Do(t, ctx, chromedp.WaitVisible("#welcome"))
		if got := text(t, "#amr"); got != "pwd otp mfa" {
			t.Errorf("dana's amr = %q", got)
		}
		if got := text(t, "#email"); got != "dana@example.com" {
			t.Errorf("dana's email = %q", got)
		}
	})

	t.Run("directory down", func(t *testing.T) {
		q := url.Values{"id_token_hint": {rp.last()}}
		browsertest.Do(t, ctx, chromedp.Navigate("https://"+creds.APIHost+"/oidc/end_session?"+q.Encode()))
		waitFor(t, "main h1")
		if got := text(t, "main h1"); got != "You are logged out" {
			t.Errorf("end_session without a redirect shows %q", got)
		}
		browsertest.Do(t, ctx, chromedp.Navigate(appURL+"/login"))
		waitFor(t, "#f-username")
		dir.Stop()
		password(t, "dana", "dana's directory password", "main h1")
		page := text(t, "main")
		if !strings.Contains(page, authflow.MsgDirectoryDown) || slices.Contains([]string{"Welcome"}, text(t, "main h1")) {
			t.Errorf("directory down: page %q, want %q", page, authflow.MsgDirectoryDown)
		}
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "login-directory-down")
	})
}
