package portal_test

import (
	"crypto/rand"
	"encoding/base32"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/fido"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/password"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web"
)

const pw = "correct horse battery"

var tokenSeed = []byte("12345678901234567890")

type fixture struct {
	t     *testing.T
	Store *sqlstore.Store
	Flow  *authflow.Service
	Admin *admin.Service
	Notes *mfatest.Notifier
	Host  string
	tr    *http.Transport
	cheap password.Hasher

	mu     sync.Mutex
	offset time.Duration
}

func newFixture(t *testing.T, opts ...authflow.Option) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	f := &fixture{t: t, Store: st, Notes: &mfatest.Notifier{}, cheap: password.Hasher{Time: 1, Memory: 8 * 1024, Threads: 1}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Flow = authflow.New(st, f.now, rand.Reader, log, append([]authflow.Option{
		authflow.WithFirstFactor(authflow.FirstFactorOptions{Hasher: f.cheap}),
		authflow.WithNotifier(f.Notes), authflow.WithLimits(authflow.Limit{}, authflow.Limit{})}, opts...)...)
	h := server.New(server.Deps{Store: st, Logger: log, Now: f.now, ClockSkew: 5 * time.Minute, Flow: f.Flow,
		Hosts: []string{"localhost"}, Organization: "Example Corp", PublicHost: "twostep.example.com",
		Admin: admin.New(st, f.now, rand.Reader, log, admin.WithNotifier(f.Notes), admin.WithPublicHost("twostep.example.com"))})
	f.Admin = admin.New(st, f.now, rand.Reader, log, admin.WithNotifier(f.Notes), admin.WithPublicHost("twostep.example.com"))
	ts := certstest.StartTLS(t, h)
	f.Host = ts.Host
	f.tr = &http.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}
	f.tr.TLSClientConfig.RootCAs = ts.Pool
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

// user stores an active user with the test password and, when withToken,
// a TOTP token (tokenSeed) to pass the prompt with.
func (f *fixture) user(name string, withToken bool) (mfa.User, mfa.Token) {
	f.t.Helper()
	ctx := f.t.Context()
	uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	u := mfa.User{ID: uid, Username: name, Status: mfa.StatusActive, Created: time.Now()}
	if err := f.Store.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	hash, _ := f.cheap.Hash(pw, rand.Reader)
	if err := f.Store.SetUserPassword(ctx, uid, hash, time.Now()); err != nil {
		f.t.Fatal(err)
	}
	var tk mfa.Token
	if withToken {
		tid, _ := mfa.NewID(mfa.PrefixToken, rand.Reader)
		tk = mfa.Token{ID: tid, Type: mfa.TokenT6, Serial: "T-" + name, Secret: mfa.Secret(tokenSeed), TOTPStep: 30, Created: time.Now()}
		if err := f.Store.CreateToken(ctx, tk); err != nil {
			f.t.Fatal(err)
		}
		if err := f.Store.AttachToken(ctx, uid, tid); err != nil {
			f.t.Fatal(err)
		}
	}
	return u, tk
}

type browser struct {
	f *fixture
	c *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Timeout: 20 * time.Second, Jar: jar, Transport: f.tr.Clone(),
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

// get fetches page and parses it; want is the status expected.
func (b *browser) get(path string, want int) *goquery.Document {
	b.f.t.Helper()
	resp, body := b.do("GET", path, nil, nil)
	if resp.StatusCode != want {
		b.f.t.Fatalf("GET %s = %d, want %d: %s", path, resp.StatusCode, want, body)
	}
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(body))
	return doc
}

func csrfOf(t *testing.T, doc *goquery.Document) string {
	t.Helper()
	tok, _ := doc.Find(`input[name="` + web.CSRFField + `"]`).First().Attr("value")
	if tok == "" {
		t.Fatal("no CSRF token on the page")
	}
	return tok
}

// post posts form (with the CSRF token of page) and returns the answer.
func (b *browser) post(page, path string, form url.Values) (*http.Response, string) {
	b.f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(web.CSRFField, csrfOf(b.f.t, b.get(page, http.StatusOK)))
	return b.do("POST", path, form, nil)
}

func location(resp *http.Response) string {
	if loc, err := resp.Location(); err == nil {
		return loc.Path
	}
	return ""
}

