package web_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// stackFixture is the site with test pages, over real TLS, with sessions
// in a real SQLite store.
type stackFixture struct {
	srv   *certstest.Server
	store mfa.Store
	clock *clock
	logs  *bytes.Buffer
}

func newStackFixture(t *testing.T) *stackFixture {
	t.Helper()
	f := &stackFixture{
		store: sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db")),
		clock: &clock{t: time.Now()},
		logs:  &bytes.Buffer{},
	}
	var logMu sync.Mutex
	site := web.New(web.Deps{
		Logger:       slog.New(slog.NewTextHandler(lockedWriter{&logMu, f.logs}, nil)),
		Sessions:     f.store,
		Now:          f.clock.Now,
		Organization: "Example Corp",
		HelpContact:  "the service desk, extension 4357",
	})
	tmpl := site.MustParseTemplates(os.DirFS("testdata"), "*.html")
	field := web.Field{Name: "name", Label: "Your name", Hint: "As on your badge.", Autofocus: true}
	mux := http.NewServeMux()
	site.Register(mux)
	site.Handle(mux, "GET /t/form", func(w http.ResponseWriter, r *http.Request) error {
		return tmpl.Render(w, r, http.StatusOK, "form.html", web.View{Title: "Test form", Data: field})
	})
	site.Handle(mux, "POST /t/form", func(w http.ResponseWriter, r *http.Request) error {
		web.Form(r, tmpl, "form.html", web.View{Title: "Test form", Data: field})
		name := r.PostFormValue("name")
		if name == "" {
			return mfa.InvalidField("name", "Enter your name")
		}
		sess, err := web.SessionOf(r)
		if err != nil {
			return err
		}
		sess.Put("name", name)
		return web.Redirect(w, r, "/t/whoami")
	})
	site.Handle(mux, "POST /t/login", func(w http.ResponseWriter, r *http.Request) error {
		sess, err := web.SessionOf(r)
		if err != nil {
			return err
		}
		if err := sess.RenewToken(); err != nil {
			return err
		}
		sess.Put("user", r.PostFormValue("user"))
		return web.Redirect(w, r, "/t/whoami")
	})
	site.Handle(mux, "POST /t/logout", func(w http.ResponseWriter, r *http.Request) error {
		sess, err := web.SessionOf(r)
		if err != nil {
			return err
		}
		sess.Destroy()
		return web.Redirect(w, r, "/t/whoami")
	})
	site.Handle(mux, "GET /t/whoami", func(w http.ResponseWriter, r *http.Request) error {
		sess, err := web.SessionOf(r)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "user="+sess.Get("user")+" name="+sess.Get("name")+" expired="+map[bool]string{true: "yes", false: "no"}[sess.Expired()])
		return nil
	})
	site.Handle(mux, "GET /t/components", func(w http.ResponseWriter, r *http.Request) error {
		return tmpl.Render(w, r, http.StatusOK, "components.html", web.View{
			Title: "Components", Layout: web.LayoutWide, User: "alice@example.com", Script: true,
			Nav:    []web.NavItem{{Label: "Devices", URL: "/t/components", Current: true}, {Label: "Bypass codes", URL: "/t/form"}},
			Errors: []web.FieldError{{Field: "phone", Msg: "Enter a phone number, like +1 555 0100"}},
			Data: map[string]web.Field{
				"Field": {Name: "name", Label: "Device name", Hint: "So you can tell your devices apart.", Value: "Work phone"},
				"Other": {Name: "phone", Label: "Phone number", Type: "tel", Autocomplete: "tel"},
			},
		})
	})
	site.Handle(mux, "GET /t/error/{kind}", func(w http.ResponseWriter, r *http.Request) error {
		return testErrors[r.PathValue("kind")]
	})
	site.Handle(mux, "GET /t/return", func(w http.ResponseWriter, r *http.Request) error {
		if err := web.AllowFormAction(r, r.URL.Query().Get("to")); err != nil {
			return err
		}
		return tmpl.Render(w, r, http.StatusOK, "form.html", web.View{Title: "Return", Data: field})
	})
	pages := site.NotFound(mux)
	// As internal/server does: a request id on every answer.
	f.srv = certstest.StartTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-0123456789")
		pages.ServeHTTP(w, r)
	}))
	return f
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

