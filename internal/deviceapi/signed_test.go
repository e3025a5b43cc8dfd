package deviceapi_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func ptr[T any](v T) *T { return &v }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSignedRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, d := f.enroll("alice", 0)
	other := testKey(t, 1)
	port := f.Host[strings.LastIndex(f.Host, ":"):]
	params := url.Values{"akey": {d.AKey}, "pkpush": {"rsa-sha512"}, "wait": {"0"}}

	tests := []struct {
		name       string
		mod        func(*signSpec)
		wantStatus int
		wantCodes  []int // any of them; nil with 200
	}{
		{"correct", func(*signSpec) {}, 200, nil},
		{"Date header", func(s *signSpec) { s.DateHeader = "Date" }, 200, nil},
		{"X-Duo-Date wins over a bad Date", func(s *signSpec) { s.Header.Set("Date", "yesterday") }, 200, nil},
		{"HTTP-date (GMT) form", func(s *signSpec) { s.Date = time.Now().UTC().Format(http.TimeFormat) }, 200, nil},
		{"host with port", func(s *signSpec) { s.Host = f.Host }, 200, nil},
		{"host without port", func(s *signSpec) { s.Host = "localhost" }, 200, nil},
		{"lower-case basic scheme", func(s *signSpec) {
			s.Auth = ptr("basic " + b64(s.PKey+":"+base64.StdEncoding.EncodeToString(
				signCanon(t, s.Key, canonV2(s.Date, s.Method, s.Host, s.Path, s.Params)))))
		}, 200, nil},
		{"date 250 s behind", func(s *signSpec) { s.Date = rfc2822(time.Now().Add(-250 * time.Second)) }, 200, nil},
		{"date 250 s ahead", func(s *signSpec) { s.Date = rfc2822(time.Now().Add(250 * time.Second)) }, 200, nil},

		{"no Authorization", func(s *signSpec) { s.Auth = ptr("") }, 401, []int{40101}},
		{"unknown pkey", func(s *signSpec) { s.PKey = newID(t, mfa.PrefixAuthenticator) }, 401, []int{40102}},
		{"akey as pkey", func(s *signSpec) { s.PKey = d.AKey }, 401, []int{40102}},
		{"another key", func(s *signSpec) { s.Key = other }, 401, []int{40103}},
		{"another path", func(s *signSpec) { s.Path = txPath + "/x" }, 401, []int{40103}},
		{"path with trailing slash", func(s *signSpec) { s.Path = txPath + "/" }, 401, []int{40103}},
		{"another param value", func(s *signSpec) { s.Params.Set("wait", "1") }, 401, []int{40103}},
		{"an extra signed param", func(s *signSpec) { s.Params.Set("extra", "1") }, 401, []int{40103}},
		{"a param left unsigned", func(s *signSpec) { s.Params.Del("akey") }, 401, []int{40103}},
		{"another method", func(s *signSpec) { s.Method = http.MethodPost }, 401, []int{40103}},
		{"another host", func(s *signSpec) { s.Host = "2fa.example.com" }, 401, []int{40103}},
		{"another host with our port", func(s *signSpec) { s.Host = "2fa.example.com" + port }, 401, []int{40103}},
		{"another port", func(s *signSpec) { s.Host = "localhost:1" }, 401, []int{40103}},
		{"IP address for the host", func(s *signSpec) { s.Host = "127.0.0.1" + port }, 401, []int{40103}},
		{"signed date differs from the sent one", func(s *signSpec) {
			s.Header.Set("X-Duo-Date", rfc2822(time.Now().Add(-time.Second)))
			s.Date = rfc2822(time.Now())
		}, 401, []int{40103}},
		{"SHA-256 signature", func(s *signSpec) {
			sum := sha256.Sum256([]byte(canonV2(s.Date, s.Method, s.Host, s.Path, s.Params)))
			sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			s.Auth = ptr("Basic " + b64(s.PKey+":"+base64.StdEncoding.EncodeToString(sig)))
		}, 401, []int{40103}},
		{"no date", func(s *signSpec) { s.DateHeader = "" }, 401, []int{40104, 40105}},
		{"unparseable date", func(s *signSpec) { s.Date = "yesterday" }, 401, []int{40105}},
		{"date 301 s behind", func(s *signSpec) { s.Date = rfc2822(time.Now().Add(-301 * time.Second)) }, 401, []int{40105}},
		{"date 301 s ahead", func(s *signSpec) { s.Date = rfc2822(time.Now().Add(301 * time.Second)) }, 401, []int{40105}},
		{"date a day old", func(s *signSpec) { s.Date = rfc2822(time.Now().Add(-24 * time.Hour)) }, 401, []int{40105}},
		{"bad date and bad signature", func(s *signSpec) {
			s.Date = rfc2822(time.Now().Add(-time.Hour))
			s.Key = other
		}, 401, []int{40105, 40103}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := f.signed(d, http.MethodGet, txPath, params, tt.mod)
			if e.Status != tt.wantStatus {
				t.Fatalf("GET transactions (%s) = %d %s, want %d %v", tt.name, e.Status, e.Raw, tt.wantStatus, tt.wantCodes)
			}
			if tt.wantStatus == 200 {
				if e.Stat != "OK" {
					t.Errorf("body = %s", e.Raw)
				}
				return
			}
			ok := false
			for _, c := range tt.wantCodes {
				ok = ok || e.Code == c
			}
			if !ok || e.Stat != "FAIL" || e.Message == "" {
				t.Errorf("GET transactions (%s) = %d %s, want FAIL with code in %v", tt.name, e.Status, e.Raw, tt.wantCodes)
			}
		})
	}
}

