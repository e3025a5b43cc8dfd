package keys_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/descope/virtualwebauthn"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/fido"
	"github.com/twostep-auth/twostep/internal/fido/fidotest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web"
	"github.com/twostep-auth/twostep/internal/web/keys"
)

// TestUserCookie names the signed-in user in these tests: the test's
// signedIn reads it (the portal's session does in production).
const testUserCookie = "test-user"

type lazyVerifier struct{ mfa.WebAuthnVerifier }

type fixture struct {
	// Default is the signed-in user of a request without the test cookie
	// (the browser tests'); "" for nobody.
	Default string
	t       *testing.T
	Store   *sqlstore.Store
	Flow    *authflow.Service
	Host    string
	tr      *http.Transport
	RP      virtualwebauthn.RelyingParty
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lv := &lazyVerifier{}
	flow := authflow.New(st, time.Now, rand.Reader, log, authflow.WithWebAuthn(lv))
	f := &fixture{t: t, Store: st, Flow: flow}
	signedIn := func(r *http.Request) (string, bool) {
		c, err := r.Cookie(testUserCookie)
		if err != nil || c.Value == "" {
			return f.Default, f.Default != ""
		}
		return c.Value, true
	}
	h := server.New(server.Deps{Store: st, Logger: log, Now: time.Now, ClockSkew: 5 * time.Minute, Flow: flow,
		Hosts: []string{"localhost"}, Organization: "Example Corp",
		MountBrowser: func(site *web.Site, mux *http.ServeMux) {
			keys.New(keys.Deps{Site: site, Flow: flow, SignedIn: signedIn, Logger: log}).Register(mux)
		}})
	ts := certstest.StartTLS(t, h)
	_, port, _ := strings.Cut(ts.Host, ":")
	v, err := fido.New(fido.Config{RPID: "localhost", Origins: fido.Origins([]string{"localhost"}, port)})
	if err != nil {
		t.Fatal(err)
	}
	lv.WebAuthnVerifier = v
	tr := &http.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}
	tr.TLSClientConfig.RootCAs = ts.Pool
	f.Host, f.tr = ts.Host, tr
	f.RP = virtualwebauthn.RelyingParty{Name: "twostep", ID: "localhost", Origin: "https://" + ts.Host}
	return f
}

