package authapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// openvpnCall makes one request exactly as duo_openvpn.py (Duo OpenVPN v1)
// builds it: the v1 canonical string "METHOD\nhost\npath\nparams" with
// each key and value quoted keeping only "~" (and letters, digits, "_.-")
// unescaped, HMAC-SHA1 hex as the Basic password, the parameters
// urlencoded in the body (POST) or the query (GET), no Date header.
func (f *fixture) openvpnCall(in mfa.Integration, skey, method, path string, params map[string]string) (int, string, []byte) {
	f.t.Helper()
	quote := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	form := url.Values{}
	for _, k := range keys {
		args = append(args, quote(k)+"="+quote(params[k]))
		form.Set(k, params[k])
	}
	canon := strings.Join([]string{method, "localhost", path, strings.Join(args, "&")}, "\n")
	mac := hmac.New(sha1.New, []byte(skey))
	mac.Write([]byte(canon))
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(in.IKey+":"+hex.EncodeToString(mac.Sum(nil))))
	u := "https://" + f.Host + path
	var body io.Reader
	if method == http.MethodGet {
		u += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Host = "localhost"
	req.Header.Set("Authorization", auth)
	if method != http.MethodGet {
		req.Header.Set("Content-type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestLegacyExtensionlessOpenVPN drives /rest/v1/{preauth,auth,status,logo}
// without an extension with duo_openvpn's request shapes: JSON answers
// {stat, response{result, status}}, as its api() parses them.
func TestLegacyExtensionlessOpenVPN(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("openvpn")
	skey := string(key.SKey.Reveal())
	secret := []byte("12345678901234567890")
	f.app(f.user("alice", mfa.StatusActive), secret, false)
	type envelope struct {
		Stat     string `json:"stat"`
		Code     int    `json:"code"`
		Response struct {
			Result string `json:"result"`
			Status string `json:"status"`
			TxID   string `json:"txid"`
		} `json:"response"`
	}
	call := func(method, path string, params map[string]string) (int, envelope) {
		t.Helper()
		st, ct, b := f.openvpnCall(key, skey, method, path, params)
		var e envelope
		if !strings.HasPrefix(ct, "application/json") || json.Unmarshal(b, &e) != nil {
			t.Fatalf("%s %s = %d %s %q, want JSON", method, path, st, ct, b)
		}
		return st, e
	}

	if st, e := call("POST", "/rest/v1/preauth", map[string]string{"user": "alice"}); st != 200 || e.Stat != "OK" || e.Response.Result != "auth" {
		t.Errorf("preauth = %d %+v, want OK auth", st, e)
	}
	if st, e := call("POST", "/rest/v1/preauth", map[string]string{"user": "nobody"}); st != 200 || e.Response.Result != "enroll" || e.Response.Status == "" {
		t.Errorf("preauth(unknown) = %d %+v, want enroll with a status", st, e)
	}
	code := hotp(t, secret, 0)
	auth := func(password string) envelope {
		t.Helper()
		st, e := call("POST", "/rest/v1/auth", map[string]string{"user": "alice", "factor": "auto", "auto": password, "ipaddr": "198.51.100.9"})
		if st != 200 || e.Stat != "OK" {
			t.Fatalf("auth(%q) = %d %+v, want OK", password, st, e)
		}
		return e
	}
	if e := auth(code); e.Response.Result != "allow" || e.Response.Status != msgSuccess {
		t.Errorf("auth(right code) = %+v, want allow %q", e.Response, msgSuccess)
	}
	if e := auth(code); e.Response.Result != "deny" || e.Response.Status != msgUsed {
		t.Errorf("auth(replayed code) = %+v, want deny %q", e.Response, msgUsed)
	}
	if e := auth("000000"); e.Response.Result != "deny" || e.Response.Status != msgIncorrect {
		t.Errorf("auth(wrong code) = %+v, want deny %q", e.Response, msgIncorrect)
	}
	// duo_client's auth_v1 polls an async answer with status.
	_, e := call("POST", "/rest/v1/auth", map[string]string{"user": "alice", "factor": "auto", "auto": hotp(t, secret, 1), "async": "1"})
	if e.Response.TxID == "" {
		t.Fatalf("async auth = %+v, want a txid", e)
	}
	if st, s := call("GET", "/rest/v1/status", map[string]string{"txid": e.Response.TxID}); st != 200 || s.Response.Result != "allow" {
		t.Errorf("status = %d %+v, want allow", st, s)
	}
	st, ct, png := f.openvpnCall(key, skey, "GET", "/rest/v1/logo", map[string]string{})
	if st != 200 || ct != "image/png" || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("logo = %d %s, want a PNG", st, ct)
	}

	// Attacks: a wrong signature, a tampered body, an unknown key.
	if st, e := call("POST", "/rest/v1/auth", map[string]string{"user": "alice", "factor": "auto", "auto": hotp(t, secret, 2)}); st != 200 || e.Response.Result != "allow" {
		t.Fatalf("auth(code 2) = %d %+v", st, e)
	}
	bad := key
	if st, e := func() (int, envelope) {
		st, _, b := f.openvpnCall(bad, "wrong-secret-0123456789012345678901234567", "POST", "/rest/v1/auth",
			map[string]string{"user": "alice", "factor": "auto", "auto": hotp(t, secret, 3)})
		var e envelope
		json.Unmarshal(b, &e)
		return st, e
	}(); st != 401 || e.Stat != "FAIL" {
		t.Errorf("auth with a wrong secret = %d %+v, want 401 FAIL", st, e)
	}
	// The code the refused request carried is unspent.
	if e := auth(hotp(t, secret, 3)); e.Response.Result != "allow" {
		t.Errorf("auth(code 3 after a refused request) = %+v, want allow", e.Response)
	}
}