// TestSignedParamsCanonicalised sends parameters in a scrambled order, with
// repeated keys and characters that RFC 3986 escaping and form encoding
// treat differently; the signature covers them sorted and escaped.
func TestSignedParamsCanonicalised(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, d := f.enroll("alice", 0)
	params := url.Values{
		"wait": {"0"}, "pkpush": {"rsa-sha512"}, "akey": {d.AKey},
		"dup":    {"b", "a", "A"},
		"note":   {"a b+c~d*e'f(g)h!i/j?k=l&m"},
		"ünï":    {"çödé ☃"},
		"empty":  {""},
		"Z-caps": {"1"},
	}
	// Wire order: reversed keys, values as given; spaces as '+' and as %20.
	raw := "Z-caps=1&%C3%BCn%C3%AF=%C3%A7%C3%B6d%C3%A9%20%E2%98%83&note=" + url.QueryEscape(params.Get("note")) +
		"&empty=&dup=b&dup=a&dup=A&akey=" + d.AKey + "&pkpush=rsa-sha512&wait=0"
	if got, err := url.ParseQuery(raw); err != nil || got.Encode() != params.Encode() {
		t.Fatalf("test's raw query %q decodes to %v, %v; want %v", raw, got, err, params)
	}
	req := f.signedRequest(t.Context(), d, http.MethodGet, txPath, params)
	req.URL.RawQuery = raw
	wantOK(t, "GET transactions with scrambled parameters", f.send(req))

	// POST: the form body is what is signed.
	res := f.push(mustUser(t, f, "alice"))
	p := url.Values{"answer": {"deny"}, "note": {"x y~z"}, "step_up_code_autofilled": {"false"}}
	wantOK(t, "answer with extra parameters", f.answer(d, res.TxID, p))
}

