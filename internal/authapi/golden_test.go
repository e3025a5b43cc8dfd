package authapi_test

import (
	"encoding/json"
	"flag"
	"net/url"
	"regexp"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"

	"github.com/twostep-auth/twostep/internal/api/apitest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Ids, times, txids and codes differ on every run: golden files hold
// placeholders.
var (
	goldenIDs   = regexp.MustCompile(`"D[A-Z][A-Z0-9]{18}"`)
	goldenTimes = regexp.MustCompile(`("(?:time|expiration)": ?)\d+`)
	goldenTxids = regexp.MustCompile(`"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"`)
	goldenCodes = regexp.MustCompile(`"\d{9}"`)
	// Activation codes and links, remembered-device tokens.
	goldenSecrets = regexp.MustCompile(`("(?:activation_barcode|activation_code|activation_url|trusted_device_token)": )"[^"]*"`)
)

// golden compares a response body's shape with testdata/name.json
// (volatile values replaced by placeholders); -update rewrites the file.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	apitest.Golden(t, name, body, *update,
		apitest.Mask{Pattern: goldenIDs, Repl: `"<id>"`},
		apitest.Mask{Pattern: goldenTimes, Repl: `${1}0`},
		apitest.Mask{Pattern: goldenTxids, Repl: `"<txid>"`},
		apitest.Mask{Pattern: goldenCodes, Repl: `"<code>"`},
		apitest.Mask{Pattern: goldenSecrets, Repl: `${1}"<secret>"`})
}

// raw makes a signed call with Duo's client and returns the status and body.
func (f *fixture) raw(method, path string, params url.Values) (int, []byte) {
	f.t.Helper()
	resp, body, err := f.duoAPI().SignedCall(method, path, params)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, body
}

// TestResponseShapesGolden pins the Auth API's response shapes: Duo's
// clients ignore missing members, so only a golden file notices a change.
func TestResponseShapesGolden(t *testing.T) {
	f := newAdminFixture(t, nil)
	secret := []byte("12345678901234567890")
	f.app(f.user("alice", mfa.StatusActive), secret, false)
	f.user("bob", mfa.StatusBypass)
	f.user("carol", mfa.StatusDisabled)
	f.user("erin", mfa.StatusActive) // no device: enroll
	// A hardware token only.
	f.token(f.user("frank", mfa.StatusActive), "frank-yubikey")
	for _, c := range []struct {
		name, method, path string
		params             url.Values
		status             int
	}{
		{"check", "GET", "/auth/v2/check", nil, 200},
		{"preauth_auth", "POST", "/auth/v2/preauth", url.Values{"username": {"alice"}}, 200},
		{"preauth_allow", "POST", "/auth/v2/preauth", url.Values{"username": {"bob"}}, 200},
		{"preauth_deny", "POST", "/auth/v2/preauth", url.Values{"username": {"carol"}}, 200},
		{"preauth_enroll", "POST", "/auth/v2/preauth", url.Values{"username": {"erin"}}, 200},
		{"preauth_token", "POST", "/auth/v2/preauth", url.Values{"username": {"frank"}}, 200},
		{"auth_allow", "POST", "/auth/v2/auth", url.Values{"username": {"alice"}, "factor": {"passcode"}, "passcode": {hotp(t, secret, 0)}}, 200},
		{"auth_deny", "POST", "/auth/v2/auth", url.Values{"username": {"alice"}, "factor": {"passcode"}, "passcode": {"000000"}}, 200},
		{"auth_bypass", "POST", "/auth/v2/auth", url.Values{"username": {"bob"}, "factor": {"passcode"}, "passcode": {"123456"}}, 200},
		{"auth_not_enrolled", "POST", "/auth/v2/auth", url.Values{"username": {"erin"}, "factor": {"push"}, "device": {"auto"}}, 200},
		{"auth_bad_factor", "POST", "/auth/v2/auth", url.Values{"username": {"alice"}, "factor": {"carrier-pigeon"}}, 400},
		{"enroll", "POST", "/auth/v2/enroll", url.Values{"username": {"newbie"}, "valid_secs": {"600"}}, 200},
	} {
		status, body := f.raw(c.method, c.path, c.params)
		if status != c.status {
			t.Fatalf("%s %s = %d %s, want %d", c.method, c.path, status, body, c.status)
		}
		golden(t, c.name, body)
	}

	// Async: auth answers {txid}; auth_status the transaction's outcome.
	status, body := f.raw("POST", "/auth/v2/auth", url.Values{"username": {"alice"}, "factor": {"passcode"},
		"passcode": {hotp(t, secret, 1)}, "async": {"1"}})
	if status != 200 {
		t.Fatalf("async auth = %d %s", status, body)
	}
	golden(t, "auth_async", body)
	var async struct {
		Response struct {
			Txid string `json:"txid"`
		} `json:"response"`
	}
	if err := json.Unmarshal(body, &async); err != nil || async.Response.Txid == "" {
		t.Fatalf("async auth = %s: no txid", body)
	}
	status, body = f.raw("GET", "/auth/v2/auth_status", url.Values{"txid": {async.Response.Txid}})
	if status != 200 {
		t.Fatalf("auth_status = %d %s", status, body)
	}
	golden(t, "auth_status_allow", body)
}
