package demoapp

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// closedHost returns a loopback host:port that refuses connections.
func closedHost(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newApp(t *testing.T, failClosed bool) *App {
	t.Helper()
	a, err := New(Config{ClientID: "DIAAAAAAAAAAAAAAAAAA", ClientSecret: strings.Repeat("s", 40),
		APIHost: closedHost(t), RedirectURI: "http://localhost:8080/duo-callback",
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, FailClosed: failClosed})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func post(a *App, path string, form url.Values, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://localhost:8080"+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	return w
}

func TestNewRefusesBadKeys(t *testing.T) {
	tests := []struct {
		name string
		give Config
	}{
		{"short client id", Config{ClientID: "DI1", ClientSecret: strings.Repeat("s", 40), APIHost: "h", RedirectURI: "http://localhost/cb"}},
		{"short secret", Config{ClientID: "DIAAAAAAAAAAAAAAAAAA", ClientSecret: "s", APIHost: "h", RedirectURI: "http://localhost/cb"}},
		{"no redirect", Config{ClientID: "DIAAAAAAAAAAAAAAAAAA", ClientSecret: strings.Repeat("s", 40), APIHost: "h"}},
	}
	for _, tt := range tests {
		if _, err := New(tt.give); err == nil {
			t.Errorf("New(%s) = nil error, want one", tt.name)
		}
	}
}

func TestLoginPage(t *testing.T) {
	a := newApp(t, true)
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost:8080/", nil))
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `name="username"`) || !strings.Contains(body, `action="/login"`) {
		t.Fatalf("GET / = %d, want the login form:\n%s", w.Code, body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q, want strict", csp)
	}
}

func TestLoginNeedsBothFields(t *testing.T) {
	a := newApp(t, true)
	w := post(a, "/login", url.Values{"username": {"alice"}}, nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Enter a username and a password") {
		t.Errorf("POST /login without a password = %d %s, want 400 naming the fields", w.Code, w.Body)
	}
}

func TestCrossSiteLoginRefused(t *testing.T) {
	a := newApp(t, true)
	w := post(a, "/login", url.Values{"username": {"alice"}, "password": {"x"}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site POST /login = %d, want 403", w.Code)
	}
}

// TestTwostepUnreachable: the health check really fails (nothing listens on
// the API host): fail closed refuses, fail open logs in on the password.
func TestTwostepUnreachable(t *testing.T) {
	w := post(newApp(t, true), "/login", url.Values{"username": {"alice"}, "password": {"x"}}, nil)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "unavailable") {
		t.Errorf("fail closed: POST /login = %d %s, want 503", w.Code, w.Body)
	}
	a := newApp(t, false)
	w = post(a, "/login", url.Values{"username": {"alice"}, "password": {"x"}}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("fail open: POST /login = %d %s, want 303 home", w.Code, w.Body)
	}
	r := httptest.NewRequest(http.MethodGet, "http://localhost:8080/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	home := httptest.NewRecorder()
	a.ServeHTTP(home, r)
	if !strings.Contains(home.Body.String(), "Welcome, alice") || !strings.Contains(home.Body.String(), "fail open") {
		t.Errorf("fail open home = %s, want alice logged in on the password alone", home.Body)
	}
}

// TestCallbackNeedsItsOwnState: a callback without this browser's pending
// login, or with another state, is refused before any code exchange.
func TestCallbackNeedsItsOwnState(t *testing.T) {
	a := newApp(t, true)
	tests := []struct{ name, query string }{
		{"no session", "state=x&duo_code=y"},
		{"empty", ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost:8080/duo-callback?"+tt.query, nil))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "not for this browser") {
			t.Errorf("%s: callback = %d %s, want 400", tt.name, w.Code, w.Body)
		}
	}
	// A pending login with another state.
	w := httptest.NewRecorder()
	a.start(w, &session{pendingUser: "alice", state: strings.Repeat("a", 36)})
	r := httptest.NewRequest(http.MethodGet, "http://localhost:8080/duo-callback?duo_code=c&state="+strings.Repeat("b", 36), nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	got := httptest.NewRecorder()
	a.ServeHTTP(got, r)
	if got.Code != http.StatusBadRequest {
		t.Errorf("callback with a foreign state = %d, want 400", got.Code)
	}
}
