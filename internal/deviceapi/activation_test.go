package deviceapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

var hotpSecretRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestActivateNewPhone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	code := f.code(u, "", time.Now().Add(time.Hour))

	e := f.activateRaw(code, activationParams(t, testKey(t, 0)))
	wantOK(t, "activate", e)
	var a activationResponse
	e.decode(t, &a)
	if !strings.HasPrefix(a.PKey, mfa.PrefixAuthenticator) || len(a.PKey) != 20 {
		t.Errorf("pkey = %q, want DA + 18", a.PKey)
	}
	if !strings.HasPrefix(a.AKey, mfa.PrefixPhone) || len(a.AKey) != 20 {
		t.Errorf("akey = %q, want DP + 18 (the phone's id)", a.AKey)
	}
	if !hotpSecretRE.MatchString(a.HOTPSecret) {
		t.Errorf("hotp_secret = %q, want 32 lower-case hex characters", a.HOTPSecret)
	}
	if a.HOTPCounter == nil || *a.HOTPCounter != 0 {
		t.Errorf("hotp_counter = %v in %s, want 0", a.HOTPCounter, e.Raw)
	}
	if a.UseTOTP == nil || *a.UseTOTP {
		t.Errorf("use_totp = %v in %s, want false", a.UseTOTP, e.Raw)
	}
	if a.Username != "alice" || a.UserID != u.ID || a.CustomerName != customer || a.APIHost != f.Host {
		t.Errorf("activation = %+v, want username alice, user_id %s, customer_name %q, api_host %q", a, u.ID, customer, f.Host)
	}

	// The store holds the install on a new phone of alice's.
	au, err := f.Store.GetAuthenticator(t.Context(), a.PKey)
	if err != nil {
		t.Fatal(err)
	}
	if au.Status != mfa.AuthenticatorActive || au.PhoneID != a.AKey || au.UserID != u.ID || au.Platform != "Android" {
		t.Errorf("stored install = %+v", au)
	}
	phones, err := f.Store.UserPhones(t.Context(), u.ID)
	if err != nil || len(phones) != 1 || phones[0].ID != a.AKey {
		t.Fatalf("UserPhones = %+v, %v, want the one new phone %s", phones, err, a.AKey)
	}
	if p := phones[0]; p.Platform != "Android" || p.Model != "Google Pixel 9" || !p.Activated {
		t.Errorf("new phone = %+v, want platform Android, model \"Google Pixel 9\", activated", p)
	}

	// The passcodes are HOTP keyed by the ASCII bytes of hotp_secret.
	key := []byte(a.HOTPSecret)
	raw, _ := hex.DecodeString(a.HOTPSecret)
	if res := f.passcode(u, hotpCode(t, raw, 0)); res.Result != authflow.ResultDeny {
		t.Errorf("passcode keyed by the hex-decoded secret = %+v, want deny (the key is the ASCII bytes)", res)
	}
	if res := f.passcode(u, hotpCode(t, key, 0)); res.Result != authflow.ResultAllow {
		t.Errorf("passcode(HOTP counter 0) = %+v, want allow", res)
	}
	if res := f.passcode(u, hotpCode(t, key, 0)); res.Result != authflow.ResultDeny || res.StatusMsg != authflow.MsgUsed {
		t.Errorf("passcode(HOTP counter 0) again = %+v, want deny, already used", res)
	}
	if res := f.passcode(u, hotpCode(t, key, 1)); res.Result != authflow.ResultAllow {
		t.Errorf("passcode(HOTP counter 1) = %+v, want allow", res)
	}
}

