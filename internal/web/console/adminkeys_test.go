package console_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/descope/virtualwebauthn"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/fido"
	"github.com/twostep-auth/twostep/internal/fido/fidotest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/web"
)

type lazyVerifier struct{ mfa.WebAuthnVerifier }

// newKeyFixture is the fixture with security keys on (relying party
// localhost, the test server's origin) and the relying party the virtual
// authenticators answer for.
func newKeyFixture(t *testing.T) (*fixture, virtualwebauthn.RelyingParty) {
	t.Helper()
	lv := &lazyVerifier{}
	f := newFixture(t, func(d *server.Deps) {
		d.Flow = authflow.New(d.Store, d.Now, rand.Reader, d.Logger, authflow.WithFirstFactor(authflow.FirstFactorOptions{Hasher: cheap}),
			authflow.WithWebAuthn(lv))
	})
	_, port, _ := strings.Cut(f.Host, ":")
	v, err := fido.New(fido.Config{RPID: "localhost", Origins: fido.Origins([]string{"localhost"}, port)})
	if err != nil {
		t.Fatal(err)
	}
	lv.WebAuthnVerifier = v
	return f, virtualwebauthn.RelyingParty{Name: "twostep", ID: "localhost", Origin: "https://" + f.Host}
}

// addAdminKey registers a security key named name for the signed-in
// administrator of b and returns the finish answer.
func addAdminKey(t *testing.T, b *browser, name string, a virtualwebauthn.Authenticator, c virtualwebauthn.Credential, rp virtualwebauthn.RelyingParty) (*http.Response, string) {
	t.Helper()
	resp, body := b.post("/console/account/keys", "/console/account/keys/add", url.Values{"name": {name}})
	doc := parse(t, body)
	opts := doc.Find(`[data-webauthn="create"]`).AttrOr("data-options", "")
	if resp.StatusCode != http.StatusOK || opts == "" {
		t.Fatalf("add key = %d: %s", resp.StatusCode, doc.Find("main").Text())
	}
	o, err := virtualwebauthn.ParseAttestationOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	tok := doc.Find(`input[name="`+web.CSRFField+`"]`).AttrOr("value", "")
	return b.do("POST", "/console/account/keys/finish", url.Values{web.CSRFField: {tok},
		"credential": {virtualwebauthn.CreateAttestationResponse(rp, a, c, *o)}}, nil)
}

// passwordStep signs in with the password only: the second step is next.
func passwordStep(t *testing.T, b *browser, ad mfa.Admin) {
	t.Helper()
	resp, body := b.post("/console/login", "/console/login", url.Values{"email": {ad.Email}, "password": {adminPassword}})
	wantRedirect(t, "password", resp, body, "/console/login/code")
}

// keyStep answers the second step's security key ceremony with cred of a
// (answering for rp) and returns the answer.
func keyStep(t *testing.T, b *browser, a virtualwebauthn.Authenticator, cred virtualwebauthn.Credential, rp virtualwebauthn.RelyingParty) (*http.Response, *goquery.Document) {
	t.Helper()
	doc := b.page("/console/login/code", 200)
	opts := doc.Find(`[data-webauthn="get"]`).AttrOr("data-options", "")
	if opts == "" || doc.Find("#use-key").Length() != 1 {
		t.Fatalf("the second step offers no security key: %s", doc.Find("main").Text())
	}
	o, err := virtualwebauthn.ParseAssertionOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	tok := doc.Find(`#key-form input[name="`+web.CSRFField+`"]`).AttrOr("value", "")
	resp, body := b.do("POST", "/console/login/key", url.Values{web.CSRFField: {tok},
		"credential": {virtualwebauthn.CreateAssertionResponse(rp, a, cred, *o)}}, nil)
	return resp, parse(t, body)
}

