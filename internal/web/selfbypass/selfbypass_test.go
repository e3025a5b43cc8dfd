package selfbypass_test

import (
	"crypto/rand"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/password"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web"
	"github.com/twostep-auth/twostep/internal/web/selfbypass"
)

// fixture is the self-service pages (and the PIN page, with a fake
// signed-in user from the X-Test-User header) over real TLS on SQLite,
// with alice: a password, a hardware token and the PIN 482913.
type fixture struct {
	t     *testing.T
	store *sqlstore.Store
	svc   *admin.Service
	host  string
	cert  *x509.Certificate
	tr    *http.Transport
	alice mfa.User
	owner admin.Actor
}

var cheap = password.Hasher{Time: 1, Memory: 8 * 1024, Threads: 1}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.DiscardHandler)
	flow := authflow.New(st, time.Now, rand.Reader, log, authflow.WithFirstFactor(authflow.FirstFactorOptions{Hasher: cheap}))
	svc := admin.New(st, time.Now, rand.Reader, log)
	f := &fixture{t: t, store: st, svc: svc, owner: admin.SystemActor()}
	mux := http.NewServeMux()
	site := web.New(web.Deps{Logger: log, Sessions: st, Now: time.Now, Rand: rand.Reader, Organization: "Example Corp"})
	site.Register(mux)
	d := selfbypass.Deps{Site: site, Flow: flow, Admin: svc, Now: time.Now, Contact: "the IT help desk", Logger: log}
	selfbypass.New(d).Register(mux)
	selfbypass.NewPINPage(d, func(r *http.Request) (string, bool) {
		id := r.Header.Get("X-Test-User")
		if c, err := r.Cookie("test_user"); err == nil && id == "" {
			id = c.Value // the browser test's signed-in user
		}
		return id, id != ""
	}).Register(mux)
	ts := certstest.StartTLS(t, mux)
	f.host, f.cert = ts.Host, ts.Certificate()
	f.tr = &http.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}
	f.tr.TLSClientConfig.RootCAs = ts.Pool
	f.alice = f.user("alice", true)
	if err := svc.SetUserPIN(t.Context(), f.owner, f.alice.ID, "482913"); err != nil {
		t.Fatal(err)
	}
	f.settings(admin.SettingsFields{SelfBypass: ptr(true)})
	return f
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) settings(s admin.SettingsFields) {
	f.t.Helper()
	if _, err := f.svc.UpdateSettings(f.t.Context(), f.owner, s); err != nil {
		f.t.Fatal(err)
	}
}

// user makes a user with the password "correct horse battery" and,
// when device, a hardware token.
func (f *fixture) user(name string, device bool) mfa.User {
	f.t.Helper()
	u := mfatest.NewUser(f.t, f.store, func(u *mfa.User) { u.Username = name })
	hash, _ := cheap.Hash("correct horse battery", rand.Reader)
	if err := f.store.SetUserPassword(f.t.Context(), u.ID, hash, time.Now()); err != nil {
		f.t.Fatal(err)
	}
	if device {
		tok := mfatest.NewToken(f.t, f.store, mfa.TokenH6)
		if err := f.store.AttachToken(f.t.Context(), u.ID, tok.ID); err != nil {
			f.t.Fatal(err)
		}
	}
	return u
}

func (f *fixture) adminLog() string {
	entries, err := f.store.ListAdminLog(f.t.Context(), mfa.LogFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.ActorKind + " " + e.Actor + " " + e.Action + " " + e.Description + "\n")
	}
	return b.String()
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

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, *goquery.Document, string) {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, "https://"+b.f.host+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://"+b.f.host)
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
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(raw)))
	return resp, doc, string(raw)
}

// csrf reads the CSRF token of a page's form.
func (b *browser) csrf(path string, hdr map[string]string) string {
	b.f.t.Helper()
	resp, doc, body := b.do("GET", path, nil, hdr)
	tok, _ := doc.Find(`input[name="` + web.CSRFField + `"]`).Attr("value")
	if resp.StatusCode != 200 || tok == "" {
		b.f.t.Fatalf("GET %s = %d, no CSRF token: %s", path, resp.StatusCode, body)
	}
	return tok
}

func (b *browser) session() string {
	u, _ := url.Parse("https://" + b.f.host + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == web.CookieName {
			return c.Value
		}
	}
	return ""
}

// password passes the password step and returns the response.
func (b *browser) password(user, pw string) (*http.Response, *goquery.Document, string) {
	b.f.t.Helper()
	tok := b.csrf(selfbypass.BypassPath, nil)
	return b.do("POST", selfbypass.BypassPath, url.Values{web.CSRFField: {tok}, "username": {user}, "password": {pw}}, nil)
}

