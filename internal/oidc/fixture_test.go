package oidc_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	duouniversal "github.com/duosecurity/duo_universal_golang/duouniversal"

	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

const redirectURI = "https://app.example.com/duo-callback"

// fixture is the whole twostepd handler (server.New, the oidc routes as
// production mounts them) over real TLS on a real SQLite store, with a
// clock the test can move forward.
type fixture struct {
	t     *testing.T
	Store *sqlstore.Store
	Host  string // localhost:<port>
	tls   *tls.Config

	mu     sync.Mutex
	offset time.Duration
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	f := &fixture{t: t, Store: st}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := server.New(server.Deps{Store: st, Logger: log, Now: f.now, ClockSkew: 5 * time.Minute,
		Hosts: []string{"localhost"}})
	ts := certstest.StartTLS(t, h)
	f.Host = ts.Host
	f.tls = &tls.Config{RootCAs: ts.Pool}
	return f
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.offset)
}

// Advance moves the server's clock forward.
func (f *fixture) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offset += d
}

// App stores a websdk integration with the given redirect URIs.
func (f *fixture) App(uris ...string) mfa.Integration {
	f.t.Helper()
	if len(uris) == 0 {
		uris = []string{redirectURI}
	}
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 40)
	in := mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "Intranet", Type: mfa.IntegrationWebSDK,
		EnrollPolicy: mfa.EnrollPolicyEnroll, RedirectURIs: uris, Created: time.Now()}
	if err := f.Store.CreateIntegration(f.t.Context(), in); err != nil {
		f.t.Fatal(err)
	}
	return in
}

// HTTP is a client trusting the test CA that does not follow redirects.
func (f *fixture) HTTP(jar http.CookieJar) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Jar: jar,
		Transport:     &http.Transport{TLSClientConfig: f.tls.Clone()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// SDK is Duo's Go Universal SDK for in, over the test TLS.
func (f *fixture) SDK(in mfa.Integration, redirect string) *duouniversal.Client {
	return f.SDKWith(in.IKey, string(in.SKey.Reveal()), redirect, true)
}

func (f *fixture) SDKWith(clientID, secret, redirect string, useDuoCode bool) *duouniversal.Client {
	f.t.Helper()
	c, err := duouniversal.NewClientDuoCodeAttribute(clientID, secret, f.Host, redirect, useDuoCode)
	if err != nil {
		f.t.Fatalf("duouniversal.NewClient: %v", err)
	}
	duouniversal.WithHTTPClient(&http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: f.tls.Clone()}})(c)
	return c
}

// Browser is a person's browser: a cookie jar.
type Browser struct {
	f      *fixture
	Client *http.Client
}

func (f *fixture) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{f: f, Client: f.HTTP(jar)}
}

// Get fetches u and returns the response (body read and closed).
func (b *Browser) Get(u string) (*http.Response, string) {
	b.f.t.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		b.f.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(body)
}

// login is one started login: the prompt URL the browser was sent to and
// the login request's id.
type login struct {
	ID       string
	Prompt   *url.URL
	State    string
	Username string
}

// Start runs the application's side (CreateAuthURL, plus extra query
// parameters such as the Python SDK's nonce) and the browser's GET of the
// auth URL, which must redirect to the prompt.
func (b *Browser) Start(c *duouniversal.Client, username string, extra url.Values) login {
	b.f.t.Helper()
	state, err := c.GenerateState()
	if err != nil {
		b.f.t.Fatal(err)
	}
	authURL, err := c.CreateAuthURL(username, state)
	if err != nil {
		b.f.t.Fatalf("CreateAuthURL: %v", err)
	}
	if len(extra) > 0 {
		authURL += "&" + extra.Encode()
	}
	resp, body := b.Get(authURL)
	if resp.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("GET auth URL = %d %q, want 303 to the prompt", resp.StatusCode, body)
	}
	loc, _ := resp.Location()
	id, ok := strings.CutPrefix(loc.Path, "/frame/prompt/")
	if !ok || id == "" {
		b.f.t.Fatalf("auth URL redirected to %s, want /frame/prompt/{id}", loc)
	}
	return login{ID: id, Prompt: loc, State: state, Username: username}
}