func (b *browser) session() string {
	u, _ := url.Parse("https://" + b.f.Host + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == web.CookieName {
			return c.Value
		}
	}
	return ""
}

// password logs in with the password and returns where it leads.
func (b *browser) password(username string) string {
	b.f.t.Helper()
	resp, body := b.post("/portal/login", "/portal/login", url.Values{"username": {username}, "password": {pw}})
	if resp.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("password = %d: %s", resp.StatusCode, body)
	}
	return location(resp)
}

// login logs in fully with a passcode of the user's TOTP token.
func (b *browser) login(username string) {
	b.f.t.Helper()
	prompt := b.password(username)
	if !strings.HasPrefix(prompt, "/frame/prompt/") {
		b.f.t.Fatalf("password led to %s, want the prompt", prompt)
	}
	b.f.Advance(30 * time.Second) // a fresh TOTP step for every login
	code := otp.TOTP(tokenSeed, b.f.now(), 30, 6)
	resp, body := b.post(prompt+"/passcode", prompt+"/passcode", url.Values{"passcode": {code}})
	if resp.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("passcode = %d: %s", resp.StatusCode, body)
	}
	done := location(resp)
	if !strings.HasPrefix(done, "/portal/login/") {
		resp, _ = b.do("GET", done, nil, nil)
		done = location(resp)
	}
	resp, body = b.do("GET", done, nil, nil)
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/portal/" {
		b.f.t.Fatalf("done %s = %d %s: %s", done, resp.StatusCode, location(resp), body)
	}
}