var testErrors = map[string]error{
	"invalid":      mfa.InvalidField("user", "too long"),
	"notfound":     mfa.NotFoundf("no such user"),
	"conflict":     mfa.E(mfa.Conflict, "That device was already removed."),
	"denied":       mfa.E(mfa.Denied, "Only owners can do that."),
	"lockedout":    web.LockedOut("", "the IT help desk on 555-0100"),
	"lockedsite":   web.LockedOut("", ""),
	"unauthorized": mfa.E(mfa.Unauthorized, ""),
	"ratelimited":  mfa.RetryLater("Too many passcodes were tried.", 4*time.Minute+10*time.Second),
	"unavailable":  mfa.Wrap(mfa.Unavailable, "", errors.New("database down")),
	"internal":     errors.New("boom: secret detail"),
}

// client is a browser-like client: TLS trusting the test CA, a cookie jar,
// no redirects followed.
func (f *stackFixture) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := *f.srv.Client() // a copy: each client has its own jar
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (f *stackFixture) url(path string) string { return "https://" + f.srv.Host + path }

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (f *stackFixture) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url(path), nil)
	return do(t, c, req)
}

// post sends a same-origin form, as a browser does.
func (f *stackFixture) post(t *testing.T, c *http.Client, path string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.url(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", "https://"+f.srv.Host)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return do(t, c, req)
}

var csrfRE = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([^"]+)">`)

// formToken loads the test form and returns its CSRF token.
func (f *stackFixture) formToken(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, body := f.get(t, c, "/t/form")
	m := csrfRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET /t/form = %d, no CSRF field:\n%s", resp.StatusCode, body)
	}
	return m[1]
}

func (f *stackFixture) whoami(t *testing.T, c *http.Client) string {
	t.Helper()
	_, body := f.get(t, c, "/t/whoami")
	return body
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == web.CookieName {
			return c
		}
	}
	return nil
}

func TestSessionCookieFlags(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	resp, _ := f.get(t, c, "/t/form")
	ck := sessionCookie(t, resp)
	if ck == nil {
		t.Fatalf("GET /t/form set no %s cookie: %v", web.CookieName, resp.Header["Set-Cookie"])
	}
	if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode ||
		ck.Path != "/" || ck.Domain != "" || ck.MaxAge != 0 || !ck.Expires.IsZero() {
		t.Errorf("session cookie = %q; want __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, no expiry",
			resp.Header.Get("Set-Cookie"))
	}
	// The database holds only the token's SHA-256.
	if _, err := f.store.GetSession(t.Context(), mfa.SessionKey(ck.Value), f.clock.Now()); err != nil {
		t.Errorf("GetSession(SHA-256 of the cookie) = %v, want the session", err)
	}
	if len(ck.Value) < 43 {
		t.Errorf("session token %q is shorter than 256 bits", ck.Value)
	}
	// Pages without forms start no session.
	for _, path := range []string{"/install", "/activate/abc", "/static/twostep.css", "/nope"} {
		if resp, _ := f.get(t, f.client(t), path); sessionCookie(t, resp) != nil {
			t.Errorf("GET %s set a session cookie", path)
		}
	}
}

func TestCSRF(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	token := f.formToken(t, c)
	other := f.client(t)
	otherToken := f.formToken(t, other)
	tests := []struct {
		name   string
		client *http.Client
		form   url.Values
		want   string
	}{
		{"no token", c, url.Values{"name": {"mallory"}}, "missing its security token"},
		{"empty token", c, url.Values{"name": {"mallory"}, "csrf_token": {""}}, "missing its security token"},
		{"wrong token", c, url.Values{"name": {"mallory"}, "csrf_token": {flipLast(token)}}, "wrong or out of date"},
		{"another session's token", c, url.Values{"name": {"mallory"}, "csrf_token": {otherToken}}, "wrong or out of date"},
		{"token in the query only", c, nil, "missing its security token"},
		{"no session", f.client(t), url.Values{"name": {"mallory"}, "csrf_token": {token}}, "Your session has ended"},
	}
	for _, tt := range tests {
		path := "/t/form"
		if tt.form == nil {
			path += "?csrf_token=" + url.QueryEscape(token)
			tt.form = url.Values{"name": {"mallory"}}
		}
		resp, body := f.post(t, tt.client, path, tt.form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, tt.want) {
			t.Errorf("%s: POST = %d, want 403 saying %q:\n%s", tt.name, resp.StatusCode, tt.want, mainText(body))
		}
	}
	if got := f.whoami(t, c); !strings.Contains(got, "name= ") {
		t.Errorf("after refused posts the session holds %q, want no name", got)
	}
	resp, _ := f.post(t, c, "/t/form", url.Values{"name": {"alice"}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST with the token = %d, want 303", resp.StatusCode)
	}
	if got := f.whoami(t, c); !strings.Contains(got, "name=alice") {
		t.Errorf("whoami = %q, want name=alice", got)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	token := f.formToken(t, c)
	form := url.Values{"name": {"mallory"}, "csrf_token": {token}}
	tests := []struct {
		name string
		hdr  []string
	}{
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site", "Origin", ""}},
		{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://evil." + f.srv.Host}},
		{"foreign Origin", []string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}},
		{"null Origin", []string{"Sec-Fetch-Site", "", "Origin", "null"}},
	}
	for _, tt := range tests {
		resp, body := f.post(t, c, "/t/form", form, tt.hdr...)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "sent from another website") {
			t.Errorf("%s: POST = %d, want 403 naming the cross-site request:\n%s", tt.name, resp.StatusCode, mainText(body))
		}
	}
	if got := f.whoami(t, c); strings.Contains(got, "mallory") {
		t.Errorf("a cross-site POST changed the session: %q", got)
	}
}

func TestOversizedFormRefused(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	token := f.formToken(t, c)
	big := url.Values{"name": {strings.Repeat("x", web.MaxFormBytes)}, "csrf_token": {token}}
	resp, body := f.post(t, c, "/t/form", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "too large") {
		t.Errorf("POST of %d bytes = %d, want 413:\n%.300s", len(big.Encode()), resp.StatusCode, body)
	}
	if got := f.whoami(t, c); strings.Contains(got, "xxx") {
		t.Errorf("an oversized form changed the session")
	}
	// Malformed form encoding is a 400 naming the problem.
	req, _ := http.NewRequest("POST", f.url("/t/form"), strings.NewReader("name=%zz&csrf_token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if resp, body := do(t, c, req); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "could not be read") {
		t.Errorf("POST of a malformed form = %d, want 400:\n%.300s", resp.StatusCode, body)
	}
}

func TestSessionRenewTokenAndFixation(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	token := f.formToken(t, c)
	u, _ := url.Parse(f.url("/"))
	before := c.Jar.Cookies(u)
	if len(before) != 1 {
		t.Fatalf("cookies = %v, want the session", before)
	}
	resp, _ := f.post(t, c, "/t/login", url.Values{"user": {"alice"}, "csrf_token": {token}})
	after := sessionCookie(t, resp)
	if resp.StatusCode != http.StatusSeeOther || after == nil || after.Value == before[0].Value {
		t.Fatalf("POST /t/login = %d, cookie %v; want 303 and a new session id", resp.StatusCode, after)
	}
	if got := f.whoami(t, c); !strings.Contains(got, "user=alice") {
		t.Errorf("whoami after login = %q, want user=alice", got)
	}
	// The id from before login (planted by an attacker, or seen) is dead.
	attacker := f.client(t)
	attacker.Jar.SetCookies(u, []*http.Cookie{{Name: web.CookieName, Value: before[0].Value}})
	if got := f.whoami(t, attacker); !strings.Contains(got, "user= ") || !strings.Contains(got, "expired=yes") {
		t.Errorf("whoami with the pre-login id = %q, want no user and an ended session", got)
	}
	// So is the CSRF token from before login.
	if resp, _ := f.post(t, c, "/t/form", url.Values{"name": {"x"}, "csrf_token": {token}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with the pre-login CSRF token = %d, want 403", resp.StatusCode)
	}
	// Logout ends the session and clears the cookie.
	newToken := f.formToken(t, c)
	resp, _ = f.post(t, c, "/t/logout", url.Values{"csrf_token": {newToken}})
	if ck := sessionCookie(t, resp); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout cookie = %v, want it deleted", ck)
	}
	victim := f.client(t)
	victim.Jar.SetCookies(u, []*http.Cookie{after})
	if got := f.whoami(t, victim); !strings.Contains(got, "user= ") {
		t.Errorf("whoami with the logged-out id = %q, want no user", got)
	}
}

func TestSessionTimeouts(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	login := func() {
		t.Helper()
		token := f.formToken(t, c)
		if resp, _ := f.post(t, c, "/t/login", url.Values{"user": {"alice"}, "csrf_token": {token}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login = %d", resp.StatusCode)
		}
	}
	// Idle: used within 30 minutes it lives on; unused for 30 it ends.
	login()
	for range 5 {
		f.clock.Add(25 * time.Minute)
		if got := f.whoami(t, c); !strings.Contains(got, "user=alice") {
			t.Fatalf("whoami 25 minutes after the last use = %q, want the session alive", got)
		}
	}
	f.clock.Add(web.DefaultSessionIdle)
	if got := f.whoami(t, c); !strings.Contains(got, "user= ") || !strings.Contains(got, "expired=yes") {
		t.Errorf("whoami after 30 idle minutes = %q, want the session ended", got)
	}
	// Absolute: used every 20 minutes, it still ends 12 hours after login.
	login()
	start := f.clock.Now()
	for f.clock.Now().Sub(start) < web.DefaultSessionLifetime-20*time.Minute {
		f.clock.Add(20 * time.Minute)
		if got := f.whoami(t, c); !strings.Contains(got, "user=alice") {
			t.Fatalf("whoami %v after login = %q, want the session alive", f.clock.Now().Sub(start), got)
		}
	}
	f.clock.Add(20 * time.Minute)
	if got := f.whoami(t, c); !strings.Contains(got, "user= ") {
		t.Errorf("whoami %v after login = %q, want the session ended", f.clock.Now().Sub(start), got)
	}
	// The reaper removes ended sessions.
	if n, err := f.store.DeleteExpiredSessions(t.Context(), f.clock.Now()); err != nil || n < 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v, want the ended sessions deleted", n, err)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	for _, path := range []string{"/t/form", "/install", "/activate/abc", "/t/error/internal", "/t/error/notfound",
		"/nope", "/static/twostep.css", "/frame/qr?value=x", "/frame/qr"} {
		resp, _ := f.get(t, c, path)
		h := resp.Header
		if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s headers = %v; want framing forbidden, nosniff, no-referrer", path, h)
		}
	}
	resp, _ := f.get(t, c, "/t/form")
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("form page Cache-Control = %q, want no-store", got)
	}
}

func TestAllowFormAction(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	resp, _ := f.get(t, c, "/t/return?to="+url.QueryEscape("https://App.example:8443/duo-callback?x=1"))
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "form-action 'self' https://app.example:8443;") {
		t.Errorf("CSP = %q, want the app's origin in form-action", got)
	}
	for _, bad := range []string{"http://app.example/cb", "javascript:alert(1)", "https://a.example;script-src *",
		"/relative", "https://user:pw@app.example/", "data:text/html,x", ""} {
		resp, body := f.get(t, c, "/t/return?to="+url.QueryEscape(bad))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "redirect_uri") {
			t.Errorf("AllowFormAction(%q) = %d, want 400 naming redirect_uri", bad, resp.StatusCode)
		}
		if strings.Contains(resp.Header.Get("Content-Security-Policy"), "app.example") {
			t.Errorf("AllowFormAction(%q) changed the CSP: %q", bad, resp.Header.Get("Content-Security-Policy"))
		}
	}
	for _, ok := range []string{"http://127.0.0.1:8080/cb", "http://localhost/cb", "http://[::1]:9/cb"} {
		if resp, _ := f.get(t, c, "/t/return?to="+url.QueryEscape(ok)); resp.StatusCode != 200 {
			t.Errorf("AllowFormAction(%q) = %d, want loopback http allowed", ok, resp.StatusCode)
		}
	}
}

func TestInvalidFormShowsFieldError(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	token := f.formToken(t, c)
	resp, body := f.post(t, c, "/t/form", url.Values{"name": {""}, "csrf_token": {token}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST empty name = %d, want 400", resp.StatusCode)
	}
	for _, want := range []string{
		`<div class="error-summary" role="alert" tabindex="-1" autofocus`,
		`<a href="#f-name">Enter your name</a>`,
		`<p class="field-error" id="f-name-error"><span class="visually-hidden">Error:</span> Enter your name</p>`,
		`aria-invalid="true" aria-describedby="f-name-hint f-name-error"`,
		`<h1>Test form</h1>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("form page lacks %s:\n%s", want, body)
		}
	}
}

