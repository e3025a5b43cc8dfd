package prompt_test

import (
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
)

// lazyVerifier lets the fixture's engine use a verifier made once the
// server's port (part of the origin) is known.
type lazyVerifier struct{ mfa.WebAuthnVerifier }

func newKeyFixture(t *testing.T) (*fixture, virtualwebauthn.RelyingParty) {
	t.Helper()
	lv := &lazyVerifier{}
	f := newFixture(t, nil, authflow.WithWebAuthn(lv))
	_, port, _ := strings.Cut(f.Host, ":")
	v, err := fido.New(fido.Config{RPID: "localhost", Origins: fido.Origins([]string{"localhost"}, port)})
	if err != nil {
		t.Fatal(err)
	}
	lv.WebAuthnVerifier = v
	return f, virtualwebauthn.RelyingParty{Name: "twostep", ID: "localhost", Origin: "https://" + f.Host}
}

// registerKey registers a virtual key for u through the engine.
func registerKey(t *testing.T, f *fixture, u mfa.User, rp virtualwebauthn.RelyingParty) (*virtualwebauthn.Authenticator, *virtualwebauthn.Credential) {
	t.Helper()
	a := virtualwebauthn.NewAuthenticator()
	c := fidotest.NewCredential()
	cer, err := f.Flow.BeginKeyRegistration(t.Context(), u.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(string(cer.Options))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Flow.FinishKeyRegistration(t.Context(), u.ID, cer.State, "Blue key",
		[]byte(virtualwebauthn.CreateAttestationResponse(rp, a, c, *opts))); err != nil {
		t.Fatal(err)
	}
	a.AddCredential(c)
	return &a, &a.Credentials[0]
}

// TestSecurityKeyLogin: a user whose only device is a security key sees
// "Use a security key" first and focused; the key page carries the
// request options and the script; an answer for another origin is refused
// with a message naming the address to use; a good answer completes the
// Universal Prompt login (factor webauthn_credential); the ceremony's
// answer cannot be sent again.
func TestSecurityKeyLogin(t *testing.T) {
	f, rp := newKeyFixture(t)
	u := f.user("alice", mfa.StatusActive)
	auth, cred := registerKey(t, f, u, rp)
	b := f.browser().start("alice")

	resp, doc := b.get(b.prompt)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET prompt = %d: %s", resp.StatusCode, text(doc))
	}
	btn := doc.Find(`form.methods > .prompt-key:first-of-type button[data-method="webauthn"][autofocus]`)
	if btn.Length() != 1 || !strings.Contains(btn.Text(), "Use a security key") {
		t.Fatalf("no focused \"Use a security key\" first: %s", text(doc))
	}
	resp, _ = b.submit(doc, b.prompt, url.Values{"choice": {"webauthn"}})
	keyPage := b.prompt + "/key"
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Path != keyPage {
		t.Fatalf("choice webauthn = %d %v, want 303 to %s", resp.StatusCode, loc, keyPage)
	}
	page := func() (string, *http.Response) {
		resp, doc := b.get(keyPage)
		opts := doc.Find(`[data-webauthn="get"]`).AttrOr("data-options", "")
		if resp.StatusCode != http.StatusOK || opts == "" || doc.Find(`script[src="/static/webauthn.js"]`).Length() != 1 ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("key page = %d, options %q: %s", resp.StatusCode, opts, text(doc))
		}
		return opts, resp
	}
	post := func(credential string) (*http.Response, string) {
		_, doc := b.get(keyPage)
		opts := doc.Find(`[data-webauthn="get"]`).AttrOr("data-options", "")
		if credential == "" {
			o, err := virtualwebauthn.ParseAssertionOptions(opts)
			if err != nil {
				t.Fatal(err)
			}
			credential = virtualwebauthn.CreateAssertionResponse(rp, *auth, *cred, *o)
		}
		resp, doc := b.submit(doc, keyPage, url.Values{"credential": {credential}})
		return resp, text(doc)
	}
	page()

	// Another origin (a phishing copy of the page).
	_, doc = b.get(keyPage)
	o, _ := virtualwebauthn.ParseAssertionOptions(doc.Find(`[data-webauthn="get"]`).AttrOr("data-options", ""))
	cred.Counter++
	evil := virtualwebauthn.CreateAssertionResponse(virtualwebauthn.RelyingParty{ID: "localhost", Origin: "https://localhost.evil.example"}, *auth, *cred, *o)
	resp, doc = b.submit(doc, keyPage, url.Values{"credential": {evil}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(text(doc), "Open it at https://localhost") {
		t.Errorf("wrong origin = %d: %s; want the key page naming https://localhost", resp.StatusCode, text(doc))
	}
	// Nothing sent.
	if resp, msg := post("{}"); resp.StatusCode != http.StatusOK || !strings.Contains(msg, "could not be verified") {
		t.Errorf("garbage answer = %d: %s", resp.StatusCode, msg)
	}

	cred.Counter++
	_, doc = b.get(keyPage)
	o, _ = virtualwebauthn.ParseAssertionOptions(doc.Find(`[data-webauthn="get"]`).AttrOr("data-options", ""))
	good := virtualwebauthn.CreateAssertionResponse(rp, *auth, *cred, *o)
	form := doc
	resp, _ = b.submit(doc, keyPage, url.Values{"credential": {good}})
	tok := b.finish(resp, "alice")
	if tok.AuthResult.Result != "allow" || tok.AuthContext.Factor != authflow.LogFactorWebAuthn {
		t.Errorf("token = %+v / %+v, want allow by %s", tok.AuthResult, tok.AuthContext, authflow.LogFactorWebAuthn)
	}
	// The same answer again: refused (the login is over, the ceremony
	// spent); the log below shows one success.
	resp, _ = b.submit(form, keyPage, url.Values{"credential": {good}})
	if resp.StatusCode == http.StatusOK {
		t.Errorf("replayed answer = %d, want refused", resp.StatusCode)
	}
	logs := f.logs(u.ID)
	allows := 0
	for _, l := range logs {
		if l.Result == mfa.ResultSuccess {
			allows++
		}
	}
	if allows != 1 || logs[len(logs)-1].Factor != authflow.LogFactorWebAuthn {
		t.Errorf("auth log: %d successes (want 1), last %+v", allows, logs[len(logs)-1])
	}
}

// TestSecurityKeyMethodOffered: a user with a token and an unused key
// sees the token first and the key after it; a user without keys sees
// no key button; a POST without a ceremony under way is refused.
func TestSecurityKeyMethodOffered(t *testing.T) {
	f, rp := newKeyFixture(t)
	u := f.user("alice", mfa.StatusActive)
	f.token(u)
	registerKey(t, f, u, rp)
	b := f.browser().start("alice")
	_, doc := b.get(b.prompt)
	if doc.Find(`form.methods > .prompt-key:last-of-type button[data-method="webauthn"]:not([autofocus])`).Length() != 1 ||
		doc.Find(`.prompt-devices`).Length() != 1 {
		t.Errorf("with a token and an unused key: want the devices, then the key button unfocused: %s", text(doc))
	}
	bob := f.user("bob", mfa.StatusActive)
	f.token(bob)
	b2 := f.browser().start("bob")
	_, doc = b2.get(b2.prompt)
	if doc.Find(`button[data-method="webauthn"]`).Length() != 0 {
		t.Errorf("bob has no key but is offered one")
	}
	// bob forces the key page: no key, back to the choice with a message.
	resp, _ := b2.get(b2.prompt + "/key")
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Path != b2.prompt {
		t.Errorf("key page without keys = %d %v, want 303 to the prompt", resp.StatusCode, loc)
	}
	// A POST with no ceremony under way (the CSRF token from the choice).
	_, doc = b.get(b.prompt)
	v := url.Values{"credential": {"{}"}}
	doc.Find(`form.methods input[type=hidden]`).Each(func(_ int, s *goquery.Selection) { v.Set(s.AttrOr("name", ""), s.AttrOr("value", "")) })
	resp, doc = b.do("POST", b.prompt+"/key", v, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc), "did not arrive") {
		t.Errorf("POST key without a ceremony = %d: %s", resp.StatusCode, text(doc))
	}
}