func TestPortalLogin(t *testing.T) {
	f := newFixture(t)
	alice, tk := f.user("alice", true)
	b := f.browser()
	if resp, _ := b.do("GET", "/portal/", nil, nil); resp.StatusCode != http.StatusSeeOther || location(resp) != "/portal/login" {
		t.Fatalf("GET /portal/ signed out = %d %s, want the login page", resp.StatusCode, location(resp))
	}
	doc := b.get("/portal/login", http.StatusOK)
	if doc.Find("#f-username").Length() != 1 || doc.Find(`#f-password[type="password"]`).Length() != 1 ||
		doc.Find(`a#bypass-link[href="/portal/bypass"]`).Length() != 1 {
		t.Errorf("login page lacks its fields or the bypass link")
	}
	resp, body := b.post("/portal/login", "/portal/login", url.Values{"username": {"alice"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, authflow.MsgBadPassword) {
		t.Errorf("wrong password = %d", resp.StatusCode)
	}
	before := b.session()
	prompt := b.password("alice")
	afterPassword := b.session()
	if !strings.HasPrefix(prompt, "/frame/prompt/") || afterPassword == before || afterPassword == "" {
		t.Fatalf("password: to %s, session renewed %v", prompt, afterPassword != before)
	}
	// The password alone does not sign in.
	if resp, _ := b.do("GET", "/portal/", nil, nil); location(resp) != "/portal/login" {
		t.Errorf("GET /portal/ after the password only = %d %s", resp.StatusCode, location(resp))
	}
	f.Advance(30 * time.Second)
	code := otp.TOTP(tokenSeed, f.now(), 30, 6)
	resp, _ = b.post(prompt+"/passcode", prompt+"/passcode", url.Values{"passcode": {code}})
	done := location(resp)
	if !strings.HasPrefix(done, "/portal/login/") {
		resp, _ = b.do("GET", done, nil, nil)
		done = location(resp)
	}
	// Another browser cannot finish it.
	if resp, _ := f.browser().do("GET", done, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("done from another browser = %d, want 403", resp.StatusCode)
	}
	resp, _ = b.do("GET", done, nil, nil)
	if location(resp) != "/portal/" || b.session() == afterPassword {
		t.Fatalf("done = %d %s; session renewed at login: %v", resp.StatusCode, location(resp), b.session() != afterPassword)
	}
	doc = b.get("/portal/", http.StatusOK)
	if doc.Find("#devices li.device").Length() != 1 || doc.Find("#device-"+tk.ID+" .device-methods").Text() != "Passcode" ||
		!strings.Contains(doc.Find(".alert-success").Text(), "logged in") || doc.Find(`nav a[aria-current="page"]`).Text() != "My Settings & Devices" ||
		doc.Find(".alert-warning").Length() != 1 {
		t.Errorf("devices page: %d devices, methods %q", doc.Find("#devices li.device").Length(), doc.Find(".device-methods").Text())
	}
	if !strings.Contains(doc.Find("#device-"+tk.ID+" .device-used").Text(), "last used") {
		t.Errorf("last use = %q", doc.Find(".device-used").Text())
	}
	logs, _, _ := f.Store.ListAuthLog(t.Context(), mfa.AuthLogFilter{UserIDs: []string{alice.ID}})
	if len(logs) == 0 || logs[len(logs)-1].IntegrationName != mfa.PortalName || logs[len(logs)-1].Result != mfa.ResultSuccess {
		t.Errorf("auth log of the portal login: %+v", logs)
	}
	// The done page works once: its binding cookie is gone.
	if resp, _ := b.do("GET", done, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("done again = %d, want 403", resp.StatusCode)
	}
	// Logout ends the session.
	resp, _ = b.post("/portal/", "/portal/logout", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("logout = %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/portal/", nil, nil); location(resp) != "/portal/login" {
		t.Errorf("after logout /portal/ = %d %s", resp.StatusCode, location(resp))
	}
	// The sign-in lasts an hour at most.
	b.login("alice")
	f.Advance(61 * time.Minute)
	if resp, _ := b.do("GET", "/portal/activity", nil, nil); location(resp) != "/portal/login" {
		t.Errorf("after the portal's lifetime /portal/activity = %d %s", resp.StatusCode, location(resp))
	}
}

func TestPortalAttacks(t *testing.T) {
	f := newFixture(t)
	f.user("alice", true)
	_, bobTk := f.user("bob", true)
	b := f.browser()
	b.login("alice")
	page := b.get("/portal/", http.StatusOK)
	tok := csrfOf(t, page)
	mine := page.Find("#devices li.device").AttrOr("data-device", "")
	tests := []struct {
		name   string
		b      *browser
		path   string
		form   url.Values
		hdr    map[string]string
		status int
	}{
		{"no session", f.browser(), "/portal/devices/" + mine + "/remove", url.Values{web.CSRFField: {tok}}, nil, http.StatusForbidden},
		{"no CSRF token", b, "/portal/devices/" + mine + "/remove", url.Values{}, nil, http.StatusForbidden},
		{"wrong CSRF token", b, "/portal/devices/" + mine + "/remove", url.Values{web.CSRFField: {"forged"}}, nil, http.StatusForbidden},
		{"cross-site", b, "/portal/devices/" + mine + "/remove", url.Values{web.CSRFField: {tok}},
			map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"another user's device", b, "/portal/devices/" + bobTk.ID + "/remove", url.Values{web.CSRFField: {tok}}, nil, http.StatusNotFound},
		{"another user's device renamed", b, "/portal/devices/" + bobTk.ID + "/rename", url.Values{web.CSRFField: {tok}, "name": {"x"}}, nil,
			http.StatusNotFound},
		{"oversized", b, "/portal/devices/" + mine + "/rename", url.Values{web.CSRFField: {tok}, "name": {strings.Repeat("n", 8<<10)}}, nil,
			http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		resp, _ := tt.b.do("POST", tt.path, tt.form, tt.hdr)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
	b.get("/portal/devices/add/totp", http.StatusOK)
	if resp, _ := b.do("POST", "/portal/devices/add/totp", url.Values{web.CSRFField: {tok}, "name": {strings.Repeat("n", 100)},
		"code": {"123456"}}, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("long name: %d, want 400", resp.StatusCode)
	}
	if _, err := f.Store.GetToken(t.Context(), mine); err != nil {
		t.Errorf("alice's token after the attacks: %v", err)
	}
	if _, err := f.Store.GetToken(t.Context(), bobTk.ID); err != nil {
		t.Errorf("bob's token after the attacks: %v", err)
	}
	if doc := f.browser().get("/portal/devices/"+bobTk.ID+"/remove", http.StatusSeeOther); doc == nil {
		t.Error("no answer")
	}
	b.get("/portal/devices/"+bobTk.ID+"/remove", http.StatusNotFound)
	b.get("/portal/activity/nosuchtx/report", http.StatusNotFound)
	// A session id planted before login is worth nothing after it.
	planted := f.browser()
	planted.get("/portal/login", http.StatusOK)
	id := planted.session()
	planted.login("alice")
	if planted.session() == id {
		t.Error("the session id did not change at login")
	}
	stale := f.browser()
	u, _ := url.Parse("https://" + f.Host + "/")
	stale.c.Jar.SetCookies(u, []*http.Cookie{{Name: web.CookieName, Value: id, Path: "/"}})
	if resp, _ := stale.do("GET", "/portal/", nil, nil); location(resp) != "/portal/login" {
		t.Errorf("the pre-login session id still signs in: %d %s", resp.StatusCode, location(resp))
	}
}

func TestPortalDevices(t *testing.T) {
	f := newFixture(t)
	alice, tk := f.user("alice", true)
	b := f.browser()
	b.login("alice")

	// A standard authenticator app: saved only after a valid code.
	doc := b.get("/portal/devices/add", http.StatusOK)
	if doc.Find("#add-options li[data-option]").Length() != len(portalOptions()) {
		t.Errorf("add page lists %d options", doc.Find("#add-options li").Length())
	}
	doc = b.get("/portal/devices/add/totp", http.StatusOK)
	secret := strings.ReplaceAll(doc.Find("#totp-secret").Text(), " ", "")
	src, _ := doc.Find("#totp-qr").Attr("src")
	if len(secret) != 32 || !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("totp page: secret %q, QR %.30s", secret, src)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	tok := csrfOf(t, doc)
	resp, body := b.do("POST", "/portal/devices/add/totp", url.Values{web.CSRFField: {tok}, "name": {"Aegis"}, "code": {"000000"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not right") {
		t.Errorf("wrong TOTP code = %d", resp.StatusCode)
	}
	code := otp.TOTP(seed, f.now(), 30, 6)
	resp, _ = b.do("POST", "/portal/devices/add/totp", url.Values{web.CSRFField: {tok}, "name": {"Aegis"}, "code": {code}}, nil)
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/portal/" {
		t.Fatalf("right TOTP code = %d %s", resp.StatusCode, location(resp))
	}
	doc = b.get("/portal/", http.StatusOK)
	if doc.Find("#devices li.device").Length() != 2 || !strings.Contains(doc.Find("#devices").Text(), "Aegis") ||
		doc.Find(".alert-warning").Length() != 0 {
		t.Errorf("devices after adding the app: %s", doc.Find("#devices").Text())
	}
	other := f.browser()
	if doc := other.get(other.password("alice"), http.StatusOK); !strings.Contains(doc.Find(".prompt-devices").Text(), "Authenticator app Aegis") {
		t.Errorf("the prompt names the app %q", doc.Find(".prompt-devices").Text())
	}
	in, err := f.Admin.PortalIntegration(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	passcode := func(c string) string {
		res, err := f.Flow.Auth(t.Context(), authflow.AuthRequest{Integration: in, Who: authflow.Who{Username: "alice"},
			Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(c), IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Result
	}
	if got := passcode(code); got != authflow.ResultDeny {
		t.Errorf("the confirming code again = %s, want deny (replay)", got)
	}
	f.Advance(30 * time.Second)
	later := otp.TOTP(seed, f.now(), 30, 6)
	if got := passcode(later); got != authflow.ResultAllow {
		t.Errorf("a later code of the app = %s, want allow", got)
	}
	if got := passcode(later); got != authflow.ResultDeny {
		t.Errorf("the later code twice = %s, want deny", got)
	}

	// A phone, checked with a code first.
	page := "/portal/devices/add/phone"
	doc = b.get(page, http.StatusOK)
	if doc.Find("#type-mobile[checked]").Length() != 1 || doc.Find("#f-country").AttrOr("value", "") != "1" {
		t.Error("phone form defaults")
	}
	resp, _ = b.post(page, page, url.Values{"type": {"mobile"}, "country": {"1"}, "number": {"12"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad number = %d", resp.StatusCode)
	}
	resp, _ = b.post(page, page, url.Values{"type": {"mobile"}, "country": {"1"}, "number": {"555 555 0100"}, "name": {"Mobile"}})
	if location(resp) != "/portal/devices/add/phone/check" {
		t.Fatalf("send check = %d %s", resp.StatusCode, location(resp))
	}
	msgs := f.Notes.Messages()
	sent := regexp.MustCompile(`\d{6}`).FindString(string(msgs[len(msgs)-1].Body))
	if msgs[len(msgs)-1].To != "+15555550100" || sent == "" {
		t.Fatalf("check message = %+v", msgs[len(msgs)-1])
	}
	check := "/portal/devices/add/phone/check"
	if doc := b.get(check, http.StatusOK); !strings.Contains(doc.Find(".alert-info").Text(), "XXX-XXX-0100") {
		t.Errorf("check page notice = %q", doc.Find(".alert-info").Text())
	}
	wrong := "000000"
	if sent == wrong {
		wrong = "111111"
	}
	if resp, _ := b.post(check, check, url.Values{"code": {wrong}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("wrong check code = %d", resp.StatusCode)
	}
	if resp, _ := b.post(check, check, url.Values{"code": {sent}}); location(resp) != "/portal/" {
		t.Fatalf("right check code = %d %s", resp.StatusCode, location(resp))
	}
	devs, _ := f.Admin.SelfDevices(t.Context(), admin.UserActor(alice, ""))
	var phone admin.SelfDevice
	for _, d := range devs {
		if d.Kind == admin.DevicePhone {
			phone = d
		}
	}
	if phone.Phone.Number != "+15555550100" || phone.Phone.Type != mfa.PhoneMobile {
		t.Fatalf("saved phone = %+v", phone)
	}

	// Text me new codes: the page says which comes next.
	resp, _ = b.post("/portal/", "/portal/devices/"+phone.ID+"/sms", nil)
	if location(resp) != "/portal/" {
		t.Fatalf("sms = %d", resp.StatusCode)
	}
	doc = b.get("/portal/", http.StatusOK)
	if !strings.Contains(doc.Find(".alert-success").Text(), "starts with 1") ||
		!strings.Contains(doc.Find("#device-"+phone.ID+" .next-code").Text(), "starts with 1") {
		t.Errorf("after Text me new codes: %q / %q", doc.Find(".alert-success").Text(), doc.Find(".next-code").Text())
	}

	// Rename; remove with no last-device warning while there are three.
	rn := "/portal/devices/" + phone.ID + "/rename"
	if resp, _ := b.post(rn, rn, url.Values{"name": {""}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty name = %d", resp.StatusCode)
	}
	if resp, _ := b.post(rn, rn, url.Values{"name": {"Work mobile"}}); location(resp) != "/portal/" {
		t.Errorf("rename = %d", resp.StatusCode)
	}
	if doc := b.get("/portal/", http.StatusOK); !strings.Contains(doc.Find("#device-"+phone.ID+" .device-name").Text(), "Work mobile") {
		t.Error("renamed device not shown")
	}
	for _, id := range []string{phone.ID, devs[len(devs)-1].ID} {
		if d := devs[len(devs)-1]; d.ID == id && !d.UserApp {
			continue
		}
		rm := "/portal/devices/" + id + "/remove"
		if doc := b.get(rm, http.StatusOK); doc.Find("#last-device").Length() != 0 {
			t.Errorf("last-device warning with more devices")
		}
		if resp, _ := b.post(rm, rm, nil); location(resp) != "/portal/" {
			t.Errorf("remove %s = %d", id, resp.StatusCode)
		}
	}
	last := "/portal/devices/" + tk.ID + "/remove"
	if doc := b.get(last, http.StatusOK); doc.Find("#last-device").Length() != 1 {
		t.Errorf("no last-device warning before removing the last device")
	}
	log := adminLog(t, f)
	if !strings.Contains(log, "alice phone_create") || !strings.Contains(log, "alice token_create") ||
		!strings.Contains(log, "alice phone_delete") || !strings.Contains(log, `"source_ip":"127.0.0.1"`) {
		t.Errorf("admin log:\n%s", log)
	}
}

func portalOptions() []string { return []string{"app", "totp", "phone"} }

func adminLog(t *testing.T, f *fixture) string {
	entries, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range entries {
		b.WriteString(l.Actor + " " + l.Action + " " + l.ObjectType + " " + l.Object + " " + l.Description + "\n")
	}
	return b.String()
}

func TestPortalAppAndActivity(t *testing.T) {
	f := newFixture(t)
	f.user("alice", true)
	f.Store.UpdateSettings(t.Context(), func(s *mfa.Settings) error {
		s.FraudEmail, s.FraudEmailEnabled = "security@example.com", true
		return nil
	})
	b := f.browser()
	b.login("alice")
	page := "/portal/devices/add/app"
	b.get(page, http.StatusOK)
	resp, body := b.post(page, page, nil)
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(body))
	code := doc.Find("#activation-code").AttrOr("value", "")
	if resp.StatusCode != http.StatusOK || code == "" || !strings.HasPrefix(doc.Find("#activation-qr").AttrOr("src", ""), "data:image/png") ||
		doc.Find(`script[src="/static/portal.js"]`).Length() != 1 || doc.Find("#activation-status[role=status]").Length() != 1 {
		t.Fatalf("activation page = %d: %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("activation page Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	if resp, body := b.do("GET", "/portal/devices/add/app/status", nil, nil); body != `{"active":false}` {
		t.Errorf("status before = %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.browser().do("GET", "/portal/devices/add/app/status", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status without a session = %d", resp.StatusCode)
	}
	if resp, _ := b.post("/portal/", "/portal/devices/add/app/check", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("check before activation = %d", resp.StatusCode)
	}
	if _, err := f.Flow.Activate(t.Context(), code, authflow.DeviceInfo{Platform: "Android", Model: "Pixel"}); err != nil {
		t.Fatal(err)
	}
	if _, body := b.do("GET", "/portal/devices/add/app/status", nil, nil); body != `{"active":true}` {
		t.Errorf("status after = %s", body)
	}
	if resp, _ := b.post("/portal/", "/portal/devices/add/app/check", nil); location(resp) != "/portal/" {
		t.Errorf("check after activation = %d %s", resp.StatusCode, location(resp))
	}
	doc = b.get("/portal/", http.StatusOK)
	if !strings.Contains(doc.Find(".alert-success").Text(), "active") || doc.Find(".badge-active").Length() != 1 ||
		!strings.Contains(doc.Find("#devices").Text(), "Push") {
		t.Errorf("devices after activation: %s", doc.Find("main").Text())
	}

	doc = b.get("/portal/activity", http.StatusOK)
	rows := doc.Find("#activity tbody tr")
	if rows.Length() < 1 || !strings.Contains(rows.First().Text(), mfa.PortalName) {
		t.Fatalf("activity: %d rows: %s", rows.Length(), doc.Find("main").Text())
	}
	txid := rows.First().AttrOr("data-txid", "")
	rp := "/portal/activity/" + txid + "/report"
	if resp, _ := b.post(rp, rp, nil); location(resp) != "/portal/activity" {
		t.Fatalf("report = %d", resp.StatusCode)
	}
	doc = b.get("/portal/activity", http.StatusOK)
	if !strings.Contains(doc.Find(".alert-success").Text(), "fraudulent") || !strings.Contains(doc.Find("#activity").Text(), "Reported as fraud") {
		t.Errorf("activity after the report: %s", doc.Find("main").Text())
	}
	var mailed bool
	for _, m := range f.Notes.Messages() {
		mailed = mailed || (m.To == "security@example.com" && strings.HasPrefix(m.Subject, authflow.SubjectReported))
	}
	if !mailed {
		t.Error("administrators were not told of the report")
	}
}

func TestPortalEnrolment(t *testing.T) {
	f := newFixture(t)
	f.user("carol", false)
	b := f.browser()
	if to := b.password("carol"); to != "/portal/devices/add" {
		t.Fatalf("password of a user with no device led to %s", to)
	}
	// Only the enrolment pages.
	for _, p := range []string{"/portal/", "/portal/activity"} {
		if resp, _ := b.do("GET", p, nil, nil); location(resp) != "/portal/devices/add" {
			t.Errorf("GET %s while enrolling = %d %s", p, resp.StatusCode, location(resp))
		}
	}
	doc := b.get("/portal/devices/add", http.StatusOK)
	if doc.Find("nav a").Length() != 0 {
		t.Error("navigation shown while enrolling")
	}
	doc = b.get("/portal/devices/add/totp", http.StatusOK)
	seed, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(doc.Find("#totp-secret").Text(), " ", ""))
	resp, _ := b.do("POST", "/portal/devices/add/totp", url.Values{web.CSRFField: {csrfOf(t, doc)}, "name": {"FreeOTP"},
		"code": {otp.TOTP(seed, f.now(), 30, 6)}}, nil)
	if location(resp) != "/portal/enrolled" {
		t.Fatalf("first device = %d %s", resp.StatusCode, location(resp))
	}
	doc = b.get("/portal/enrolled", http.StatusOK)
	if doc.Find("#login-again").Length() != 1 {
		t.Error("enrolled page lacks the way to log in")
	}
	// The enrolment sign-in has ended: adding more needs a full login.
	if resp, _ := b.do("GET", "/portal/devices/add/totp", nil, nil); location(resp) != "/portal/login" {
		t.Errorf("after enrolment /portal/devices/add/totp = %d %s", resp.StatusCode, location(resp))
	}
	if to := b.password("carol"); !strings.HasPrefix(to, "/frame/prompt/") {
		t.Errorf("next login goes to %s, want the prompt", to)
	}
}

// TestPortalDefault: the default device and method chosen on the devices
// page are preselected by the prompt (listed first, the main button).
func TestPortalDefault(t *testing.T) {
	f := newFixture(t)
	alice, tk := f.user("alice", true)
	_, bobTk := f.user("bob", true)
	ctx := t.Context()
	pid, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
	if err := f.Store.CreatePhone(ctx, mfa.Phone{ID: pid, Number: "+15555550123", Type: mfa.PhoneMobile, Name: "Mobile",
		Platform: "unknown", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.AttachPhone(ctx, alice.ID, pid); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.login("alice")
	doc := b.get("/portal/", http.StatusOK)
	if doc.Find(`#f-default option[value="passcode `+tk.ID+`"]`).Length() != 1 ||
		doc.Find(`#f-default option[value="sms `+pid+`"]`).Length() != 1 || doc.Find(`#f-default option[selected]`).AttrOr("value", "x") != "" {
		t.Errorf("default choices: %s", doc.Find("#f-default").Text())
	}
	for give, want := range map[string]int{"push " + tk.ID: http.StatusBadRequest, "passcode " + bobTk.ID: http.StatusNotFound} {
		if resp, _ := b.post("/portal/", "/portal/default", url.Values{"default": {give}}); resp.StatusCode != want {
			t.Errorf("default %q = %d, want %d", give, resp.StatusCode, want)
		}
	}
	if resp, _ := b.post("/portal/", "/portal/default", url.Values{"default": {"passcode " + tk.ID}}); location(resp) != "/portal/" {
		t.Fatalf("set default = %d", resp.StatusCode)
	}
	if doc := b.get("/portal/", http.StatusOK); doc.Find(`#f-default option[selected]`).AttrOr("value", "") != "passcode "+tk.ID {
		t.Errorf("selected default = %q", doc.Find(`#f-default option[selected]`).AttrOr("value", ""))
	}
	if u, _ := f.Store.GetUser(ctx, alice.ID); u.DefaultDevice != tk.ID || u.DefaultMethod != "passcode" {
		t.Errorf("stored default = %q %q", u.DefaultDevice, u.DefaultMethod)
	}
	if log := adminLog(t, f); !strings.Contains(log, `alice user_update user `+alice.ID) || !strings.Contains(log, `"default_method":"passcode"`) {
		t.Errorf("admin log:\n%s", log)
	}
	// The prompt: the default device first, its method the main, focused button.
	c := f.browser()
	to := c.password("alice")
	doc = c.get(to, http.StatusOK)
	first := doc.Find(".prompt-device").First()
	if first.AttrOr("id", "") != "device-"+tk.ID || first.Find(".badge").Text() != "default" {
		t.Errorf("first device = %s", first.Text())
	}
	btn := first.Find(`button[data-method="passcode"]`)
	if btn.HasClass("secondary") || btn.AttrOr("autofocus", "none") == "none" {
		t.Errorf("default method button: class %q", btn.AttrOr("class", ""))
	}
	if doc.Find(`#device-`+pid+` button[data-method="push"]`).Length() != 0 ||
		!doc.Find(`#device-`+pid+` button[data-method="sms"]`).HasClass("secondary") {
		t.Errorf("other device's buttons")
	}
}

// TestPortalSecurityKeys: with security keys on, "Add a device" offers
// them and the devices page lists the user's keys with the other devices
// (rename and remove through /portal/keys), a cloned one flagged; with
// keys off neither appears.
func TestPortalSecurityKeys(t *testing.T) {
	v, err := fido.New(fido.Config{RPID: "localhost", Origins: fido.Origins([]string{"localhost"}, "443")})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, authflow.WithWebAuthn(v))
	alice, _ := f.user("alice", true)
	id, _ := mfa.NewID(mfa.PrefixWebAuthn, rand.Reader)
	if err := f.Store.CreateWebAuthnCredential(t.Context(), mfa.WebAuthnCredential{ID: id, UserID: alice.ID, Name: "Blue YubiKey",
		CredentialID: []byte(id), PublicKey: []byte{1}, Attachment: mfa.AttachmentCrossPlatform, Cloned: true, Created: f.now()}); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.login("alice")
	doc := b.get("/portal/", http.StatusOK)
	key := doc.Find("#key-" + id)
	if key.Find(".device-name").Text() != "Blue YubiKey" || !strings.Contains(key.Text(), "possibly copied") ||
		key.Find(`a[href="/portal/keys/`+id+`/remove"]`).Length() != 1 || key.Find(`a[href="/portal/keys/`+id+`/rename"]`).Length() != 1 {
		t.Errorf("devices page key entry = %q", key.Text())
	}
	if doc.Find(".alert-warning").Length() != 0 {
		t.Error("a user with a token and a key is told to add a second device")
	}
	if doc.Find(`nav a[href="/portal/keys"]`).Length() != 1 {
		t.Error("no Security keys link in the navigation")
	}
	if b.get("/portal/devices/add", http.StatusOK).Find(`#add-options a[href="/portal/keys/add"]`).Length() != 1 {
		t.Error("Add a device does not offer a security key")
	}
	if b.get("/portal/keys/"+id+"/remove", http.StatusOK).Find("form").Length() == 0 {
		t.Error("the keys pages are not mounted inside the portal")
	}

	// A key can be the default for logins; a cloned one cannot, nor
	// another user's.
	good, _ := mfa.NewID(mfa.PrefixWebAuthn, rand.Reader)
	if err := f.Store.CreateWebAuthnCredential(t.Context(), mfa.WebAuthnCredential{ID: good, UserID: alice.ID, Name: "Green key",
		CredentialID: []byte(good), PublicKey: []byte{1}, Attachment: mfa.AttachmentCrossPlatform, Created: f.now()}); err != nil {
		t.Fatal(err)
	}
	carol, _ := f.user("carol", true)
	other, _ := mfa.NewID(mfa.PrefixWebAuthn, rand.Reader)
	if err := f.Store.CreateWebAuthnCredential(t.Context(), mfa.WebAuthnCredential{ID: other, UserID: carol.ID, Name: "Carol's key",
		CredentialID: []byte(other), PublicKey: []byte{1}, Attachment: mfa.AttachmentCrossPlatform, Created: f.now()}); err != nil {
		t.Fatal(err)
	}
	doc = b.get("/portal/", http.StatusOK)
	if doc.Find(`#f-default option[value="webauthn `+good+`"]`).Text() != "Green key: Use a security key" ||
		doc.Find(`#f-default option[value="webauthn `+id+`"]`).Length() != 0 {
		t.Errorf("default choices: %s", doc.Find("#f-default").Text())
	}
	for _, give := range []string{"webauthn " + id, "webauthn " + other, "webauthn DWnone"} {
		if resp, _ := b.post("/portal/", "/portal/default", url.Values{"default": {give}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("default %q = %d, want 404", give, resp.StatusCode)
		}
	}
	if resp, _ := b.post("/portal/", "/portal/default", url.Values{"default": {"webauthn " + good}}); location(resp) != "/portal/" {
		t.Fatalf("set a key as the default = %d", resp.StatusCode)
	}
	if u, _ := f.Store.GetUser(t.Context(), alice.ID); u.DefaultDevice != good || u.DefaultMethod != mfa.DefaultMethodKey {
		t.Errorf("stored default = %q %q", u.DefaultDevice, u.DefaultMethod)
	}
	if sel := b.get("/portal/", http.StatusOK).Find(`#f-default option[selected]`).AttrOr("value", ""); sel != "webauthn "+good {
		t.Errorf("selected default = %q", sel)
	}

	off := newFixture(t)
	off.user("bob", true)
	ob := off.browser()
	ob.login("bob")
	if ob.get("/portal/devices/add", http.StatusOK).Find(`a[href="/portal/keys/add"]`).Length() != 0 {
		t.Error("security keys offered while they are off")
	}
}