func mustUser(t *testing.T, f *fixture, name string) mfa.User {
	t.Helper()
	u, err := f.Store.GetUserByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestMalformedAuthorization: garbage credentials are 401, never a 500 or
// a dropped connection.
func TestMalformedAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, d := f.enroll("alice", 0)
	goodSig := base64.StdEncoding.EncodeToString(signCanon(t, d.Key, "x"))
	tests := []struct {
		name string
		give string
	}{
		{"scheme only", "Basic"},
		{"scheme and space", "Basic "},
		{"other scheme", "Bearer " + b64(d.PKey+":"+goodSig)},
		{"HMAC-style Duo header", "Basic " + b64(d.PKey+":0123456789abcdef")},
		{"not base64", "Basic !!!!not-base64!!!!"},
		{"base64 URL alphabet", "Basic " + base64.URLEncoding.EncodeToString([]byte(d.PKey+":"+strings.Repeat("\xff\xfe", 40)))},
		{"no colon", "Basic " + b64(d.PKey)},
		{"empty signature", "Basic " + b64(d.PKey+":")},
		{"empty pkey", "Basic " + b64(":"+goodSig)},
		{"signature not base64", "Basic " + b64(d.PKey+":%%%not base64%%%")},
		{"one-byte signature", "Basic " + b64(d.PKey+":"+b64("x"))},
		{"8 KB signature", "Basic " + b64(d.PKey+":"+b64(strings.Repeat("s", 6000)))},
		{"huge header", "Basic " + strings.Repeat("QUFB", 50_000)},
		{"many colons", "Basic " + b64(d.PKey+":::"+goodSig)},
		{"long pkey", "Basic " + b64(strings.Repeat("D", 4000)+":"+goodSig)},
		{"SQL in pkey", "Basic " + b64("DA' OR '1'='1:"+goodSig)},
		{"binary pkey", "Basic " + b64("DA\x00\xff\xfe:"+goodSig)},
		{"non-ASCII header", "Basic ÄÖÜ"},
		{"spaces only", "     "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := f.signed(d, http.MethodGet, txPath, url.Values{"wait": {"0"}}, func(s *signSpec) { s.Auth = ptr(tt.give) })
			if e.Status != 401 || e.Stat != "FAIL" || e.Code < 40101 || e.Code > 40103 {
				t.Errorf("GET transactions with Authorization %.60q = %d %.200s, want 401 FAIL 40101..40103", tt.give, e.Status, e.Raw)
			}
		})
	}
	t.Run("answer with garbage credentials", func(t *testing.T) {
		res := f.push(mustUser(t, f, "alice"))
		e := f.answer(d, res.TxID, approve(), func(s *signSpec) { s.Auth = ptr("Basic " + b64(d.PKey+":"+goodSig)) })
		wantFail(t, "answer signed over something else", e, 401, 40103, "")
		if st := f.status(res.TxID); st.Result != "waiting" {
			t.Errorf("auth status after a forged answer = %+v, want waiting", st)
		}
	})
}

// FuzzDeviceRequest throws arbitrary credentials, dates, query strings and
// bodies at the device routes in process: the answer is always a Duo
// envelope, and never a 5xx.
func FuzzDeviceRequest(f *testing.F) {
	fx := newFixture(f)
	key := testKey(f, 0)
	u := fx.user("alice")
	d := fx.activate(fx.code(u, "", time.Now().Add(time.Hour)), 0)
	now := rfc2822(time.Now())
	// A real signature over a neighbouring request, for another host: no
	// mutation of the inputs makes it valid (a valid one would long-poll).
	sig := base64.StdEncoding.EncodeToString(signCanon(f, key, canonV2(now, "GET", "2fa.example.com", txPath, url.Values{"wait": {"0"}})))
	f.Add("Basic "+b64(d.PKey+":"+sig), now, "wait=0", "")
	f.Add("Basic "+b64(d.PKey+":"+sig), now, "wait=%zz", "")
	f.Add("Basic "+b64(d.PKey+":"+sig), "Mon, 99 Foo 2026 99:99:99 -9999", "wait=0", "")
	f.Add("Basic "+b64(d.PKey+":"+sig), strings.Repeat("Mon, ", 40), "", "answer=approve")
	f.Add("basic "+b64(":"), "", "a=1&a=2&;", "%")
	f.Add("Basic =", now, "wait=-1", "answer=approve&answer=deny")
	f.Add("Basic "+b64(strings.Repeat("\x00", 30)+":"+sig), now, "wait=30", "")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, auth, date, query, body string) {
		for _, target := range []struct{ method, path string }{
			{http.MethodGet, txPath},
			{http.MethodPost, txPath + "/" + mfa.PrefixAuthenticator + "0"},
			{http.MethodPost, "/push/v2/activation/ABCDEFGHIJKLMNOPQRST"},
		} {
			req := httptest.NewRequestWithContext(t.Context(), target.method, "https://"+fx.Host+target.path, strings.NewReader(body))
			req.URL.RawQuery = query
			if target.method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.Header["Authorization"] = []string{auth}
			req.Header["X-Duo-Date"] = []string{date}
			rec := httptest.NewRecorder()
			fx.Mux.ServeHTTP(rec, req)
			var e envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code >= 500 ||
				!(e.Stat == "OK" && rec.Code == 200 || e.Stat == "FAIL" && rec.Code >= 400 && e.Code/100 == rec.Code) {
				t.Errorf("%s %s?%q with Authorization %q, date %q, body %q = %d %s, want a Duo envelope, no 5xx",
					target.method, target.path, query, auth, date, body, rec.Code, rec.Body)
			}
		}
	})
}