func TestActivateExistingPhoneRevokesOlderInstall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	p := f.phone(u)

	old := f.activate(f.code(u, p.ID, time.Now().Add(time.Hour)), 0)
	if old.AKey != p.ID || old.Act.Username != "alice" || old.Act.UserID != u.ID {
		t.Fatalf("activation on phone %s = %+v", p.ID, old.Act)
	}
	if got := f.list(old, 0); len(got) != 0 {
		t.Errorf("old install lists %+v before any push", got)
	}

	// Reactivating the same phone replaces the install at once.
	cur := f.activate(f.code(u, p.ID, time.Now().Add(time.Hour)), 1)
	if cur.AKey != p.ID || cur.PKey == old.PKey {
		t.Fatalf("reactivation = %+v, want a new pkey on phone %s", cur.Act, p.ID)
	}
	if phones, err := f.Store.UserPhones(t.Context(), u.ID); err != nil || len(phones) != 1 {
		t.Errorf("UserPhones = %d phones, %v, want the one phone (no new one)", len(phones), err)
	}

	// Only the holder of the old install's key learns that it was replaced.
	other := f.signed(old, http.MethodGet, txPath, nil, func(s *signSpec) { s.Key = cur.Key })
	wantFail(t, "replaced install's pkey signed with another key", other, 401, 40103, "")
	e := f.signed(old, http.MethodGet, txPath, nil)
	wantFail(t, "GET transactions as the replaced install", e, 401, 40110, "")
	if !strings.Contains(strings.ToLower(e.MessageDetail), "reactivate") {
		t.Errorf("message_detail = %q, want it to tell the user to reactivate", e.MessageDetail)
	}
	if e.Message != "This device is no longer activated" {
		t.Errorf("message = %q", e.Message)
	}
	if got := f.list(cur, 0); len(got) != 0 {
		t.Errorf("new install lists %+v", got)
	}

	// The old install's passcodes are refused with the same advice.
	if res := f.passcode(u, hotpCode(t, []byte(old.Act.HOTPSecret), 0)); res.Result != authflow.ResultDeny || res.StatusMsg != authflow.MsgReactivate {
		t.Errorf("passcode of the replaced install = %+v, want deny %q", res, authflow.MsgReactivate)
	}
	if res := f.passcode(u, hotpCode(t, []byte(cur.Act.HOTPSecret), 0)); res.Result != authflow.ResultAllow {
		t.Errorf("passcode of the new install = %+v, want allow", res)
	}

	// A push goes to the phone; only the new install may answer it.
	res := f.push(u)
	wantFail(t, "answer as the replaced install", f.answer(old, res.TxID, approve()), 401, 40110, "")
	wantOK(t, "answer as the new install", f.answer(cur, res.TxID, approve()))
}

func TestActivateCodeForms(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	tests := []struct {
		name string
		give func(code string) string
	}{
		{"code", func(c string) string { return c }},
		{"code-host64", func(c string) string { return c + "-" + base64.RawStdEncoding.EncodeToString([]byte(f.Host)) }},
		{"code-host64 padded", func(c string) string { return c + "-" + base64.StdEncoding.EncodeToString([]byte(f.Host)) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := f.code(u, "", time.Now().Add(time.Hour))
			e := f.activateRaw(tt.give(code), activationParams(t, testKey(t, i%2)))
			wantOK(t, "activate("+tt.give(code)+")", e)
			// Whatever the form, it is the same code: it is burnt now.
			wantFail(t, "activate(bare code) after "+tt.name, f.activateRaw(code, activationParams(t, testKey(t, 0))), 404, 40403, "")
		})
	}
	t.Run("parameters in the query string", func(t *testing.T) {
		code := f.code(u, "", time.Now().Add(time.Hour))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
			"https://"+f.Host+"/push/v2/activation/"+code+"?"+activationParams(t, testKey(t, 0)).Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantOK(t, "activate(query string)", f.send(req))
	})
	t.Run("PKCS #1 RSA PUBLIC KEY", func(t *testing.T) {
		code := f.code(u, "", time.Now().Add(time.Hour))
		k := testKey(t, 1)
		p := activationParams(t, k)
		p.Set("pubkey", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)})))
		e := f.activateRaw(code, p)
		wantOK(t, "activate(PKCS #1 key)", e)
		var a activationResponse
		e.decode(t, &a)
		d := &device{PKey: a.PKey, AKey: a.AKey, Key: k}
		if got := f.list(d, 0); len(got) != 0 {
			t.Errorf("list = %+v", got)
		}
	})
}

func TestActivateRefusedCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	used := f.code(u, "", time.Now().Add(time.Hour))
	f.activate(used, 0)
	unknown, _ := mfa.RandomString(rand.Reader, codeAlphabet, mfa.ActivationCodeLength)
	tests := []struct {
		name string
		give string
	}{
		{"used", used},
		{"expired", f.code(u, "", time.Now().Add(-time.Second))},
		{"unknown", unknown},
		{"unknown with host", unknown + "-" + base64.RawStdEncoding.EncodeToString([]byte(f.Host))},
		{"too short", "ABCDEFGHIJ"},
		{"too long", unknown + "X"},
		{"case swapped", swapCase(f.code(u, "", time.Now().Add(time.Hour)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := f.activateRaw(tt.give, activationParams(t, testKey(t, 1)))
			wantFail(t, "activate("+tt.give+")", e, 404, 40403, "")
			if e.Message != "Unknown activation code" {
				t.Errorf("message = %q, want \"Unknown activation code\"", e.Message)
			}
		})
	}
}

func TestActivateBadRequestKeepsCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	code := f.code(u, "", time.Now().Add(time.Hour))
	good := testKey(t, 0)

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A 4104-bit public key: a random odd modulus is enough to be refused.
	nb := make([]byte, 4104/8)
	if _, err := rand.Read(nb); err != nil {
		t.Fatal(err)
	}
	nb[0] |= 0x80
	nb[len(nb)-1] |= 1
	huge := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537}
	goodPEM := pkixPEM(t, &good.PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(good)
	block, _ := pem.Decode([]byte(goodPEM))
	mangled := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: block.Bytes[:len(block.Bytes)/2]}))

	tests := []struct {
		name   string
		mod    func(url.Values)
		detail string
	}{
		{"no pubkey", func(p url.Values) { p.Del("pubkey") }, "pubkey"},
		{"empty pubkey", func(p url.Values) { p.Set("pubkey", "  \n") }, "pubkey"},
		{"not PEM", func(p url.Values) { p.Set("pubkey", "hello") }, "pubkey"},
		{"base64 DER without PEM", func(p url.Values) { p.Set("pubkey", base64.StdEncoding.EncodeToString(block.Bytes)) }, "pubkey"},
		{"truncated DER", func(p url.Values) { p.Set("pubkey", mangled) }, "pubkey"},
		{"private key", func(p url.Values) {
			p.Set("pubkey", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})))
		}, "pubkey"},
		{"certificate block", func(p url.Values) {
			p.Set("pubkey", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})))
		}, "pubkey"},
		{"RSA-1024", func(p url.Values) { p.Set("pubkey", pkixPEM(t, &small.PublicKey)) }, "pubkey"},
		{"RSA-4104", func(p url.Values) { p.Set("pubkey", pkixPEM(t, huge)) }, "pubkey"},
		{"EC P-256", func(p url.Values) { p.Set("pubkey", pkixPEM(t, &ec.PublicKey)) }, "pubkey"},
		{"Ed25519", func(p url.Values) { p.Set("pubkey", pkixPEM(t, ed)) }, "pubkey"},
		{"no pkpush", func(p url.Values) { p.Del("pkpush") }, "pkpush"},
		{"pkpush rsa-sha1", func(p url.Values) { p.Set("pkpush", "rsa-sha1") }, "pkpush"},
		{"pkpush upper case", func(p url.Values) { p.Set("pkpush", "RSA-SHA512") }, "pkpush"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := activationParams(t, good)
			tt.mod(p)
			wantFail(t, "activate("+tt.name+")", f.activateRaw(code, p), 400, 40002, tt.detail)
		})
	}
	// None of them burnt the code.
	d := f.activate(code, 0)
	if d.Act.Username != "alice" {
		t.Errorf("activation after bad requests = %+v", d.Act)
	}
	if auths, err := f.Store.UserAuthenticators(t.Context(), u.ID); err != nil || len(auths) != 1 {
		t.Errorf("UserAuthenticators = %d, %v, want the one install", len(auths), err)
	}
}

