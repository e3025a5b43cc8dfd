package console_test

import (
	"crypto/rand"
	"encoding/base32"
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

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/password"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web"
)

var cheap = password.Hasher{Time: 1, Memory: 8 * 1024, Threads: 1}

// fixture is the whole twostepd handler over real TLS on SQLite with an
// Owner, a Help Desk operator (both with a TOTP authenticator set up) and
// users.
type fixture struct {
	t      *testing.T
	Store  *sqlstore.Store
	Host   string
	tr     *http.Transport
	Owner  mfa.Admin
	Help   mfa.Admin
	secret map[string]mfa.Secret // administrator id -> TOTP secret

	mu     sync.Mutex
	offset time.Duration
}

const adminPassword = "a long administrator password"

// publicHost is the host name in the links the admin service makes.
const publicHost = "twostep.example.com"

func newFixture(t *testing.T, opts ...func(*server.Deps)) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	f := &fixture{t: t, Store: st, secret: map[string]mfa.Secret{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	flow := authflow.New(st, f.now, rand.Reader, log, authflow.WithFirstFactor(authflow.FirstFactorOptions{Hasher: cheap}))
	svc := admin.New(st, f.now, rand.Reader, log, admin.WithPublicHost(publicHost))
	svc.SetPasswordHasher(cheap)
	d := server.Deps{Store: st, Logger: log, Now: f.now, ClockSkew: 5 * time.Minute, Flow: flow, Admin: svc,
		Hosts: []string{"localhost"}, Organization: "Example Corp",
		Console: server.ConsoleOptions{IdleTimeout: 10 * time.Minute, SessionLifetime: time.Hour}}
	for _, o := range opts {
		o(&d)
	}
	ts := certstest.StartTLS(t, server.New(d))
	f.Host = ts.Host
	f.tr = &http.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}
	f.tr.TLSClientConfig.RootCAs = ts.Pool
	f.Owner = f.admin("owner@example.com", mfa.RoleOwner, true)
	f.Help = f.admin("help@example.com", mfa.RoleHelpDesk, true)
	return f
}

// admin creates an administrator, with a confirmed authenticator when
// enrolled.
func (f *fixture) admin(email string, role mfa.Role, enrolled bool) mfa.Admin {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixAdmin, rand.Reader)
	hash, _ := cheap.Hash(adminPassword, rand.Reader)
	a := mfa.Admin{ID: id, Email: email, Name: string(role), Role: role, PasswordHash: hash, Created: f.now()}
	if err := f.Store.CreateAdmin(f.t.Context(), a); err != nil {
		f.t.Fatal(err)
	}
	if enrolled {
		s := make([]byte, 20)
		rand.Read(s)
		if err := f.Store.SetAdminTOTP(f.t.Context(), id, s); err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.Store.UseAdminTOTPStep(f.t.Context(), id, 1); err != nil {
			f.t.Fatal(err)
		}
		f.secret[id] = s
	}
	return a
}

