package authapi_test

import (
	"crypto/rand"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twostep-auth/twostep/internal/authapi"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// RFC 4226 appendix D: HOTP codes of the secret "12345678901234567890".
var rfc4226 = []string{"755224", "287082", "359152", "969429"}

// unixKey adds a duo_unix integration (v1 signatures allowed, as the admin
// service creates it).
func (f *fixture) unixKey(name string) mfa.Integration {
	f.t.Helper()
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	in := mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: name, Type: mfa.IntegrationUnix,
		EnrollPolicy: mfa.EnrollPolicyEnroll, AllowV1Signatures: true, Created: time.Now()}
	if err := f.Store.CreateIntegration(f.t.Context(), in); err != nil {
		f.t.Fatal(err)
	}
	return in
}

// legacyReply is a decoded /rest/v1 answer.
type legacyReply struct {
	Status      int
	ContentType string
	Raw         bson.Raw
	Response    bson.Raw // the response document when stat is OK
}

func (r legacyReply) str(t *testing.T, key string) string {
	t.Helper()
	v, err := r.Response.LookupErr(key)
	if err != nil {
		t.Fatalf("response.%s missing in %v", key, r.Response)
	}
	if v.Type != bson.TypeString {
		t.Fatalf("response.%s type = %v, want string", key, v.Type)
	}
	return v.StringValue()
}

// failCode checks a FAIL envelope and returns its int32 code.
func (r legacyReply) failCode(t *testing.T) int32 {
	t.Helper()
	if v := r.Raw.Lookup("stat"); v.StringValue() != "FAIL" {
		t.Fatalf("stat = %v, want FAIL (%v)", v, r.Raw)
	}
	v := r.Raw.Lookup("code")
	if v.Type != bson.TypeInt32 {
		t.Fatalf("code type = %v, want int32", v.Type)
	}
	if m := r.Raw.Lookup("message"); m.Type != bson.TypeString {
		t.Fatalf("message type = %v, want string", m.Type)
	}
	return v.Int32()
}

// legacy calls a /rest/v1 .bson route signed the way duo_unix 1.11.3 signs:
// v1, HMAC-SHA1, no date, host without the port, parameters in the body
// for POST and in the query for GET.
func (f *fixture) legacy(in mfa.Integration, method, path string, params url.Values) legacyReply {
	f.t.Helper()
	enc := params.Encode()
	u := "https://" + f.Host + path
	var body []byte
	if method == http.MethodGet {
		u += "?" + enc
	} else {
		body = []byte(enc)
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Host = "localhost"
	if err := duoproto.SignRequest(req, in.IKey, string(in.SKey.Reveal()), 1, body, duoproto.WithSHA1()); err != nil {
		f.t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := legacyReply{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Raw: raw}
	if strings.HasSuffix(path, ".bson") {
		if err := out.Raw.Validate(); err != nil {
			f.t.Fatalf("%s %s: invalid BSON %q: %v", method, path, raw, err)
		}
		if v, err := out.Raw.LookupErr("response"); err == nil {
			if v.Type != bson.TypeEmbeddedDocument {
				f.t.Fatalf("response type = %v, want document", v.Type)
			}
			out.Response = v.Document()
		}
	}
	return out
}

func TestLegacyPreauth(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)
	f.user("dave", mfa.StatusDisabled)

	r := f.legacy(key, "POST", "/rest/v1/preauth.bson", url.Values{"user": {"alice"}, "ipaddr": {"192.0.2.7"}})
	if r.Status != 200 || r.ContentType != "application/bson" {
		t.Fatalf("preauth = %d %s", r.Status, r.ContentType)
	}
	if got := r.str(t, "result"); got != "auth" {
		t.Errorf("result = %q, want auth", got)
	}
	// The menu is prompt.go's, shared with /auth/v2/preauth text_prompt
	// (its own tests pin the whole text).
	prompt := r.str(t, "prompt")
	for _, want := range []string{"login for alice\n", "Enter a passcode", " 1. Push to Alice's phone (XXX-XXX-0100)\n",
		" 2. Phone call to Alice's phone (XXX-XXX-0100)\n", " 3. SMS passcodes to Alice's phone (XXX-XXX-0100)\n",
		"Passcode or option (1-3): "} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt %q lacks %q", prompt, want)
		}
	}
	if strings.Contains(prompt, "next code") {
		t.Errorf("prompt %q tells the next SMS code, but no batch was sent", prompt)
	}
	factors := r.Response.Lookup("factors")
	if factors.Type != bson.TypeEmbeddedDocument {
		t.Fatalf("factors = %v, want a document", factors)
	}
	for k, want := range map[string]string{"default": "push1", "1": "push1", "2": "phone1", "3": "sms1"} {
		if v := factors.Document().Lookup(k); v.Type != bson.TypeString || v.StringValue() != want {
			t.Errorf("factors.%s = %v, want %q", k, v, want)
		}
	}

	tests := []struct{ user, result, status string }{
		{"nobody", "enroll", "Enroll an authentication device to proceed"},
		{"dave", "deny", "Your account is disabled."},
	}
	for _, tt := range tests {
		r := f.legacy(key, "POST", "/rest/v1/preauth.bson", url.Values{"user": {tt.user}})
		if got, st := r.str(t, "result"), r.str(t, "status"); got != tt.result || st != tt.status {
			t.Errorf("preauth(%s) = %s %q, want %s %q", tt.user, got, st, tt.result, tt.status)
		}
	}

	r = f.legacy(key, "POST", "/rest/v1/preauth.bson", url.Values{"ipaddr": {"192.0.2.7"}})
	if r.Status != 400 || r.failCode(t) != 40002 || r.Raw.Lookup("message_detail").StringValue() != "user" {
		t.Errorf("preauth without user = %d %v, want 400/40002 user", r.Status, r.Raw)
	}
}

