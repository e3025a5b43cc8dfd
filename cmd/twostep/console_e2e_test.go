package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// consoleOrg is the organisation the console's authenticator accounts are
// issued by in TestAppConsoleSignIn.
const consoleOrg = "Example Corp"

// TestAppConsoleSignIn: the twostep app as an administrator's console
// second factor. A real `twostepd serve`; a plain net/http client with a
// cookie jar signs the bootstrap Owner in over TLS (each form fetched, its
// CSRF token and a browser's same-origin headers sent back); the app adds
// the account from the enrol page's QR code PNG (`add --qr`) and its
// offline `code` confirms the set-up; the new password leads to the
// dashboard. After signing out, the same code is refused as already used,
// and the app's code for the next 30-s step signs in.
//
// No sleeping: the app's clock is frozen at t0 (the harness's injected
// clock) and moved on by one step for the second code, as 30 s of waiting
// would. The server accepts codes one step either side of its own clock,
// so both codes are accepted as long as less than 30 s pass between t0
// and the last sign-in (checked, so a slow run fails saying so).
func TestAppConsoleSignIn(t *testing.T) {
	srv := startE2EServer(t, "TWOSTEP_ORGANIZATION="+consoleOrg)
	owner := readOwner(t, srv.data)
	c := newConsoleClient(t, srv)

	// 1. The password, then the authenticator set-up.
	c.submit("/console/login", "/console/login", url.Values{"email": {owner.Email}, "password": {owner.Password}}).redirects("/console/login/enroll")
	doc := c.page("/console/login/enroll")
	if org := strings.TrimSpace(doc.Find(".org").First().Text()); org != consoleOrg {
		t.Errorf("enrol page shows organisation %q, want %q", org, consoleOrg)
	}
	text := doc.Find("main").Text()
	for _, want := range []string{"twostep app", "twostep add --qr"} {
		if !strings.Contains(text, want) {
			t.Errorf("enrol page does not mention %q:\n%s", want, text)
		}
	}
	src, _ := doc.Find("img.qr").Attr("src")
	png, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		t.Fatalf("enrol page QR src = %.40q, want a PNG data URI", src)
	}
	b, err := base64.StdEncoding.DecodeString(png)
	if err != nil {
		t.Fatalf("QR data URI: %v", err)
	}
	qrPath := filepath.Join(t.TempDir(), "console-qr.png")
	if err := os.WriteFile(qrPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	key := strings.ReplaceAll(doc.Find("#totp-key").Text(), " ", "")
	link, _ := doc.Find("#otpauth-uri").Attr("href")
	if key == "" || !strings.Contains(link, "secret="+key) {
		t.Errorf("enrol page: the key shown (%v) is not the otpauth link's secret (%v)", key != "", strings.Contains(link, "secret="))
	}

	// 2. The app reads the QR code, offline.
	app := newHarness(t)
	app.transport = noNetwork{t}
	t0 := time.Now()
	app.now = func() time.Time { return t0 }
	wantName := consoleOrg + ":" + owner.Email
	r := app.ok("", "add", "--qr", qrPath)
	if want := `Added "` + wantName + `" (time-based, 6 digits every 30 s).`; !strings.Contains(r.stdout, want) {
		t.Errorf("add --qr output lacks %q:\n%s", want, r)
	}
	var accts []accountJSON
	app.jsonOut(&accts, "accounts", "--json")
	if len(accts) != 1 || accts[0].Name != wantName || accts[0].Issuer != consoleOrg || accts[0].Label != owner.Email ||
		accts[0].Type != "totp" || accts[0].Digits != 6 || accts[0].Period != 30 || accts[0].Algorithm != "SHA1" {
		t.Fatalf("accounts --json = %+v, want one TOTP account %q (issuer %q, label %q), SHA1, 6 digits, 30 s",
			accts, wantName, consoleOrg, owner.Email)
	}
	code1 := consoleCode(t, app, wantName, t0)

	// 3. The app's code confirms the set-up; a new password; the dashboard.
	c.submit("/console/login/enroll", "/console/login/enroll", url.Values{"code": {code1}}).redirects("/console/login/password")
	newPassword := "an administrator's own long passphrase"
	c.submit("/console/login/password", "/console/login/password",
		url.Values{"new_password": {newPassword}, "confirm_password": {newPassword}}).redirects("/console/")
	if h1 := c.page("/console/").Find("h1").Text(); h1 != "Dashboard" {
		t.Errorf("after the first sign-in: h1 %q, want Dashboard", h1)
	}

	// 4. Sign out, sign in again: the same code is refused as used.
	c.submit("/console/", "/console/logout", nil).redirects("/console/login?out=1")
	c.submit("/console/login", "/console/login", url.Values{"email": {owner.Email}, "password": {newPassword}}).redirects("/console/login/code")
	if again := consoleCode(t, app, wantName, t0); again != code1 {
		t.Fatalf("code at the same instant = %s, want %s again", again, code1)
	}
	res := c.submit("/console/login/code", "/console/login/code", url.Values{"code": {code1}})
	const reused = "That code was already used. Wait for the next code in your authenticator app, then enter it."
	if res.StatusCode != http.StatusBadRequest || res.doc().Find("#f-code-error").Length() != 1 || !strings.Contains(res.body, reused) {
		t.Errorf("replayed code = %d %q, want 400 with %q on the code field", res.StatusCode, firstError(res.body), reused)
	}
	if elapsed := time.Since(t0); elapsed >= 30*time.Second {
		t.Fatalf("the sign-ins took %v since the app's first code: over one 30-s step, the server's window no longer "+
			"covers the app's frozen clock", elapsed)
	}

	// 5. One step later the app shows a new code, which signs in.
	t1 := t0.Add(30 * time.Second)
	app.now = func() time.Time { return t1 }
	code2 := consoleCode(t, app, wantName, t1)
	if code2 == code1 {
		t.Fatalf("the next step's code is the used one again (%s)", code1)
	}
	c.submit("/console/login/code", "/console/login/code", url.Values{"code": {code2}}).redirects("/console/")
	if h1 := c.page("/console/").Find("h1").Text(); h1 != "Dashboard" {
		t.Errorf("after the second sign-in: h1 %q, want Dashboard", h1)
	}
	if elapsed := time.Since(t0); elapsed >= 30*time.Second {
		t.Errorf("the sign-ins took %v since the app's first code: over one 30-s step", elapsed)
	}
}