// user creates a user with a phone.
func (f *fixture) user(name string, status mfa.UserStatus) (mfa.User, mfa.Phone) {
	f.t.Helper()
	ctx := f.t.Context()
	uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	u := mfa.User{ID: uid, Username: name, RealName: strings.ToUpper(name[:1]) + name[1:] + " Example", Email: name + "@example.com",
		Status: status, Created: f.now()}
	if err := f.Store.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	pid, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
	p := mfa.Phone{ID: pid, Number: "+1555010" + string(rune('0'+len(name)%10)) + "123", Type: mfa.PhoneMobile, Platform: "generic smartphone",
		Created: f.now()}
	if err := f.Store.CreatePhone(ctx, p); err != nil {
		f.t.Fatal(err)
	}
	if err := f.Store.AttachPhone(ctx, uid, pid); err != nil {
		f.t.Fatal(err)
	}
	return u, p
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
	req, _ := http.NewRequest(method, "https://"+b.f.Host+path, body)
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

// page GETs path and parses it; want is the expected status.
func (b *browser) page(path string, want int) *goquery.Document {
	b.f.t.Helper()
	resp, body := b.do("GET", path, nil, nil)
	if resp.StatusCode != want {
		b.f.t.Fatalf("GET %s = %d, want %d: %s", path, resp.StatusCode, want, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		b.f.t.Fatal(err)
	}
	return doc
}

// csrf reads a page's CSRF token.
func (b *browser) csrf(path string) string {
	b.f.t.Helper()
	tok, _ := b.page(path, 200).Find(`input[name="` + web.CSRFField + `"]`).First().Attr("value")
	if tok == "" {
		b.f.t.Fatalf("GET %s: no CSRF token", path)
	}
	return tok
}

// post POSTs form (with the CSRF token of the page at from) to path.
func (b *browser) post(from, path string, form url.Values) (*http.Response, string) {
	b.f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(web.CSRFField, b.csrf(from))
	return b.do("POST", path, form, nil)
}

func wantRedirect(t *testing.T, what string, resp *http.Response, body, path string) {
	t.Helper()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.RequestURI() != path {
		t.Fatalf("%s = %d %v, want 303 to %s: %s", what, resp.StatusCode, loc, path, body)
	}
}

// code is the administrator's current TOTP code; each call moves the
// clock to the next step first, so no code is a replay.
func (f *fixture) code(id string) string {
	f.Advance(30 * time.Second)
	return otp.TOTP(f.secret[id], f.now(), 30, 6)
}

// signIn signs a enrolled administrator in.
func (b *browser) signIn(a mfa.Admin) {
	b.f.t.Helper()
	resp, body := b.post("/console/login", "/console/login", url.Values{"email": {a.Email}, "password": {adminPassword}})
	wantRedirect(b.f.t, "password", resp, body, "/console/login/code")
	resp, body = b.post("/console/login/code", "/console/login/code", url.Values{"code": {b.f.code(a.ID)}})
	wantRedirect(b.f.t, "code", resp, body, "/console/")
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

// TestFirstSignIn: the bootstrap Owner's first sign-in: password, set up
// the authenticator (QR + key + otpauth URI), a wrong then a right code,
// the forced password change, the dashboard; the session id changes at
// each step; the old password no longer works.
func TestFirstSignIn(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	hash, _ := cheap.Hash("generated bootstrap pw", rand.Reader)
	id, _ := mfa.NewID(mfa.PrefixAdmin, rand.Reader)
	boot := mfa.Admin{ID: id, Email: "boot@localhost", Role: mfa.RoleOwner, PasswordHash: hash, PasswordChangeRequired: true, Created: f.now()}
	if err := f.Store.CreateAdmin(ctx, boot); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	wantRedirect(t, "GET /console/ signed out", mustDo(b, "GET", "/console/"), "", "/console/login")
	doc := b.page("/console/login", 200)
	if doc.Find(`#f-email[type="email"]`).Length() != 1 || doc.Find(`#f-password[type="password"]`).Length() != 1 {
		t.Fatal("login page has no email and password fields")
	}
	resp, body := b.post("/console/login", "/console/login", url.Values{"email": {"boot@localhost"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, authflow.MsgAdminBadPassword) {
		t.Fatalf("wrong password = %d", resp.StatusCode)
	}
	before := sessionCookie(b, f.Host)
	resp, body = b.post("/console/login", "/console/login", url.Values{"email": {"BOOT@localhost"}, "password": {"generated bootstrap pw"}})
	wantRedirect(t, "right password", resp, body, "/console/login/enroll")
	if after := sessionCookie(b, f.Host); after == before {
		t.Error("the session id did not change after the password")
	}
	// Nothing else is shown before the authenticator is set up.
	wantRedirect(t, "dashboard before set-up", mustDo(b, "GET", "/console/"), "", "/console/login")
	doc = b.page("/console/login/enroll", 200)
	key := strings.ReplaceAll(doc.Find("#totp-key").Text(), " ", "")
	src, _ := doc.Find("img.qr").Attr("src")
	uri, _ := doc.Find("#otpauth-uri").Attr("href")
	if !strings.HasPrefix(src, "data:image/png;base64,") || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+key) {
		t.Fatalf("set-up page: qr %.40q, uri %q, key %q", src, uri, key)
	}
	// A reload shows the same secret until it is confirmed.
	if again := strings.ReplaceAll(b.page("/console/login/enroll", 200).Find("#totp-key").Text(), " ", ""); again != key {
		t.Error("reloading the set-up page changed the secret")
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = b.post("/console/login/enroll", "/console/login/enroll", url.Values{"code": {"000000"}})
	if otp.TOTP(secret, f.now(), 30, 6) != "000000" && (resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, authflow.MsgAdminBadCode)) {
		t.Fatalf("wrong code = %d", resp.StatusCode)
	}
	f.Advance(30 * time.Second)
	resp, body = b.post("/console/login/enroll", "/console/login/enroll", url.Values{"code": {otp.TOTP(secret, f.now(), 30, 6)}})
	wantRedirect(t, "right code", resp, body, "/console/login/password")
	wantRedirect(t, "dashboard before the new password", mustDo(b, "GET", "/console/"), "", "/console/login")
	resp, body = b.post("/console/login/password", "/console/login/password", url.Values{"new_password": {"my own new passphrase"},
		"confirm_password": {"my own new passphrase x"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not the same") {
		t.Fatalf("mismatched passwords = %d", resp.StatusCode)
	}
	resp, body = b.post("/console/login/password", "/console/login/password", url.Values{"new_password": {"generated bootstrap pw"},
		"confirm_password": {"generated bootstrap pw"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "different from the current") {
		t.Fatalf("same password again = %d", resp.StatusCode)
	}
	resp, body = b.post("/console/login/password", "/console/login/password", url.Values{"new_password": {"my own new passphrase"},
		"confirm_password": {"my own new passphrase"}})
	wantRedirect(t, "new password", resp, body, "/console/")
	doc = b.page("/console/", 200)
	if doc.Find("h1").Text() != "Dashboard" || doc.Find(".stats li").Length() != 4 || doc.Find("svg.bars rect.bar").Length() != 24 {
		t.Errorf("dashboard: h1 %q, %d stats, %d bars", doc.Find("h1").Text(), doc.Find(".stats li").Length(), doc.Find("svg.bars rect.bar").Length())
	}
	got, _ := f.Store.GetAdmin(ctx, id)
	if got.PasswordChangeRequired || got.LastLogin.IsZero() {
		t.Errorf("after the first sign-in: %+v", got)
	}
	if ok, _ := password.Verify("my own new passphrase", got.PasswordHash); !ok {
		t.Error("the new password does not verify")
	}
	// Sign out ends the session.
	resp, body = b.post("/console/", "/console/logout", nil)
	wantRedirect(t, "logout", resp, body, "/console/login?out=1")
	wantRedirect(t, "dashboard after logout", mustDo(b, "GET", "/console/"), "", "/console/login")
	// The old password is refused; the new one and the app's code sign in.
	b2 := f.browser()
	resp, _ = b2.post("/console/login", "/console/login", url.Values{"email": {"boot@localhost"}, "password": {"generated bootstrap pw"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password = %d, want 401", resp.StatusCode)
	}
	f.secret[id] = secret
	resp, body = b2.post("/console/login", "/console/login", url.Values{"email": {"boot@localhost"}, "password": {"my own new passphrase"}})
	wantRedirect(t, "second sign-in", resp, body, "/console/login/code")
	code := f.code(id)
	resp, body = b2.post("/console/login/code", "/console/login/code", url.Values{"code": {code}})
	wantRedirect(t, "second sign-in code", resp, body, "/console/")
	// The same code in another browser is a replay.
	b3 := f.browser()
	b3.post("/console/login", "/console/login", url.Values{"email": {"boot@localhost"}, "password": {"my own new passphrase"}})
	resp, body = b3.post("/console/login/code", "/console/login/code", url.Values{"code": {code}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, authflow.MsgAdminCodeReused) {
		t.Errorf("replayed code = %d", resp.StatusCode)
	}
}

func mustDo(b *browser, method, path string) *http.Response {
	resp, _ := b.do(method, path, nil, nil)
	return resp
}

// TestSessionTimeouts: idle and absolute timeouts end the console session.
func TestSessionTimeouts(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.Owner)
	f.Advance(9 * time.Minute)
	b.page("/console/", 200)
	f.Advance(9 * time.Minute) // 9 minutes after the last request: still in
	b.page("/console/users", 200)
	f.Advance(11 * time.Minute)
	wantRedirect(t, "after 11 idle minutes", mustDo(b, "GET", "/console/"), "", "/console/login?ended=1")
	if !strings.Contains(b.page("/console/login?ended=1", 200).Text(), "Your session ended") {
		t.Error("the sign-in page does not say the session ended")
	}
	b = f.browser()
	b.signIn(f.Owner)
	for range 6 { // used every 9 minutes
		f.Advance(9 * time.Minute)
		b.page("/console/", 200)
	}
	f.Advance(9 * time.Minute) // 63 minutes: past the one-hour lifetime
	wantRedirect(t, "past the lifetime", mustDo(b, "GET", "/console/"), "", "/console/login?ended=1")
	// A disabled administrator's session ends at the next request.
	b = f.browser()
	b.signIn(f.Help)
	h, _ := f.Store.GetAdmin(t.Context(), f.Help.ID)
	h.Disabled = true
	if err := f.Store.UpdateAdmin(t.Context(), h); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, "disabled administrator", mustDo(b, "GET", "/console/"), "", "/console/login?ended=1")
}

// TestSignInLockout: wrong codes count towards the administrator's
// lockout; locked out, the right password gets the locked-out page.
func TestSignInLockout(t *testing.T) {
	f := newFixture(t)
	st := mfa.DefaultSettings()
	st.LockoutThreshold = 3
	if err := f.Store.PutSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.post("/console/login", "/console/login", url.Values{"email": {f.Help.Email}, "password": {adminPassword}})
	right := f.code(f.Help.ID)
	wrong := "000000"
	if right == wrong {
		wrong = "000001"
	}
	var resp *http.Response
	for range 3 {
		resp, _ = b.post("/console/login/code", "/console/login/code", url.Values{"code": {wrong}})
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("third wrong code = %d, want 403 locked out", resp.StatusCode)
	}
	b = f.browser()
	resp, body := b.post("/console/login", "/console/login", url.Values{"email": {f.Help.Email}, "password": {adminPassword}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "locked") {
		t.Errorf("password while locked out = %d", resp.StatusCode)
	}
	// An Owner resets it from the administrators page.
	o := f.browser()
	o.signIn(f.Owner)
	doc := o.page("/console/admins", 200)
	if doc.Find(`form[action="/console/admins/`+f.Help.ID+`/reset"]`).Length() != 1 {
		t.Fatal("no reset button for the locked-out administrator")
	}
	resp, body = o.post("/console/admins", "/console/admins/"+f.Help.ID+"/reset", nil)
	wantRedirect(t, "reset", resp, body, "/console/admins?done=reset")
	b = f.browser()
	b.signIn(f.Help)
}
