package login_test

import (
	"crypto/rand"
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

	"github.com/PuerkitoBio/goquery"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/password"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web"
)

const rpRedirect = "https://rp.example.com/callback"

// fixture is the whole twostepd handler over real TLS on SQLite with an
// OIDC client and alice, who has a twostep password and a token.
type fixture struct {
	t     *testing.T
	Store *sqlstore.Store
	Host  string
	tr    *http.Transport
	In    mfa.Integration
	Alice mfa.User

	mu     sync.Mutex
	offset time.Duration
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	f := &fixture{t: t, Store: st}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cheap := password.Hasher{Time: 1, Memory: 8 * 1024, Threads: 1}
	flow := authflow.New(st, f.now, rand.Reader, log, authflow.WithFirstFactor(authflow.FirstFactorOptions{Hasher: cheap}))
	h := server.New(server.Deps{Store: st, Logger: log, Now: f.now, ClockSkew: 5 * time.Minute, Flow: flow,
		Hosts: []string{"localhost"}, Organization: "Example Corp", OIDC: server.OIDCOptions{SessionLifetime: time.Hour}})
	ts := certstest.StartTLS(t, h)
	f.Host = ts.Host
	f.tr = &http.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}
	f.tr.TLSClientConfig.RootCAs = ts.Pool
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	f.In = mfa.Integration{IKey: ikey, SKey: mfa.Secret(strings.Repeat("s", 40)), Name: "Grafana", Type: mfa.IntegrationOIDC,
		EnrollPolicy: mfa.EnrollPolicyDeny, RedirectURIs: []string{rpRedirect},
		PostLogoutRedirectURIs: []string{"https://rp.example.com/bye"}, Created: time.Now()}
	if err := st.CreateIntegration(t.Context(), f.In); err != nil {
		t.Fatal(err)
	}
	uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	f.Alice = mfa.User{ID: uid, Username: "alice", Status: mfa.StatusActive, Created: time.Now()}
	if err := st.CreateUser(t.Context(), f.Alice); err != nil {
		t.Fatal(err)
	}
	hash, _ := cheap.Hash("correct horse battery", rand.Reader)
	if err := st.SetUserPassword(t.Context(), uid, hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.offset)
}

func (f *fixture) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offset += d
}

type browser struct {
	f *fixture
	c *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Timeout: 10 * time.Second, Jar: jar, Transport: f.tr.Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	u := path
	if strings.HasPrefix(path, "/") {
		u = "https://" + b.f.Host + path
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://"+b.f.Host)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(raw)
}

// authorize starts an OIDC login with extra parameters and returns its
// first-factor page path.
func (b *browser) authorize(extra url.Values) string {
	b.f.t.Helper()
	q := url.Values{"client_id": {b.f.In.IKey}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"st"}}
	for k, v := range extra {
		q[k] = v
	}
	resp, body := b.do("GET", "/oidc/authorize?"+q.Encode(), nil, nil)
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.Path, "/login/") {
		b.f.t.Fatalf("authorize = %d %v %s", resp.StatusCode, loc, body)
	}
	return loc.Path
}

// csrf reads the login form's CSRF token.
func (b *browser) csrf(page string) string {
	b.f.t.Helper()
	resp, body := b.do("GET", page, nil, nil)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		b.f.t.Fatalf("GET %s = %d", page, resp.StatusCode)
	}
	tok, _ := doc.Find(`input[name="` + web.CSRFField + `"]`).Attr("value")
	if tok == "" {
		b.f.t.Fatalf("GET %s: no CSRF token in %s", page, body)
	}
	return tok
}

func sessionCookie(b *browser, host string) string {
	u, _ := url.Parse("https://" + host + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == web.CookieName {
			return c.Value
		}
	}
	return ""
}