func TestLegacyPreauthJSON(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)
	r := f.legacy(key, "POST", "/rest/v1/preauth.json", url.Values{"user": {"alice"}})
	if r.Status != 200 || r.ContentType != "application/json" ||
		!strings.Contains(string(r.Raw), `"result":"auth"`) || !strings.Contains(string(r.Raw), `"factors":{"1":"push1","2":"phone1","3":"sms1","default":"push1"}`) {
		t.Errorf("preauth.json = %d %s %s", r.Status, r.ContentType, r.Raw)
	}
}

func TestLegacyAuthSync(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)
	tests := []struct {
		name           string
		params         url.Values
		result, status string
	}{
		{"correct code", url.Values{"factor": {"auto"}, "auto": {rfc4226[0]}}, "allow", msgSuccess},
		{"same code", url.Values{"factor": {"auto"}, "auto": {rfc4226[0]}}, "deny", msgUsed},
		{"wrong code", url.Values{"factor": {"auto"}, "auto": {"000000"}}, "deny", msgIncorrect},
		{"default factor", url.Values{"factor": {"auto"}, "auto": {"passcode"}}, "deny", authapi.MsgLegacyFactorUnavailable},
		{"empty line", url.Values{"factor": {"auto"}, "auto": {"\n"}}, "deny", "No passcode entered. Please enter a passcode."},
		{"factor passcode", url.Values{"factor": {"passcode"}, "passcode": {rfc4226[1]}}, "allow", msgSuccess},
	}
	for _, tt := range tests {
		p := tt.params
		p.Set("user", "alice")
		p.Set("async", "0")
		p.Set("ipaddr", "192.0.2.7")
		p.Set("pushinfo", "Server+IP%3D10.0.0.1%26Command%3D")
		r := f.legacy(key, "POST", "/rest/v1/auth.bson", p)
		if r.Status != 200 {
			t.Fatalf("%s: auth = %d %v", tt.name, r.Status, r.Raw)
		}
		if got, st := r.str(t, "result"), r.str(t, "status"); got != tt.result || st != tt.status {
			t.Errorf("%s: auth = %s %q, want %s %q", tt.name, got, st, tt.result, tt.status)
		}
	}
	logs, _, err := f.Store.ListAuthLog(t.Context(), mfa.AuthLogFilter{})
	if err != nil || len(logs) != 4 { // one per passcode decision
		t.Errorf("auth log = %d records, %v; want 4", len(logs), err)
	}
}