// Complete finishes the prompt the way the prompt package does: an auth-log
// record for the decision and CompleteLoginRequest with its txid.
func (f *fixture) Complete(l login, result mfa.LoginResult) mfa.LoginRequest {
	f.t.Helper()
	ctx := f.t.Context()
	lr, err := f.Store.GetLoginRequest(ctx, l.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	txid, _ := mfa.NewLoginRequestID(rand.Reader)
	now := f.now()
	res := mfa.ResultSuccess
	if result == mfa.LoginDeny {
		res = mfa.ResultDenied
	}
	if err := f.Store.AppendAuthLog(ctx, mfa.AuthLogEntry{TxID: txid, Time: now, EventType: "authentication",
		UserID: "DUXXXXXXXXXXXXXXXXXX", Username: lr.Username, IKey: lr.IKey, IntegrationName: "Intranet",
		Factor: "duo_mobile_passcode", Result: res, Reason: "valid_passcode", IP: "192.0.2.7"}); err != nil {
		f.t.Fatal(err)
	}
	got, err := f.Store.CompleteLoginRequest(ctx, l.ID, mfa.LoginOutcome{Result: result, AuthTxID: txid,
		Factor: "duo_mobile_passcode", AuthTime: now})
	if err != nil {
		f.t.Fatalf("CompleteLoginRequest: %v", err)
	}
	return got
}

// Return is the prompt sending the browser back (lr.ReturnPath); it returns
// the redirect's query (or fails the test when it is not a redirect to the
// application).
func (b *Browser) Return(l login) url.Values {
	b.f.t.Helper()
	resp, body := b.Get("https://" + b.f.Host + returnPath(b.f, l))
	if resp.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("GET return = %d %q, want 303 to the application", resp.StatusCode, body)
	}
	loc, _ := resp.Location()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		b.f.t.Fatalf("return redirected to %s, want %s", loc, redirectURI)
	}
	return loc.Query()
}

func returnPath(f *fixture, l login) string {
	lr, err := f.Store.GetLoginRequest(f.t.Context(), l.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return lr.ReturnPath
}

// Code runs a whole allowed login in b and returns the code and its state.
func (b *Browser) Code(c *duouniversal.Client, username string) (code, state string) {
	b.f.t.Helper()
	l := b.Start(c, username, nil)
	b.f.Complete(l, mfa.LoginAllow)
	q := b.Return(l)
	if q.Get("state") != l.State || q.Get("duo_code") == "" {
		b.f.t.Fatalf("return query = %v, want duo_code and state %q", q, l.State)
	}
	return q.Get("duo_code"), l.State
}

// jwtHS signs claims as a compact JWT with alg (HS512, HS256 or none).
func jwtHS(t *testing.T, alg, secret string, claims map[string]any) string {
	t.Helper()
	hdr, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	in := enc(hdr) + "." + enc(body)
	var h func() hash.Hash
	switch alg {
	case "HS512":
		h = sha512.New
	case "HS256":
		h = sha256.New
	case "none":
		return in + "."
	}
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(in))
	return in + "." + enc(m.Sum(nil))
}

// assertion is a client assertion as the SDKs build it, for path.
func (f *fixture) assertion(in mfa.Integration, path string, mods ...func(map[string]any)) string {
	jti, _ := mfa.NewLoginRequestID(rand.Reader)
	c := map[string]any{"iss": in.IKey, "sub": in.IKey, "aud": "https://" + f.Host + path,
		"exp": time.Now().Add(5 * time.Minute).Unix(), "jti": jti}
	for _, m := range mods {
		m(c)
	}
	return jwtHS(f.t, "HS512", string(in.SKey.Reveal()), c)
}

// requestObject is an authorize request JWT as the Go SDK builds it.
func (f *fixture) requestObject(in mfa.Integration, mods ...func(map[string]any)) map[string]any {
	c := map[string]any{"scope": "openid", "redirect_uri": redirectURI, "client_id": in.IKey, "iss": in.IKey,
		"aud": "https://" + f.Host, "exp": time.Now().Add(5 * time.Minute).Unix(),
		"state": strings.Repeat("s", 36), "response_type": "code", "duo_uname": "alice",
		"use_duo_code_attribute": true}
	for _, m := range mods {
		m(c)
	}
	return c
}

func base64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func base64Encode(b []byte) string          { return base64.RawURLEncoding.EncodeToString(b) }