// TestSecurityKeyChosenDefault: a key the user chose as their default at
// the portal goes first and is focused, though never used; a phone or
// token chosen instead keeps the key after the devices.
func TestSecurityKeyChosenDefault(t *testing.T) {
	f, rp := newKeyFixture(t)
	u := f.user("alice", mfa.StatusActive)
	tk := f.token(u)
	registerKey(t, f, u, rp)
	keys, err := f.Flow.UserKeys(t.Context(), u.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("UserKeys = %v, %v", keys, err)
	}
	setDefault := func(device, method string) {
		t.Helper()
		if err := f.Store.SetUserDefaults(t.Context(), u.ID, device, method); err != nil {
			t.Fatal(err)
		}
	}
	setDefault(keys[0].ID, mfa.DefaultMethodKey)
	b := f.browser().start("alice")
	_, doc := b.get(b.prompt)
	if doc.Find(`form.methods > .prompt-key:first-of-type button[data-method="webauthn"][autofocus]`).Length() != 1 {
		t.Errorf("key chosen as the default: want it first and focused: %s", text(doc))
	}
	// The key has been used to log in, which alone would make it the
	// default; a token chosen at the portal wins.
	if _, err := f.Store.ApplyAuth(t.Context(), mfa.AuthWrite{UserID: u.ID, Success: true, At: f.now(),
		Guard: mfa.Guard{Kind: mfa.GuardWebAuthnCounter, ID: keys[0].ID, Counter: 7}}); err != nil {
		t.Fatal(err)
	}
	setDefault(tk.ID, string(mfa.FactorPasscode))
	b = f.browser().start("alice")
	_, doc = b.get(b.prompt)
	if doc.Find(`form.methods > .prompt-key:last-of-type button[data-method="webauthn"]:not([autofocus])`).Length() != 1 {
		t.Errorf("token chosen as the default: want the key last, unfocused: %s", text(doc))
	}
	// A default whose device is gone: the used key is the default again.
	setDefault("DPGONE00000000000000", string(mfa.FactorPush))
	b = f.browser().start("alice")
	_, doc = b.get(b.prompt)
	if doc.Find(`form.methods > .prompt-key:first-of-type button[data-method="webauthn"][autofocus]`).Length() != 1 {
		t.Errorf("stale default and a used key: want the key first and focused: %s", text(doc))
	}
}