func TestLegacyAuthAsync(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	other := f.unixKey("other")
	f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)

	auth := func(code string) string {
		t.Helper()
		r := f.legacy(key, "POST", "/rest/v1/auth.bson", url.Values{"user": {"alice"}, "factor": {"auto"},
			"auto": {code}, "async": {"1"}})
		if r.Status != 200 {
			t.Fatalf("auth = %d %v", r.Status, r.Raw)
		}
		if r.Response.Lookup("result").Type != 0 {
			t.Errorf("async auth has a result: %v", r.Response)
		}
		return r.str(t, "txid")
	}
	for _, tt := range []struct{ code, result, status string }{
		{"000000", "deny", msgIncorrect},
		{rfc4226[0], "allow", msgSuccess},
	} {
		txid := auth(tt.code)
		r := f.legacy(key, "GET", "/rest/v1/status.bson", url.Values{"txid": {txid}})
		if r.Status != 200 {
			t.Fatalf("status = %d %v", r.Status, r.Raw)
		}
		if got, st := r.str(t, "result"), r.str(t, "status"); got != tt.result || st != tt.status {
			t.Errorf("status(%s) = %s %q, want %s %q", tt.code, got, st, tt.result, tt.status)
		}
		if r := f.legacy(other, "GET", "/rest/v1/status.bson", url.Values{"txid": {txid}}); r.Status != 404 || r.failCode(t) != 40401 {
			t.Errorf("status from another integration = %d %v, want 404/40401", r.Status, r.Raw)
		}
	}
	r := f.legacy(key, "GET", "/rest/v1/status.bson", url.Values{"txid": {"8a7b6c5d-0000-4000-8000-000000000000"}})
	if r.Status != 404 || r.failCode(t) != 40401 {
		t.Errorf("status(unknown) = %d %v, want 404/40401", r.Status, r.Raw)
	}
}

func TestLegacySignatures(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	// f.Key is an Auth API integration: v1 signatures are not allowed.
	r := f.legacy(f.Key, "POST", "/rest/v1/preauth.bson", url.Values{"user": {"alice"}})
	if r.Status != 401 || r.ContentType != "application/bson" || r.failCode(t) != 40104 {
		t.Errorf("v1 signature by an Auth API key = %d %s %v, want 401/40104 BSON", r.Status, r.ContentType, r.Raw)
	}
	bad := key
	bad.SKey = mfa.Secret("wrong")
	r = f.legacy(bad, "POST", "/rest/v1/preauth.bson", url.Values{"user": {"alice"}})
	if r.Status != 401 || r.failCode(t) != 40103 {
		t.Errorf("wrong skey = %d %v, want 401/40103", r.Status, r.Raw)
	}
	r = f.legacy(key, "POST", "/rest/v1/preauth.json", url.Values{"user": {"alice"}})
	if r.Status != 200 {
		t.Errorf("preauth.json = %d %s", r.Status, r.Raw)
	}
}