func TestLoginPage(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	page := b.authorize(nil)
	id := strings.TrimPrefix(page, "/login/")
	resp, body := b.do("GET", page, nil, nil)
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(body))
	if resp.StatusCode != 200 || doc.Find("#f-username").Length() != 1 || doc.Find(`#f-password[type="password"]`).Length() != 1 ||
		!strings.Contains(doc.Find(".card, main").Text(), "Grafana") {
		t.Fatalf("login page = %d %s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("login page headers: %v", resp.Header)
	}
	// The prompt does not run before the first factor.
	if resp, _ := b.do("GET", mfa.LoginPromptPath(id), nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("prompt before the first factor = %d, want 403", resp.StatusCode)
	}
	tok := b.csrf(page)
	wrong := url.Values{"username": {"alice"}, "password": {"wrong password"}, web.CSRFField: {tok}}
	resp, body = b.do("POST", page, wrong, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, authflow.MsgBadPassword) ||
		strings.Contains(body, "wrong password") {
		t.Errorf("wrong password = %d (page echoes the password: %v)", resp.StatusCode, strings.Contains(body, "wrong password"))
	}
	before := sessionCookie(b, f.Host)
	right := url.Values{"username": {"alice"}, "password": {"correct horse battery"}, web.CSRFField: {tok}}
	resp, _ = b.do("POST", page, right, nil)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != mfa.LoginPromptPath(id) {
		t.Fatalf("right password = %d %v, want 303 to the prompt", resp.StatusCode, loc)
	}
	if after := sessionCookie(b, f.Host); after == "" || after == before {
		t.Errorf("the session id was not renewed at the first factor")
	}
	lr, err := f.Store.GetLoginRequest(t.Context(), id)
	if err != nil || lr.UserID != f.Alice.ID || lr.FirstFactor != mfa.FirstFactorPassword {
		t.Errorf("login after the first factor: %+v, %v", lr, err)
	}
	// The old CSRF token died with the old session id.
	if resp, _ = b.do("POST", page, right, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with the CSRF token of the session before login = %d, want 403", resp.StatusCode)
	}
	// The first factor is done: the page sends to the prompt.
	resp, _ = b.do("GET", page, nil, nil)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != mfa.LoginPromptPath(id) {
		t.Errorf("GET after the first factor = %d %v, want 303 to the prompt", resp.StatusCode, loc)
	}
}

func TestLoginPageAttacks(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	page := b.authorize(nil)
	tok := b.csrf(page)
	good := url.Values{"username": {"alice"}, "password": {"correct horse battery"}, web.CSRFField: {tok}}
	tests := []struct {
		name   string
		b      *browser
		form   url.Values
		hdr    map[string]string
		status int
	}{
		{"no CSRF token", b, url.Values{"username": {"alice"}, "password": {"correct horse battery"}}, nil, http.StatusForbidden},
		{"wrong CSRF token", b, url.Values{"username": {"alice"}, "password": {"x"}, web.CSRFField: {"forged"}}, nil, http.StatusForbidden},
		{"cross-origin", b, good, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"oversized", b, url.Values{"username": {"alice"}, "password": {strings.Repeat("p", 8<<10)}, web.CSRFField: {tok}}, nil,
			http.StatusRequestEntityTooLarge},
		{"another browser", f.browser(), good, nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		resp, _ := tt.b.do("POST", page, tt.form, tt.hdr)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
	if lr, _ := f.Store.GetLoginRequest(t.Context(), strings.TrimPrefix(page, "/login/")); lr.UserID != "" {
		t.Fatalf("a refused request set the login's user")
	}
	if resp, _ := f.browser().do("GET", page, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET from another browser = %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/login/nosuchlogin", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown login = %d, want 404", resp.StatusCode)
	}
	f.Advance(11 * time.Minute)
	if resp, body := b.do("GET", page, nil, nil); resp.StatusCode != http.StatusGone || !strings.Contains(body, "ended") {
		t.Errorf("expired login = %d, want 410 ended", resp.StatusCode)
	}
}

// complete finishes login id as the prompt would (allow, hardware token)
// and follows the return path into the session, returning where the
// browser goes next.
func (b *browser) complete(id string) {
	b.f.t.Helper()
	if _, err := b.f.Store.CompleteLoginRequest(b.f.t.Context(), id, mfa.LoginOutcome{Result: mfa.LoginAllow,
		Factor: "hardware_token", AuthTime: b.f.now()}); err != nil {
		b.f.t.Fatal(err)
	}
	resp, _ := b.do("GET", mfa.LoginDonePath(id), nil, nil)
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.Path, "/oidc/authorize/return") {
		b.f.t.Fatalf("done = %d %v", resp.StatusCode, loc)
	}
}