func (b *browser) answer(form url.Values) (*http.Response, *goquery.Document, string) {
	b.f.t.Helper()
	form.Set(web.CSRFField, b.csrf(selfbypass.VerifyPath, nil))
	return b.do("POST", selfbypass.VerifyPath, form, nil)
}

var nineDigits = regexp.MustCompile(`^[0-9]{9}$`)

func TestSelfBypassFlow(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	resp, doc, body := b.do("GET", selfbypass.BypassPath, nil, nil)
	if resp.StatusCode != 200 || doc.Find(`form[action="/portal/bypass"] #f-username`).Length() != 1 ||
		doc.Find(`#f-password[type="password"]`).Length() != 1 || !strings.Contains(doc.Find("main").Text(), "10 minutes") {
		t.Fatalf("GET /portal/bypass = %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("headers = %v", resp.Header)
	}
	before := b.session()
	// A wrong password and an unknown user: one message.
	_, doc1, _ := b.password("alice", "wrong password here")
	_, doc2, _ := b.password("nobody", "correct horse battery")
	m1, m2 := doc1.Find(".field-invalid").Text(), doc2.Find(".field-invalid").Text()
	if !strings.Contains(m1, authflow.MsgBadPassword) || m1 != m2 {
		t.Errorf("wrong password says %q, unknown user %q; want the same %q", m1, m2, authflow.MsgBadPassword)
	}
	resp, _, body = b.password("alice", "correct horse battery")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != selfbypass.VerifyPath {
		t.Fatalf("right password = %d %q %s", resp.StatusCode, loc, body)
	}
	if after := b.session(); after == "" || after == before {
		t.Error("the session id did not change after the password")
	}
	resp, doc, body = b.do("GET", selfbypass.VerifyPath, nil, nil)
	if resp.StatusCode != 200 || doc.Find(`#f-pin[type="password"][inputmode="numeric"]`).Length() != 1 || doc.Find("#f-dob").Length() != 0 {
		t.Fatalf("GET verify = %d %s", resp.StatusCode, body)
	}
	resp, doc, _ = b.answer(url.Values{"pin": {"482914"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(doc.Find(".error-summary").Text(), admin.MsgSelfBypassWrong) {
		t.Errorf("wrong PIN = %d %q", resp.StatusCode, doc.Find(".error-summary").Text())
	}
	resp, doc, body = b.answer(url.Values{"pin": {"482913"}})
	code := strings.TrimSpace(doc.Find("#bypass-code").Text())
	if resp.StatusCode != 200 || !nineDigits.MatchString(code) || resp.Header.Get("Cache-Control") != "no-store" ||
		doc.Find(`a[href="/portal/"]`).Length() == 0 || !strings.Contains(doc.Find("main").Text(), "add or reactivate a device") {
		t.Fatalf("right PIN = %d %q %v %s", resp.StatusCode, code, resp.Header.Get("Cache-Control"), body)
	}
	// The check is spent: the page starts again.
	resp, _, _ = b.do("GET", selfbypass.VerifyPath, nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != selfbypass.BypassPath {
		t.Errorf("verify after the code = %d %q, want back to the start", resp.StatusCode, resp.Header.Get("Location"))
	}
	if strings.Contains(f.adminLog(), code) {
		t.Error("the admin log holds the code")
	}
	for _, want := range []string{"self-service alice bypass_create", `"source_ip":"127.0.0.1"`, "self_bypass_failure"} {
		if !strings.Contains(f.adminLog(), want) {
			t.Errorf("admin log lacks %q:\n%s", want, f.adminLog())
		}
	}
}

func TestSelfBypassDOBIDPage(t *testing.T) {
	f := newFixture(t)
	f.settings(admin.SettingsFields{SelfBypassCheck: ptr("dob_id")})
	if err := f.svc.SetUserDOBID(t.Context(), f.owner, f.alice.ID, "1984-03-07", "0042"); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.password("alice", "correct horse battery")
	_, doc, _ := b.do("GET", selfbypass.VerifyPath, nil, nil)
	if doc.Find(`#f-dob[type="date"]`).Length() != 1 || doc.Find("#f-id_last4").Length() != 1 || doc.Find("#f-pin").Length() != 0 {
		t.Fatal("the dob_id check does not ask for the date and the digits")
	}
	resp, doc, _ := b.answer(url.Values{"dob": {"1984-03-07"}, "id_last4": {"12x"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#f-id_last4").Parent().Text(), "last 4 digits") {
		t.Errorf("malformed digits = %d", resp.StatusCode)
	}
	resp, doc, _ = b.answer(url.Values{"dob": {"1984-03-07"}, "id_last4": {"0042"}})
	if resp.StatusCode != 200 || !nineDigits.MatchString(strings.TrimSpace(doc.Find("#bypass-code").Text())) {
		t.Errorf("right answer = %d", resp.StatusCode)
	}
}

func TestSelfBypassOff(t *testing.T) {
	f := newFixture(t)
	f.settings(admin.SettingsFields{SelfBypass: ptr(false)})
	b := f.browser()
	resp, doc, body := b.do("GET", selfbypass.BypassPath, nil, nil)
	if resp.StatusCode != 200 || doc.Find("form").Length() != 0 || !strings.Contains(doc.Find("h1").Text(), "not available") {
		t.Errorf("GET when off = %d %s", resp.StatusCode, body)
	}
	if c := resp.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("the off page sets a cookie: %s", c)
	}
	// A POST (say from a form loaded before it was turned off) gets the same.
	on := f.browser()
	f.settings(admin.SettingsFields{SelfBypass: ptr(true)})
	tok := on.csrf(selfbypass.BypassPath, nil)
	f.settings(admin.SettingsFields{SelfBypass: ptr(false)})
	resp, doc, _ = on.do("POST", selfbypass.BypassPath, url.Values{web.CSRFField: {tok}, "username": {"alice"},
		"password": {"correct horse battery"}}, nil)
	if resp.StatusCode != 200 || doc.Find("form").Length() != 0 || !strings.Contains(doc.Find("h1").Text(), "not available") {
		t.Errorf("POST when off = %d", resp.StatusCode)
	}
}

func TestSelfBypassAttacks(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	tok := b.csrf(selfbypass.BypassPath, nil)
	good := url.Values{web.CSRFField: {tok}, "username": {"alice"}, "password": {"correct horse battery"}}
	noTok := url.Values{"username": {"alice"}, "password": {"correct horse battery"}}
	tests := []struct {
		name   string
		method string
		form   url.Values
		hdr    map[string]string
		want   int
	}{
		{"no CSRF token", "POST", noTok, nil, http.StatusForbidden},
		{"wrong CSRF token", "POST", url.Values{web.CSRFField: {"x" + tok}, "username": {"alice"}, "password": {"correct horse battery"}}, nil, http.StatusForbidden},
		{"cross-site", "POST", good, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"oversized", "POST", url.Values{web.CSRFField: {tok}, "username": {"alice"}, "password": {strings.Repeat("p", 5000)}}, nil, http.StatusRequestEntityTooLarge},
		{"wrong method", "PUT", good, nil, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		resp, _, _ := b.do(tt.method, selfbypass.BypassPath, tt.form, tt.hdr)
		if resp.StatusCode != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	// Posting an answer without a passed password check goes back to the start.
	tok = b.csrf(selfbypass.BypassPath, nil)
	resp, _, _ := b.do("POST", selfbypass.VerifyPath, url.Values{web.CSRFField: {tok}, "pin": {"482913"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != selfbypass.BypassPath {
		t.Errorf("answer without the password = %d, want back to the start", resp.StatusCode)
	}
	// A passed check in one browser is no use in another.
	b.password("alice", "correct horse battery")
	other := f.browser()
	tok = other.csrf(selfbypass.BypassPath, nil)
	resp, _, _ = other.do("POST", selfbypass.VerifyPath, url.Values{web.CSRFField: {tok}, "pin": {"482913"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("answer from another browser = %d, want back to the start", resp.StatusCode)
	}
	// An oversized answer.
	resp, _, _ = b.do("POST", selfbypass.VerifyPath, url.Values{web.CSRFField: {b.csrf(selfbypass.VerifyPath, nil)},
		"pin": {strings.Repeat("1", 5000)}}, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized answer = %d, want 413", resp.StatusCode)
	}
	if n, _, _ := f.store.ListBypassCodes(t.Context(), mfa.BypassFilter{UserID: f.alice.ID}); len(n) != 0 {
		t.Errorf("the attacks made %d codes", len(n))
	}
}

func TestSelfBypassRefusedUsers(t *testing.T) {
	f := newFixture(t)
	nodev := f.user("nodev", false)
	_ = f.svc.SetUserPIN(t.Context(), f.owner, nodev.ID, "482913")
	dis := f.user("dis", true)
	dis.Status = mfa.StatusDisabled
	if err := f.store.UpdateUser(t.Context(), dis); err != nil {
		t.Fatal(err)
	}
	nopin := f.user("nopin", true)
	tests := []struct {
		user string
		want int
		msg  string
	}{
		{"nodev", http.StatusForbidden, admin.MsgSelfBypassNoDevice},
		{"dis", http.StatusForbidden, "disabled"},
		{"nopin", http.StatusForbidden, admin.MsgSelfBypassNoPIN},
	}
	for _, tt := range tests {
		b := f.browser()
		resp, _, body := b.password(tt.user, "correct horse battery")
		if resp.StatusCode != tt.want || !strings.Contains(body, tt.msg) || strings.Contains(body, `name="pin"`) {
			t.Errorf("%s = %d, want %d with %q: %s", tt.user, resp.StatusCode, tt.want, tt.msg, body)
		}
		if resp, _, _ := b.do("GET", selfbypass.VerifyPath, nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s reaches the identity check: %d", tt.user, resp.StatusCode)
		}
	}
	_ = nopin
	if !strings.Contains(f.adminLog(), `"reason":"no_device"`) {
		t.Errorf("admin log:\n%s", f.adminLog())
	}
}

func TestSelfBypassLockoutPage(t *testing.T) {
	f := newFixture(t)
	f.settings(admin.SettingsFields{LockoutThreshold: ptr(2)})
	b := f.browser()
	b.password("alice", "correct horse battery")
	b.answer(url.Values{"pin": {"000001"}})
	resp, _, body := b.answer(url.Values{"pin": {"000002"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "the IT help desk") {
		t.Errorf("locking answer = %d %s", resp.StatusCode, body)
	}
	// Locked: the password step now says so too.
	resp, _, _ = f.browser().password("alice", "correct horse battery")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("password of a locked-out user = %d, want 403", resp.StatusCode)
	}
}

func TestPINPage(t *testing.T) {
	f := newFixture(t)
	bob := f.user("bob", true)
	as := map[string]string{"X-Test-User": bob.ID}
	b := f.browser()
	// Not signed in: to the portal.
	resp, _, _ := b.do("GET", selfbypass.PINPath, nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != selfbypass.PortalPath {
		t.Errorf("GET /portal/pin signed out = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, doc, body := b.do("GET", selfbypass.PINPath, nil, as)
	if resp.StatusCode != 200 || !strings.Contains(doc.Find("#pin-status").Text(), "not set a PIN") ||
		doc.Find(`#f-pin[type="password"]`).Length() != 1 || doc.Find("#f-confirm").Length() != 1 {
		t.Fatalf("PIN page = %d %s", resp.StatusCode, body)
	}
	tok := b.csrf(selfbypass.PINPath, as)
	for _, tt := range []struct {
		pin, confirm, field, msg string
	}{
		{"123456", "123456", "pin", "run of digits"},
		{"12", "12", "pin", "6 to 12 digits"},
		{"739105", "739106", "confirm", "not the same"},
	} {
		resp, doc, _ := b.do("POST", selfbypass.PINPath, url.Values{web.CSRFField: {tok}, "pin": {tt.pin}, "confirm": {tt.confirm}}, as)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#f-"+tt.field).Parent().Text(), tt.msg) {
			t.Errorf("PIN %q/%q = %d, want 400 with %q beside %s", tt.pin, tt.confirm, resp.StatusCode, tt.msg, tt.field)
		}
	}
	if resp, _, _ := b.do("POST", selfbypass.PINPath, url.Values{"pin": {"739105"}, "confirm": {"739105"}}, as); resp.StatusCode != http.StatusForbidden {
		t.Errorf("PIN without CSRF = %d, want 403", resp.StatusCode)
	}
	resp, doc, _ = b.do("POST", selfbypass.PINPath, url.Values{web.CSRFField: {tok}, "pin": {"739105"}, "confirm": {"739105"}}, as)
	if resp.StatusCode != 200 || !strings.Contains(doc.Find(".alert-success").Text(), "PIN saved") ||
		!strings.Contains(doc.Find("#pin-status").Text(), "You set a PIN") || strings.Contains(doc.Text(), "739105") {
		t.Errorf("PIN saved = %d", resp.StatusCode)
	}
	if ok, _ := f.store.CheckUserIdentity(t.Context(), bob.ID, mfa.IdentityPIN, "739105"); !ok {
		t.Error("the PIN was not stored")
	}
	if !strings.Contains(f.adminLog(), "self-service bob user_pin_set") {
		t.Errorf("admin log:\n%s", f.adminLog())
	}
}