// TestAdminKeys: an administrator registers a security key on My security
// keys (admin-logged), signs out and signs in with password and key; a
// wrong origin, another administrator's key and a counter that does not
// move forward are refused (each counted toward the lockout, the last
// marking the key possibly cloned, after which only the code is offered);
// keys are removed only by their administrator.
func TestAdminKeys(t *testing.T) {
	f, rp := newKeyFixture(t)
	ctx := t.Context()
	o := f.browser()
	o.signIn(f.Owner)
	doc := o.page("/console/account/keys", 200)
	if doc.Find(`nav a[href="/console/account/keys"]`).Length() != 1 || doc.Find(".empty").Length() != 1 {
		t.Fatalf("My security keys: %s", doc.Find("main").Text())
	}
	// A bad name: a form error, nothing begun.
	resp, body := o.post("/console/account/keys", "/console/account/keys/add", url.Values{"name": {""}})
	if resp.StatusCode != http.StatusBadRequest || parse(t, body).Find(`.error-summary a[href="#f-name"]`).Length() != 1 {
		t.Errorf("empty name = %d", resp.StatusCode)
	}
	auth := virtualwebauthn.NewAuthenticator()
	cred := fidotest.NewCredential()
	resp, body = addAdminKey(t, o, "Blue key", auth, cred, rp)
	wantRedirect(t, "finish", resp, body, "/console/account/keys?done=added")
	auth.AddCredential(cred)
	doc = o.page("/console/account/keys?done=added", 200)
	if strings.TrimSpace(doc.Find(".account-keys .device-name").Text()) != "Blue key" || doc.Find(".alert-success").Length() != 1 {
		t.Errorf("after adding: %s", doc.Find("main").Text())
	}
	keys, _ := f.Store.AdminWebAuthnCredentials(ctx, f.Owner.ID)
	if len(keys) != 1 || keys[0].Name != "Blue key" {
		t.Fatalf("stored keys: %+v", keys)
	}
	logs, _ := f.Store.ListAdminLog(ctx, mfa.LogFilter{Descending: true, Limit: 1})
	if len(logs) != 1 || logs[0].Action != "admin_webauthn_add" {
		t.Errorf("admin log: %+v", logs)
	}
	// The same ceremony cannot finish twice (the state left the session).
	if resp, _ := o.post("/console/account/keys", "/console/account/keys/finish", url.Values{"credential": {"{}"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("finish without a ceremony = %d, want 400", resp.StatusCode)
	}

	// The Help Desk registers their own key.
	h := f.browser()
	h.signIn(f.Help)
	hauth := virtualwebauthn.NewAuthenticator()
	hcred := fidotest.NewCredential()
	resp, body = addAdminKey(t, h, "Help key", hauth, hcred, rp)
	wantRedirect(t, "help finish", resp, body, "/console/account/keys?done=added")
	hauth.AddCredential(hcred)

	// Sign out, sign in with password and key.
	o.post("/console/", "/console/logout", nil)
	passwordStep(t, o, f.Owner)
	cred.Counter = 1
	resp, doc = keyStep(t, o, auth, cred, rp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("key sign-in = %d: %s", resp.StatusCode, doc.Find("main").Text())
	}
	if loc, _ := resp.Location(); loc.Path != "/console/" {
		t.Fatalf("key sign-in went to %v", loc)
	}
	o.page("/console/", 200)
	if k, _ := f.Store.AdminWebAuthnCredentials(ctx, f.Owner.ID); k[0].SignCount != 1 || k[0].LastUsed.IsZero() {
		t.Errorf("after the sign-in: %+v", k[0])
	}

	refused := func(what string, a virtualwebauthn.Authenticator, c virtualwebauthn.Credential, rp virtualwebauthn.RelyingParty, want string, failures int) {
		t.Helper()
		b := f.browser()
		passwordStep(t, b, f.Owner)
		resp, doc := keyStep(t, b, a, c, rp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#f-credential").Text(), want) {
			t.Errorf("%s = %d %q, want 400 %q", what, resp.StatusCode, doc.Find("#f-credential").Text(), want)
		}
		if ad, _ := f.Store.GetAdmin(ctx, f.Owner.ID); ad.FailedLogins != failures {
			t.Errorf("%s: %d failed sign-ins, want %d", what, ad.FailedLogins, failures)
		}
		if mustDo(b, "GET", "/console/").StatusCode != http.StatusSeeOther {
			t.Errorf("%s: signed in", what)
		}
	}
	cred.Counter = 2
	refused("wrong origin", auth, cred, virtualwebauthn.RelyingParty{Name: "twostep", ID: "localhost", Origin: "https://localhost.evil.example"},
		"does not serve security keys for", 1)
	hcred.Counter = 5
	refused("another administrator's key", hauth, hcred, rp, authflow.MsgAdminKeyUnknown, 2)
	cred.Counter = 1 // not forward of the stored 1
	refused("counter regression", auth, cred, rp, authflow.MsgAdminKeyCloned, 3)
	if k, _ := f.Store.AdminWebAuthnCredentials(ctx, f.Owner.ID); !k[0].Cloned || k[0].SignCount != 1 {
		t.Errorf("after the regression: %+v, want cloned with counter 1", k[0])
	}
	// Only the code is offered now; it still signs in.
	b := f.browser()
	passwordStep(t, b, f.Owner)
	if doc := b.page("/console/login/code", 200); doc.Find(`[data-webauthn]`).Length() != 0 {
		t.Error("a cloned key is still offered")
	}
	resp, body = b.post("/console/login/code", "/console/login/code", url.Values{"code": {f.code(f.Owner.ID)}})
	wantRedirect(t, "code", resp, body, "/console/")
	if doc := b.page("/console/account/keys", 200); !strings.Contains(doc.Find(".account-keys").Text(), "possibly cloned") {
		t.Errorf("the cloned key is not flagged: %s", doc.Find(".account-keys").Text())
	}

	// Removal: another administrator's key is 404, an unknown one too;
	// the owner removes theirs (admin-logged).
	removePath := "/console/account/keys/" + keys[0].ID + "/remove"
	if resp, _ := h.post("/console/account/keys", removePath, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removing another administrator's key = %d, want 404", resp.StatusCode)
	}
	if resp, _ := b.post("/console/account/keys", "/console/account/keys/wk_unknown/remove", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removing an unknown key = %d, want 404", resp.StatusCode)
	}
	if k, _ := f.Store.AdminWebAuthnCredentials(ctx, f.Owner.ID); len(k) != 1 {
		t.Fatal("a refused removal removed the key")
	}
	resp, body = b.post("/console/account/keys", removePath, nil)
	wantRedirect(t, "remove", resp, body, "/console/account/keys?done=removed")
	if k, _ := f.Store.AdminWebAuthnCredentials(ctx, f.Owner.ID); len(k) != 0 {
		t.Errorf("keys after removal: %+v", k)
	}
	if logs, _ := f.Store.ListAdminLog(ctx, mfa.LogFilter{Descending: true, Limit: 1}); len(logs) != 1 || logs[0].Action != "admin_webauthn_remove" {
		t.Errorf("admin log: %+v", logs)
	}
}

// TestAdminKeysAttacks: the key routes' CSRF protection and body limits;
// without security keys on this server the page is 404 and not in the
// navigation.
func TestAdminKeysAttacks(t *testing.T) {
	f, _ := newKeyFixture(t)
	b := f.browser()
	b.signIn(f.Owner)
	tok := b.csrf("/console/account/keys")
	for _, p := range []string{"/console/account/keys/add", "/console/account/keys/finish", "/console/account/keys/wk_x/remove"} {
		if resp, _ := b.do("POST", p, url.Values{"name": {"x"}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token = %d, want 403", p, resp.StatusCode)
		}
		if resp, _ := b.do("POST", p, url.Values{web.CSRFField: {"wrong"}, "name": {"x"}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token = %d, want 403", p, resp.StatusCode)
		}
		if resp, _ := b.do("POST", p, url.Values{web.CSRFField: {tok}, "x": {strings.Repeat("a", 70<<10)}}, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized POST %s = %d, want 413", p, resp.StatusCode)
		}
	}
	// The sign-in's key step: CSRF, body limit, and no pending sign-in.
	s := f.browser()
	passwordStep(t, s, f.Owner)
	if resp, _ := s.do("POST", "/console/login/key", url.Values{"credential": {"{}"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("key step without CSRF token = %d, want 403", resp.StatusCode)
	}
	stok := s.csrf("/console/login/code")
	if resp, _ := s.do("POST", "/console/login/key", url.Values{web.CSRFField: {stok}, "credential": {strings.Repeat("a", 70<<10)}}, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized key step = %d, want 413", resp.StatusCode)
	}
	// No key: the code page offers none and a forged answer is refused
	// without counting.
	if s.page("/console/login/code", 200).Find(`[data-webauthn]`).Length() != 0 {
		t.Error("the code page offers a key to an administrator without one")
	}
	stok = s.csrf("/console/login/code")
	if resp, _ := s.do("POST", "/console/login/key", url.Values{web.CSRFField: {stok}, "credential": {"{}"}}, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("key step without a ceremony = %d, want 400", resp.StatusCode)
	}
	if ad, _ := f.Store.GetAdmin(t.Context(), f.Owner.ID); ad.FailedLogins != 0 {
		t.Errorf("a key step without a ceremony counted %d failures", ad.FailedLogins)
	}

	// Keys off: 404, no link.
	off := newFixture(t)
	ob := off.browser()
	ob.signIn(off.Owner)
	if resp := mustDo(ob, "GET", "/console/account/keys"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("keys off: GET = %d, want 404", resp.StatusCode)
	}
	if ob.page("/console/", 200).Find(`nav a[href="/console/account/keys"]`).Length() != 0 {
		t.Error("keys off: the navigation links to security keys")
	}
}

// TestAdminKeysLockedOut: an administrator with a key who is locked out
// between the password and the second step gets the code form without
// the key, and the locked-out answer, as without keys.
func TestAdminKeysLockedOut(t *testing.T) {
	f, rp := newKeyFixture(t)
	o := f.browser()
	o.signIn(f.Owner)
	resp, body := addAdminKey(t, o, "Blue key", virtualwebauthn.NewAuthenticator(), fidotest.NewCredential(), rp)
	wantRedirect(t, "finish", resp, body, "/console/account/keys?done=added")
	b := f.browser()
	passwordStep(t, b, f.Owner)
	if _, err := f.Store.CountAdminFailure(t.Context(), f.Owner.ID, 1, f.now()); err != nil {
		t.Fatal(err)
	}
	if doc := b.page("/console/login/code", 200); doc.Find(`[data-webauthn]`).Length() != 0 || doc.Find("#f-code").Length() != 1 {
		t.Errorf("locked out: the second step = %s", doc.Find("main").Text())
	}
	resp, body = b.post("/console/login/code", "/console/login/code", url.Values{"code": {f.code(f.Owner.ID)}})
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "locked") {
		t.Errorf("locked out: the code = %d: %.300s", resp.StatusCode, parse(t, body).Find("main").Text())
	}
}