func TestLegacyPreauthNoSMS(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	p := f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)
	p.Type = mfa.PhoneLandline
	if err := f.Store.UpdatePhone(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	r := f.legacy(key, "POST", "/rest/v1/preauth.bson", url.Values{"user": {"alice"}})
	if prompt := r.str(t, "prompt"); strings.Contains(prompt, "SMS") || !strings.Contains(prompt, " 2. Phone call to") ||
		!strings.HasSuffix(prompt, "Passcode or option (1-2): ") {
		t.Errorf("prompt = %q, want push and call options without SMS", prompt)
	}
	if _, err := r.Response.Lookup("factors").Document().LookupErr("3"); err == nil {
		t.Errorf("factors = %v, want no SMS option", r.Response.Lookup("factors"))
	}

	// A hardware token alone: a passcode prompt without options.
	bob := f.user("bob", mfa.StatusActive)
	tid, _ := mfa.NewID(mfa.PrefixToken, rand.Reader)
	if err := f.Store.CreateToken(t.Context(), mfa.Token{ID: tid, Type: mfa.TokenH6, Serial: "T1",
		Secret: mfa.Secret("12345678901234567890"), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.AttachToken(t.Context(), bob.ID, tid); err != nil {
		t.Fatal(err)
	}
	r = f.legacy(key, "POST", "/rest/v1/preauth.bson", url.Values{"user": {"bob"}})
	if prompt := r.str(t, "prompt"); !strings.HasSuffix(prompt, "\n\nPasscode: ") || strings.Contains(prompt, " 1. ") {
		t.Errorf("prompt = %q, want a passcode prompt without options", prompt)
	}
	if d := r.Response.Lookup("factors").Document(); d.Lookup("default").StringValue() != "passcode" {
		t.Errorf("factors = %v, want only default passcode", d)
	} else if _, err := d.LookupErr("1"); err == nil {
		t.Errorf("factors = %v, want no options", d)
	}
}

func TestLegacySMS(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	u := f.user("alice", mfa.StatusActive)
	f.app(u, []byte("12345678901234567890"), false)

	for i, async := range []string{"0", "1"} {
		r := f.legacy(key, "POST", "/rest/v1/auth.bson", url.Values{"user": {"alice"}, "factor": {"auto"},
			"auto": {"sms1"}, "async": {async}})
		if r.Status != 200 {
			t.Fatalf("auth(sms1) = %d %v", r.Status, r.Raw)
		}
		if async == "1" {
			r = f.legacy(key, "GET", "/rest/v1/status.bson", url.Values{"txid": {r.str(t, "txid")}})
		}
		if got, st := r.str(t, "result"), r.str(t, "status"); got != "deny" || st != "New SMS passcodes sent" {
			t.Errorf("auth(sms1, async=%s) = %s %q, want deny \"New SMS passcodes sent\"", async, got, st)
		}
		if n := len(f.Notes.Messages()); n != i+1 {
			t.Fatalf("%d SMS sent, want %d", n, i+1)
		}
	}
	// The prompt now tells which code comes next.
	r := f.legacy(key, "POST", "/rest/v1/preauth.bson", url.Values{"user": {"alice"}})
	if prompt := r.str(t, "prompt"); !strings.Contains(prompt, " 3. SMS passcodes to Alice's phone (XXX-XXX-0100) (next code starts with: 1)\n") {
		t.Errorf("prompt = %q, want the next code digit", prompt)
	}
	codes := strings.Fields(string(f.Notes.Messages()[1].Body))[2:]
	r = f.legacy(key, "POST", "/rest/v1/auth.bson", url.Values{"user": {"alice"}, "factor": {"auto"}, "auto": {codes[0]}})
	if got, st := r.str(t, "result"), r.str(t, "status"); got != "allow" || st != msgSuccess {
		t.Errorf("auth(SMS code) = %s %q, want allow", got, st)
	}
	if u2, _ := f.Store.GetUser(t.Context(), u.ID); u2.FailedAttempts != 0 {
		t.Errorf("failed attempts = %d, want 0", u2.FailedAttempts)
	}

	// The carrier is down: deny with a reason, so login_duo re-prompts.
	f.Notes.SetFail(mfa.E(mfa.Unavailable, "down"))
	r = f.legacy(key, "POST", "/rest/v1/auth.bson", url.Values{"user": {"alice"}, "factor": {"sms"}})
	if got, st := r.str(t, "result"), r.str(t, "status"); got != "deny" || st != authapi.MsgLegacySMSUnavailable {
		t.Errorf("auth(sms, carrier down) = %s %q, want deny %q", got, st, authapi.MsgLegacySMSUnavailable)
	}
}