func TestActivateConcurrentOneWinner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	code := f.code(u, "", time.Now().Add(time.Hour))
	body := activationParams(t, testKey(t, 0)).Encode()

	const n = 20
	reqs := make([]*http.Request, n)
	for i := range reqs {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+f.Host+"/push/v2/activation/"+code, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		reqs[i] = req
	}
	results := make([]envelope, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range reqs {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f.do(reqs[i])
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, e := range results {
		switch {
		case errs[i] != nil:
			t.Errorf("request %d: %v", i, errs[i])
		case e.Status == 200:
			won++
		case e.Status != 404 || e.Code != 40403:
			t.Errorf("request %d = %d %s, want 200 or 404/40403", i, e.Status, e.Raw)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent activations with one code succeeded, want exactly 1", won, n)
	}
	auths, err := f.Store.UserAuthenticators(t.Context(), u.ID)
	if err != nil || len(auths) != 1 {
		t.Errorf("UserAuthenticators = %d, %v, want 1", len(auths), err)
	}
	phones, err := f.Store.UserPhones(t.Context(), u.ID)
	if err != nil || len(phones) != 1 {
		t.Errorf("UserPhones = %d, %v, want 1", len(phones), err)
	}
}

// TestActivateDeviceInfoIsChecked: the text a device tells about itself
// is what administrators later read (console, CLI, logs): control
// characters, invalid UTF-8 and overlong values are refused with
// 400/40002 naming the parameter, and the code stays redeemable; values
// of up to 64 bytes (32 for app_version) are stored trimmed. Before, an
// ESC sequence in model was stored and reached `twostepd admin user show`.
func TestActivateDeviceInfoIsChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	code := f.code(u, "", time.Now().Add(time.Hour))
	tests := []struct {
		field, give, want string
	}{
		{"model", "\x1b]0;pwn\x07", "model: must not contain control characters"},
		{"manufacturer", "Goo\x9bgle", "manufacturer: not valid UTF-8"},
		{"platform", "Android\u202e", "platform: must not contain control characters"},
		{"model", "Pix\u0085el", "model: must not contain control characters"},
		{"platform", strings.Repeat("é", 33), "platform: at most 64 bytes"},
		{"app_version", strings.Repeat("1", 33), "app_version: at most 32 bytes"},
	}
	for _, tt := range tests {
		p := activationParams(t, testKey(t, 0))
		p.Set(tt.field, tt.give)
		wantFail(t, fmt.Sprintf("activate(%s=%q)", tt.field, tt.give), f.activateRaw(code, p), 400, 40002, tt.want)
	}
	p := activationParams(t, testKey(t, 0))
	p.Set("platform", strings.Repeat("é", 32)) // 64 bytes of 2-byte runes
	p.Set("model", "  Pixel\t")
	e := f.activateRaw(code, p)
	wantOK(t, "activate(64-byte platform)", e)
	var a activationResponse
	e.decode(t, &a)
	au, err := f.Store.GetAuthenticator(t.Context(), a.PKey)
	if err != nil {
		t.Fatal(err)
	}
	if au.Platform != strings.Repeat("é", 32) || !utf8.ValidString(au.Platform) || au.Model != "Google Pixel" {
		t.Errorf("stored platform, model = %q, %q, want the 64-byte platform and \"Google Pixel\"", au.Platform, au.Model)
	}
}

// swapCase swaps the case of every ASCII letter (codes are case-sensitive).
func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// TestActivateSpareCodeVoided: two codes issued for one phone; once the
// newer one is redeemed, the older one is refused as unknown and the app
// the newer one installed keeps working (before, the older code replaced
// it and the new install got 40110).
func TestActivateSpareCodeVoided(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	p := f.phone(u)
	older := f.code(u, p.ID, time.Now().Add(time.Hour))
	enrol := f.code(u, "", time.Now().Add(time.Hour))
	newer := f.code(u, p.ID, time.Now().Add(time.Hour))

	d := f.activate(newer, 0)
	for name, code := range map[string]string{"older code of the phone": older, "enrolment code of the user": enrol} {
		e := f.activateRaw(code, activationParams(t, testKey(t, 1)))
		wantFail(t, "activate with the "+name, e, 404, 40403, "")
	}
	wantOK(t, "the newer install's signed request", f.signed(d, http.MethodGet, "/push/v2/device/transactions", nil))
	if cur, err := f.Store.PhoneAuthenticator(t.Context(), p.ID); err != nil || cur.ID != d.PKey {
		t.Errorf("PhoneAuthenticator = %s, %v, want %s", cur.ID, err, d.PKey)
	}
}

// brokenStore fails every activation lookup as a database would.
type brokenStore struct{ *sqlstore.Store }

func (s brokenStore) ActivationByCode(context.Context, mfa.Passcode) (mfa.Activation, error) {
	return mfa.Activation{}, errors.New("database is on fire")
}

// TestActivationCodeNotLogged: a 500 on the activation route logs the
// route, not the path, so the code (a credential) stays out of the logs.
// Before, the error log carried /push/v2/activation/<code>.
func TestActivationCodeNotLogged(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, fixtureConfig{Wrap: func(s *sqlstore.Store) mfa.Store { return brokenStore{s} }})
	code := f.code(f.user("alice"), "", time.Now().Add(time.Hour))
	full := code + "-" + base64.RawStdEncoding.EncodeToString([]byte(f.Host))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+f.Host+"/push/v2/activation/"+full,
		strings.NewReader(activationParams(t, testKey(t, 0)).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.HC.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("activation with a broken store = %d, want 500", resp.StatusCode)
	}
	logs := f.Logs.String()
	if !strings.Contains(logs, "database is on fire") || !strings.Contains(logs, "route=\"POST /push/v2/activation/{code}\"") {
		t.Errorf("logs lack the error and its route:\n%s", logs)
	}
	if strings.Contains(logs, code) {
		t.Errorf("logs hold the activation code %s:\n%s", code, logs)
	}
}