func (f *fixture) user(name string) mfa.User {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	u := mfa.User{ID: id, Username: name, Status: mfa.StatusActive, Created: time.Now()}
	if err := f.Store.CreateUser(f.t.Context(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

type browser struct {
	f *fixture
	c *http.Client
}

// browser is a person's browser, signed in as userID ("" for nobody).
func (f *fixture) browser(userID string) *browser {
	jar, _ := cookiejar.New(nil)
	if userID != "" {
		u, _ := url.Parse("https://" + f.Host + "/")
		jar.SetCookies(u, []*http.Cookie{{Name: testUserCookie, Value: userID, Path: "/"}})
	}
	return &browser{f: f, c: &http.Client{Timeout: 20 * time.Second, Jar: jar, Transport: f.tr.Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, hdr http.Header) (*http.Response, *goquery.Document) {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequestWithContext(b.f.t.Context(), method, "https://"+b.f.Host+path, body)
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
	doc, _ := goquery.NewDocumentFromReader(io.LimitReader(resp.Body, 1<<20))
	return resp, doc
}

func (b *browser) get(path string) (*http.Response, *goquery.Document) {
	return b.do("GET", path, nil, nil)
}

// submit posts the form with action on doc, its hidden fields and fields.
func (b *browser) submit(doc *goquery.Document, action string, fields url.Values) (*http.Response, *goquery.Document) {
	b.f.t.Helper()
	form := doc.Find(`form[action="` + action + `"]`)
	if form.Length() == 0 {
		b.f.t.Fatalf("no form with action %s: %s", action, text(doc))
	}
	v := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) { v.Set(s.AttrOr("name", ""), s.AttrOr("value", "")) })
	for k, vs := range fields {
		v[k] = vs
	}
	return b.do("POST", action, v, http.Header{"Sec-Fetch-Site": {"same-origin"}})
}

func text(doc *goquery.Document) string {
	return strings.Join(strings.Fields(doc.Find("main").Text()), " ")
}

// addKey runs "Add a security key" (kind key or platform) with a virtual
// authenticator answering through rp, and returns the answer's response.
func (b *browser) addKey(kind, name string, a *virtualwebauthn.Authenticator, c virtualwebauthn.Credential, rp virtualwebauthn.RelyingParty) (*http.Response, *goquery.Document) {
	b.f.t.Helper()
	_, doc := b.get("/portal/keys/add?kind=" + kind)
	resp, doc := b.submit(doc, "/portal/keys/add", url.Values{"name": {name}})
	opts := doc.Find(`[data-webauthn="create"]`).AttrOr("data-options", "")
	if resp.StatusCode != http.StatusOK || opts == "" {
		return resp, doc
	}
	o, err := virtualwebauthn.ParseAttestationOptions(opts)
	if err != nil {
		b.f.t.Fatal(err)
	}
	return b.submit(doc, "/portal/keys/finish", url.Values{"credential": {virtualwebauthn.CreateAttestationResponse(rp, *a, c, *o)}})
}

// TestKeysPages: list (empty), add a security key and a platform key,
// list them, rename, remove with a confirmation; the key logs in.
func TestKeysPages(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice")
	b := f.browser(u.ID)

	resp, doc := b.get("/portal/keys")
	if resp.StatusCode != http.StatusOK || doc.Find(".empty").Length() != 1 || doc.Find("#add-key").Length() != 1 ||
		doc.Find("#add-platform").Length() != 1 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /portal/keys = %d: %s", resp.StatusCode, text(doc))
	}
	a := virtualwebauthn.NewAuthenticator()
	c := fidotest.NewCredential()
	resp, _ = b.addKey("key", "Blue YubiKey", &a, c, f.RP)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Path != "/portal/keys" {
		t.Fatalf("add = %d %v, want 303 to the list", resp.StatusCode, loc)
	}
	a.AddCredential(c)
	pa := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
	pc := fidotest.NewCredential()
	if resp, doc := b.addKey("platform", "Work laptop", &pa, pc, f.RP); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add platform = %d: %s", resp.StatusCode, text(doc))
	}
	_, doc = b.get("/portal/keys")
	names := doc.Find("#keys .device-name").Map(func(_ int, s *goquery.Selection) string { return strings.TrimSpace(s.Text()) })
	kinds := doc.Find("#keys .device-meta").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if got := text(doc); !strings.Contains(got, "Added Work laptop") || len(names) != 2 || names[0] != "Blue YubiKey" || names[1] != "Work laptop" ||
		!strings.HasPrefix(kinds[0], "Security key") || !strings.HasPrefix(kinds[1], "This device's passkey / biometrics") {
		t.Errorf("list = %q %q: %s", names, kinds, got)
	}
	ks, _ := f.Flow.UserKeys(t.Context(), u.ID)
	if len(ks) != 2 || ks[1].Attachment != mfa.AttachmentPlatform || !ks[1].BackupEligible || ks[0].Name != "Blue YubiKey" {
		t.Fatalf("stored keys = %+v", ks)
	}

	// Rename: an empty name is a field error; a good one renames.
	renamePath := "/portal/keys/" + ks[0].ID + "/rename"
	_, doc = b.get(renamePath)
	resp, doc = b.submit(doc, renamePath, url.Values{"name": {"  "}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find(".field-error").Text(), "give the security key a name") {
		t.Errorf("rename to blank = %d: %s", resp.StatusCode, text(doc))
	}
	resp, _ = b.submit(doc, renamePath, url.Values{"name": {"Red YubiKey"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("rename = %d", resp.StatusCode)
	}

	// The key logs in (the engine's ceremony with the same relying party).
	cer, err := f.Flow.BeginKeyLogin(t.Context(), authflow.AuthRequest{Who: authflow.Who{UserID: u.ID}})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := virtualwebauthn.ParseAssertionOptions(string(cer.Options))
	a.Credentials[0].Counter = 1
	res, err := f.Flow.FinishKeyLogin(t.Context(), authflow.AuthRequest{Who: authflow.Who{UserID: u.ID}}, cer.State,
		[]byte(virtualwebauthn.CreateAssertionResponse(f.RP, a, a.Credentials[0], *o)))
	if err != nil || res.Result != authflow.ResultAllow {
		t.Errorf("login with the added key = %+v, %v", res, err)
	}

	// Remove, after the confirmation page.
	removePath := "/portal/keys/" + ks[0].ID + "/remove"
	_, doc = b.get(removePath)
	if !strings.Contains(doc.Find("h1").Text(), "Remove Red YubiKey?") {
		t.Errorf("confirmation = %s", text(doc))
	}
	resp, _ = b.submit(doc, removePath, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("remove = %d", resp.StatusCode)
	}
	if ks, _ := f.Flow.UserKeys(t.Context(), u.ID); len(ks) != 1 || ks[0].Name != "Work laptop" {
		t.Errorf("after remove: %+v", ks)
	}
}

// TestKeysAttacks: not signed in, another user's key, no CSRF token, a
// cross-site POST, a wrong origin, a replayed registration, an oversized
// answer and a bad kind are refused, and nothing is stored.
func TestKeysAttacks(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.user("alice"), f.user("bob")
	b := f.browser(alice.ID)
	a := virtualwebauthn.NewAuthenticator()
	c := fidotest.NewCredential()
	if resp, _ := b.addKey("key", "Blue", &a, c, f.RP); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("add failed")
	}
	ks, _ := f.Flow.UserKeys(t.Context(), alice.ID)
	key := ks[0]

	// Not signed in: sent to sign in, for every route.
	anon := f.browser("")
	for _, p := range []string{"/portal/keys", "/portal/keys/add", "/portal/keys/" + key.ID + "/remove"} {
		if resp, _ := anon.get(p); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("GET %s signed out = %d, want 303 to sign in", p, resp.StatusCode)
		}
	}
	// Bob cannot see, rename or remove alice's key.
	eve := f.browser(bob.ID)
	for _, p := range []string{"/portal/keys/" + key.ID + "/rename", "/portal/keys/" + key.ID + "/remove"} {
		if resp, _ := eve.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("bob GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	_, doc := eve.get("/portal/keys")
	v := url.Values{}
	doc.Find(`input[name=csrf_token]`).Each(func(_ int, s *goquery.Selection) { v.Set("csrf_token", s.AttrOr("value", "")) })
	if v.Get("csrf_token") == "" {
		_, d := eve.get("/portal/keys/add")
		v.Set("csrf_token", d.Find(`input[type=hidden]`).First().AttrOr("value", ""))
		v.Set(d.Find(`input[type=hidden]`).First().AttrOr("name", ""), d.Find(`input[type=hidden]`).First().AttrOr("value", ""))
	}
	if resp, _ := eve.do("POST", "/portal/keys/"+key.ID+"/remove", v, http.Header{"Sec-Fetch-Site": {"same-origin"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob POST remove alice's key = %d, want 404", resp.StatusCode)
	}
	// No CSRF token; a cross-site POST.
	if resp, _ := b.do("POST", "/portal/keys/"+key.ID+"/remove", url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST remove without CSRF token = %d, want 403", resp.StatusCode)
	}
	_, doc = b.get("/portal/keys/" + key.ID + "/remove")
	form := url.Values{}
	doc.Find(`form input[type=hidden]`).Each(func(_ int, s *goquery.Selection) { form.Set(s.AttrOr("name", ""), s.AttrOr("value", "")) })
	if resp, _ := b.do("POST", "/portal/keys/"+key.ID+"/remove", form, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST remove = %d, want 403", resp.StatusCode)
	}
	// A wrong origin: refused, saying where to go.
	a2 := virtualwebauthn.NewAuthenticator()
	resp, doc := b.addKey("key", "Phished", &a2, fidotest.NewCredential(),
		virtualwebauthn.RelyingParty{ID: "localhost", Origin: "https://localhost.evil.example"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc), "Open it at https://localhost") {
		t.Errorf("wrong origin = %d: %s", resp.StatusCode, text(doc))
	}
	// A replayed registration: the ceremony is gone from the session.
	_, doc = b.get("/portal/keys/add?kind=key")
	_, doc = b.submit(doc, "/portal/keys/add", url.Values{"name": {"Twice"}})
	o, _ := virtualwebauthn.ParseAttestationOptions(doc.Find(`[data-webauthn="create"]`).AttrOr("data-options", ""))
	c3 := fidotest.NewCredential()
	answer := virtualwebauthn.CreateAttestationResponse(f.RP, a2, c3, *o)
	if resp, _ := b.submit(doc, "/portal/keys/finish", url.Values{"credential": {answer}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first finish = %d", resp.StatusCode)
	}
	if resp, _ := b.submit(doc, "/portal/keys/finish", url.Values{"credential": {answer}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed finish = %d, want 400", resp.StatusCode)
	}
	// Oversized answer; a bad kind.
	_, doc = b.get("/portal/keys/add?kind=key")
	_, doc = b.submit(doc, "/portal/keys/add", url.Values{"name": {"Big"}})
	if resp, _ := b.submit(doc, "/portal/keys/finish", url.Values{"credential": {strings.Repeat("x", 70<<10)}}); resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("oversized answer = %d, want 413 or 400", resp.StatusCode)
	}
	if resp, _ := b.get("/portal/keys/add?kind=floppy"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET add?kind=floppy = %d, want 404", resp.StatusCode)
	}
	ks, _ = f.Flow.UserKeys(t.Context(), alice.ID)
	if len(ks) != 2 {
		t.Errorf("alice has %d keys, want 2 (Blue, Twice)", len(ks))
	}
	if ks, _ := f.Flow.UserKeys(t.Context(), bob.ID); len(ks) != 0 {
		t.Errorf("bob has %d keys", len(ks))
	}
}
