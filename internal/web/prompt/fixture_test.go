package prompt_test

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
	duouniversal "github.com/duosecurity/duo_universal_golang/duouniversal"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

const redirectURI = "https://app.example.com/duo-callback"

// seed is RFC 4226's test secret: its HOTP codes are published vectors
// (755224, 287082, 359152, 969429, 338314, 254676, ...), not computed by
// our otp package.
var seed = []byte("12345678901234567890")

var rfcCodes = []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}

// fixture is the whole twostepd handler over real TLS on SQLite, with a
// clock the test moves, and a websdk integration "Intranet".
type fixture struct {
	t      *testing.T
	Store  *sqlstore.Store
	Flow   *authflow.Service
	Host   string
	Pool   *http.Transport
	In     mfa.Integration
	Outbox *outbox.Outbox

	mu     sync.Mutex
	offset time.Duration
}

func newFixture(t *testing.T, mod func(*mfa.Integration), opts ...authflow.Option) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	f := &fixture{t: t, Store: st}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ob, err := outbox.New(filepath.Join(t.TempDir(), "outbox"), f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.Outbox = ob
	f.Flow = authflow.New(st, f.now, rand.Reader, log, append([]authflow.Option{authflow.WithNotifier(ob), authflow.WithRecheck(50 * time.Millisecond)}, opts...)...)
	h := server.New(server.Deps{Store: st, Logger: log, Now: f.now, ClockSkew: 5 * time.Minute, Flow: f.Flow,
		Hosts: []string{"localhost"}, Organization: "Example Corp", Web: server.WebOptions{HelpContact: "the service desk, extension 4357"}})
	ts := certstest.StartTLS(t, h)
	f.Host = ts.Host
	f.Pool = &http.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}
	f.Pool.TLSClientConfig.RootCAs = ts.Pool
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 40)
	f.In = mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "Intranet", Type: mfa.IntegrationWebSDK,
		EnrollPolicy: mfa.EnrollPolicyEnroll, RedirectURIs: []string{redirectURI}, Created: time.Now()}
	if mod != nil {
		mod(&f.In)
	}
	if err := st.CreateIntegration(t.Context(), f.In); err != nil {
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

func (f *fixture) id(prefix string) string {
	id, err := mfa.NewID(prefix, rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// user stores a user with the given status.
func (f *fixture) user(name string, status mfa.UserStatus) mfa.User {
	f.t.Helper()
	u := mfa.User{ID: f.id(mfa.PrefixUser), Username: name, Status: status, Created: f.now()}
	if err := f.Store.CreateUser(f.t.Context(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// token gives u an h6 hardware token with RFC 4226's secret.
func (f *fixture) token(u mfa.User) mfa.Token {
	f.t.Helper()
	tk := mfa.Token{ID: f.id(mfa.PrefixToken), Type: mfa.TokenH6, Serial: "RFC4226-" + u.Username, Secret: mfa.Secret(seed), Created: f.now()}
	if err := f.Store.CreateToken(f.t.Context(), tk); err != nil {
		f.t.Fatal(err)
	}
	if err := f.Store.AttachToken(f.t.Context(), u.ID, tk.ID); err != nil {
		f.t.Fatal(err)
	}
	return tk
}

// app gives u a mobile phone with an activated twostep app (push, call,
// SMS and app passcodes).
func (f *fixture) app(u mfa.User) (mfa.Phone, mfa.Authenticator) {
	f.t.Helper()
	p := mfa.Phone{ID: f.id(mfa.PrefixPhone), Number: "+15555550100", Name: "Work phone", Type: mfa.PhoneMobile,
		Platform: "google android", Created: f.now()}
	if err := f.Store.CreatePhone(f.t.Context(), p); err != nil {
		f.t.Fatal(err)
	}
	if err := f.Store.AttachPhone(f.t.Context(), u.ID, p.ID); err != nil {
		f.t.Fatal(err)
	}
	a := mfa.Authenticator{ID: f.id(mfa.PrefixAuthenticator), PhoneID: p.ID, UserID: u.ID, Status: mfa.AuthenticatorActive,
		PublicKey: mfa.Secret("pem"), HOTPSecret: mfa.Secret(seed), Created: f.now()}
	if err := f.Store.ActivateAuthenticator(f.t.Context(), a); err != nil {
		f.t.Fatal(err)
	}
	return p, a
}

// logs is the authentication log of the user named username.
func (f *fixture) logs(userID string) []mfa.AuthLogEntry {
	f.t.Helper()
	l, _, err := f.Store.ListAuthLog(f.t.Context(), mfa.AuthLogFilter{UserIDs: []string{userID}})
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

func (f *fixture) sdk() *duouniversal.Client {
	f.t.Helper()
	c, err := duouniversal.NewClient(f.In.IKey, string(f.In.SKey.Reveal()), f.Host, redirectURI)
	if err != nil {
		f.t.Fatal(err)
	}
	duouniversal.WithHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: f.Pool.Clone()})(c)
	return c
}

// browser is a person's browser: a cookie jar, no redirects followed.
type browser struct {
	f      *fixture
	c      *http.Client
	prompt string // the prompt page's path
	state  string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Timeout: 40 * time.Second, Jar: jar, Transport: f.Pool.Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// start runs the application's side (Duo's SDK builds the auth URL) and the
// browser's GET of it, which must redirect to the prompt.
func (b *browser) start(username string) *browser {
	b.f.t.Helper()
	c := b.f.sdk()
	state, _ := c.GenerateState()
	u, err := c.CreateAuthURL(username, state)
	if err != nil {
		b.f.t.Fatal(err)
	}
	resp, _ := b.do("GET", u, nil, nil)
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.Path, "/frame/prompt/") {
		b.f.t.Fatalf("GET auth URL = %d %v, want 303 to the prompt", resp.StatusCode, loc)
	}
	b.prompt, b.state = loc.Path, state
	return b
}

func (b *browser) id() string { return strings.TrimPrefix(b.prompt, "/frame/prompt/") }

func (b *browser) url(path string) string {
	if strings.HasPrefix(path, "https://") {
		return path
	}
	return "https://" + b.f.Host + path
}

// do sends a request and returns the response and its parsed page.
func (b *browser) do(method, path string, form url.Values, hdr http.Header) (*http.Response, *goquery.Document) {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.f.t.Context(), method, b.url(path), body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		b.f.t.Fatal(err)
	}
	return resp, doc
}

func (b *browser) get(path string) (*http.Response, *goquery.Document) {
	return b.do("GET", path, nil, nil)
}

// submit posts the form with action path found on page doc, with its CSRF
// token and the extra fields.
func (b *browser) submit(doc *goquery.Document, action string, fields url.Values) (*http.Response, *goquery.Document) {
	b.f.t.Helper()
	form := doc.Find(`form[action="` + action + `"]`)
	if form.Length() == 0 {
		b.f.t.Fatalf("no form with action %s on the page:\n%s", action, text(doc))
	}
	v := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		v.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	for k, vs := range fields {
		v[k] = vs
	}
	return b.do("POST", action, v, http.Header{"Sec-Fetch-Site": {"same-origin"}})
}

// follow GETs the redirect of resp (which must be a 303).
func (b *browser) follow(resp *http.Response) (*http.Response, *goquery.Document) {
	b.f.t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("status = %d, want 303", resp.StatusCode)
	}
	loc, _ := resp.Location()
	return b.get(loc.String())
}

// finish follows the prompt's redirect to the return path and on to the
// application, and exchanges the code with Duo's SDK.
func (b *browser) finish(resp *http.Response, username string) *duouniversal.TokenResponse {
	b.f.t.Helper()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/oauth/v1/authorize/return" {
		b.f.t.Fatalf("answer = %d %v, want 303 to the return path", resp.StatusCode, loc)
	}
	resp, _ = b.get(loc.String())
	app, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || app == nil || !strings.HasPrefix(app.String(), redirectURI) {
		b.f.t.Fatalf("return = %d %v, want 303 to the application", resp.StatusCode, app)
	}
	if app.Query().Get("state") != b.state {
		b.f.t.Fatalf("state = %q, want %q", app.Query().Get("state"), b.state)
	}
	if e := app.Query().Get("error"); e != "" {
		return nil
	}
	tok, err := b.f.sdk().ExchangeAuthorizationCodeFor2faResult(app.Query().Get("duo_code"), username)
	if err != nil {
		b.f.t.Fatalf("exchange: %v", err)
	}
	return tok
}

func text(doc *goquery.Document) string {
	return strings.Join(strings.Fields(doc.Find("main").Text()), " ")
}