func TestErrorPages(t *testing.T) {
	f := newStackFixture(t)
	c := f.client(t)
	tests := []struct {
		kind       string
		wantStatus int
		wantH1     string
		wantText   []string
		wantRetry  string
	}{
		{"invalid", 400, "Something in that request is not right", []string{"user: too long"}, ""},
		{"notfound", 404, "Page not found", nil, ""},
		{"conflict", 409, "That has changed", []string{"already removed"}, ""},
		{"denied", 403, "You can&#39;t do that", []string{"Only owners"}, ""},
		{"lockedout", 403, "Your account is locked", []string{"too many failed attempts", "the IT help desk on 555-0100"}, ""},
		{"lockedsite", 403, "Your account is locked", []string{"contact <strong>the service desk, extension 4357</strong>"}, ""},
		{"unauthorized", 401, "Sign in to continue", nil, ""},
		{"ratelimited", 429, "Too many attempts", []string{"Too many passcodes were tried.", "Try again in 5 minutes."}, "250"},
		{"unavailable", 503, "Not available right now", []string{"Try again in a minute."}, "30"},
		{"internal", 500, "Something went wrong", []string{"tell your administrator this reference", "<code>req-0123456789</code>"}, ""},
	}
	for _, tt := range tests {
		resp, body := f.get(t, c, "/t/error/"+tt.kind)
		if resp.StatusCode != tt.wantStatus || !strings.Contains(body, "<h1>"+tt.wantH1+"</h1>") {
			t.Errorf("%s: = %d, want %d with <h1>%s</h1>:\n%s", tt.kind, resp.StatusCode, tt.wantStatus, tt.wantH1, body)
		}
		for _, w := range tt.wantText {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", tt.kind, w)
			}
		}
		if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
			t.Errorf("%s: Retry-After = %q, want %q", tt.kind, got, tt.wantRetry)
		}
		if strings.Contains(body, "secret detail") || strings.Contains(body, "database down") {
			t.Errorf("%s: page shows an internal cause:\n%s", tt.kind, body)
		}
	}
	// Only Internal is logged, with the request id the page shows.
	logs := f.logs.String()
	if n := strings.Count(logs, "level=ERROR"); n != 1 || !strings.Contains(logs, "boom: secret detail") || !strings.Contains(logs, "request_id=req-0123456789") {
		t.Errorf("logs = %q, want one error line with the cause and request_id", logs)
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		give time.Duration
		want string
	}{
		{0, "1 second"},
		{time.Second, "1 second"},
		{1500 * time.Millisecond, "2 seconds"},
		{59 * time.Second, "59 seconds"},
		{time.Minute, "1 minute"},
		{4*time.Minute + time.Second, "5 minutes"},
		{time.Hour, "1 hour"},
		{90 * time.Minute, "2 hours"},
		{72 * time.Hour, "3 days"},
	}
	for _, tt := range tests {
		if got := web.Wait(tt.give); got != tt.want {
			t.Errorf("Wait(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// mainText is the page's main content, for failure messages.
func mainText(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		return body[i:]
	}
	return body
}

// flipLast returns token with its last character changed (to "A", or to
// "B" when it already is "A": appending "A" blindly left one token in 64
// unchanged, and the test then saw its "wrong" token accepted).
func flipLast(token string) string {
	last := "A"
	if strings.HasSuffix(token, "A") {
		last = "B"
	}
	return token[:len(token)-1] + last
}

// TestSharedScripts: the site serves its shared scripts (the WebAuthn
// ceremony used by the prompt, the portal's keys and the console) as
// JavaScript, from the one copy in internal/web/static.
func TestSharedScripts(t *testing.T) {
	f := newStackFixture(t)
	for path, want := range map[string]string{"/static/twostep.js": "data-", "/static/webauthn.js": "navigator.credentials"} {
		resp, body := f.get(t, f.client(t), path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
			!strings.Contains(body, want) {
			t.Errorf("GET %s = %d %q, body has %q: %v", path, resp.StatusCode, resp.Header.Get("Content-Type"), want, strings.Contains(body, want))
		}
	}
}