func (b *browser) firstFactor(page string) string {
	b.f.t.Helper()
	resp, _ := b.do("POST", page, url.Values{"username": {"alice"}, "password": {"correct horse battery"},
		web.CSRFField: {b.csrf(page)}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("first factor = %d", resp.StatusCode)
	}
	return strings.TrimPrefix(page, "/login/")
}

func TestSingleSignOn(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.complete(b.firstFactor(b.authorize(nil)))

	// A second login in this browser: no form, straight back to the protocol.
	page := b.authorize(nil)
	resp, _ := b.do("GET", page, nil, nil)
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.Path, "/oidc/authorize/return") {
		t.Fatalf("single sign-on = %d %v, want 303 to the return", resp.StatusCode, loc)
	}
	lr, _ := f.Store.GetLoginRequest(t.Context(), strings.TrimPrefix(page, "/login/"))
	if lr.Result != mfa.LoginAllow || lr.UserID != f.Alice.ID || lr.Factor != "hardware_token" {
		t.Errorf("single sign-on login = %+v", lr)
	}
	// Another browser gets the form.
	other := f.browser()
	if resp, _ := other.do("GET", other.authorize(nil), nil, nil); resp.StatusCode != 200 {
		t.Errorf("another browser = %d, want the form", resp.StatusCode)
	}
	// prompt=login and max_age=0 ask again; max_age older than the login asks again.
	for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"0"}}} {
		if resp, _ := b.do("GET", b.authorize(extra), nil, nil); resp.StatusCode != 200 {
			t.Errorf("%v = %d, want the form", extra, resp.StatusCode)
		}
	}
	f.Advance(2 * time.Minute)
	if resp, _ := b.do("GET", b.authorize(url.Values{"max_age": {"60"}}), nil, nil); resp.StatusCode != 200 {
		t.Errorf("max_age=60 two minutes after the login = %d, want the form", resp.StatusCode)
	}
	// A disabled user's session is not reused.
	u := f.Alice
	u.Status = mfa.StatusDisabled
	if err := f.Store.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.do("GET", b.authorize(nil), nil, nil); resp.StatusCode != 200 {
		t.Errorf("single sign-on of a disabled user = %d, want the form", resp.StatusCode)
	}
}

func TestEndSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.complete(b.firstFactor(b.authorize(nil)))
	bad := []url.Values{
		{"client_id": {f.In.IKey}, "post_logout_redirect_uri": {"https://evil.example/"}},
		{"post_logout_redirect_uri": {"https://rp.example.com/bye"}},
		{"id_token_hint": {"not.a.jwt"}},
	}
	for _, q := range bad {
		if resp, _ := b.do("GET", "/oidc/end_session?"+q.Encode(), nil, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("end_session %v = %d, want 400", q, resp.StatusCode)
		}
	}
	// Still logged in after the refusals.
	if resp, _ := b.do("GET", b.authorize(nil), nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a refused end_session ended the session")
	}
	q := url.Values{"client_id": {f.In.IKey}, "post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"z"}}
	resp, _ := b.do("GET", "/oidc/end_session?"+q.Encode(), nil, nil)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc == nil || loc.String() != "https://rp.example.com/bye?state=z" {
		t.Errorf("end_session = %d %v", resp.StatusCode, loc)
	}
	if resp, _ := b.do("GET", b.authorize(nil), nil, nil); resp.StatusCode != 200 {
		t.Errorf("after end_session: %d, want the form", resp.StatusCode)
	}
}