// consoleOwner is the bootstrap Owner in initial-credentials.json.
type consoleOwner struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func readOwner(t *testing.T, dataDir string) consoleOwner {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "initial-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		Owner consoleOwner `json:"owner"`
	}
	if err := json.Unmarshal(b, &creds); err != nil {
		t.Fatalf("initial credentials: %v", err)
	}
	if creds.Owner.Email == "" || creds.Owner.Password == "" {
		t.Fatal("initial-credentials.json has no owner email and password")
	}
	return creds.Owner
}

// consoleCode is the app's current code for account, offline, checking
// that it expires at the end of now's 30-s step.
func consoleCode(t *testing.T, h *harness, account string, now time.Time) string {
	t.Helper()
	var codes []codeJSON
	h.jsonOut(&codes, "code", "--json", account)
	end := now.Truncate(30 * time.Second).Add(30 * time.Second).UTC()
	if len(codes) != 1 || codes[0].Account != account || codes[0].Type != "totp" ||
		!regexp.MustCompile(`^\d{6}$`).MatchString(codes[0].Code) || codes[0].Expires == nil || !codes[0].Expires.Equal(end) {
		t.Fatalf("code --json %s = %+v, want one 6-digit TOTP code of %s expiring at %v", account, codes, account, end)
	}
	return codes[0].Code
}

// consoleClient is a plain HTTP client with a cookie jar that posts forms
// as a browser would: the form's CSRF token, and same-origin headers.
type consoleClient struct {
	t      *testing.T
	origin string
	hc     *http.Client
}

func newConsoleClient(t *testing.T, srv *e2eServer) *consoleClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	t.Cleanup(hc.CloseIdleConnections)
	return &consoleClient{t: t, origin: "https://" + srv.host, hc: hc}
}

func (c *consoleClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return resp, string(b)
}

// page GETs path and wants 200.
func (c *consoleClient) page(path string) *goquery.Document {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.origin+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, body := c.do(req)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s = %d, want 200", path, resp.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	return doc
}

// submit fetches the page at from and posts form to its form whose action
// is action, with that form's CSRF token.
func (c *consoleClient) submit(from, action string, form url.Values) consoleResult {
	c.t.Helper()
	f := c.page(from).Find(`form[method="post"][action="` + action + `"]`)
	token, ok := f.Find(`input[name="csrf_token"]`).Attr("value")
	if f.Length() != 1 || !ok || token == "" {
		c.t.Fatalf("%s has no form posting to %s with a CSRF token", from, action)
	}
	v := url.Values{"csrf_token": {token}}
	for k, vs := range form {
		v[k] = vs
	}
	req, err := http.NewRequest(http.MethodPost, c.origin+action, strings.NewReader(v.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.origin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Referer", c.origin+from)
	resp, body := c.do(req)
	return consoleResult{resp, body, c.t}
}

// consoleResult is the answer to a form.
type consoleResult struct {
	*http.Response
	body string
	t    *testing.T
}

// redirects wants a 303 to location.
func (r consoleResult) redirects(location string) {
	r.t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != location {
		r.t.Fatalf("POST %s = %d to %q, want 303 to %q\n%s", r.Request.URL.Path, r.StatusCode,
			r.Header.Get("Location"), location, firstError(r.body))
	}
}

func (r consoleResult) doc() *goquery.Document {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		r.t.Fatal(err)
	}
	return doc
}

// firstError is the page's error text, for a failure message.
func firstError(body string) string {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(doc.Find(".field-error, .alert, main p").First().Text())
}
