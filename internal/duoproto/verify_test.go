package duoproto

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	v2IKey     = "DIV2KEY0000000000000" // AllowV1 false
	v1IKey     = "DIV1KEY0000000000000" // AllowV1 true
	brokenIKey = "DIBROKEN000000000000" // lookup fails
	testSKey   = "skey-for-tests-0123456789abcdefghijklmn"
)

var testNow = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func testLookup(_ context.Context, ikey string) (Key, error) {
	switch ikey {
	case v2IKey:
		return Key{SKey: testSKey}, nil
	case v1IKey:
		return Key{SKey: testSKey, AllowV1: true}, nil
	case hmacIKey:
		return Key{SKey: hmacSKey}, nil
	case brokenIKey:
		return Key{}, errors.New("database is down")
	}
	return Key{}, fmt.Errorf("integration %q: %w", ikey, ErrUnknownKey)
}

func testVerifier() *Verifier {
	v := NewVerifier(testLookup, func() time.Time { return testNow })
	v.Hosts = []string{"API-Proxy.example.com"}
	return v
}

// signed is a request under construction for the verifier tests.
type signed struct {
	method, target, host string
	ctype                string
	body                 string
	header               map[string]string
}

// build returns the request as a Go server would see it.
func (s signed) build() (*http.Request, []byte) {
	method := s.method
	if method == "" {
		method = http.MethodGet
	}
	target := s.target
	if target == "" {
		target = "/auth/v2/check"
	}
	r := httptest.NewRequest(method, target, strings.NewReader(s.body))
	r.Host = "api.example.com"
	if s.host != "" {
		r.Host = s.host
	}
	if s.ctype != "" {
		r.Header.Set("Content-Type", s.ctype)
	}
	for k, v := range s.header {
		r.Header.Set(k, v)
	}
	var body []byte
	if s.body != "" {
		body = []byte(s.body)
	}
	return r, body
}

var testDate = testNow.Format(time.RFC1123Z)

func basic(ikey, sig string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(ikey+":"+sig))
}

// withSig builds s and sets an Authorization header from canon, signed with
// sign under testSKey.
func withSig(s signed, ikey string, sign func(skey, canon string) string, canon func(r *http.Request, body []byte) string) func() (*http.Request, []byte) {
	return func() (*http.Request, []byte) {
		r, body := s.build()
		r.Header.Set("Authorization", basic(ikey, sign(testSKey, canon(r, body))))
		return r, body
	}
}

// signedWith builds s and signs it with SignRequest.
func signedWith(s signed, ikey, skey string, version int, opts ...SignOption) func() (*http.Request, []byte) {
	return func() (*http.Request, []byte) {
		r, body := s.build()
		if err := SignRequest(r, ikey, skey, version, body, opts...); err != nil {
			panic(err)
		}
		return r, body
	}
}

func dateHeader(d string) map[string]string { return map[string]string{"Date": d} }

func TestVerify(t *testing.T) {
	atDate := signed{header: dateHeader(testDate)}
	skewed := func(d time.Duration) signed {
		return signed{header: dateHeader(testNow.Add(d).Format(time.RFC1123Z))}
	}
	v2 := func(s signed, host, path, params string) func(*http.Request, []byte) string {
		return func(r *http.Request, _ []byte) string {
			return canonV2(s.header["Date"], r.Method, host, path, params)
		}
	}

	tests := []struct {
		name        string
		give        func() (*http.Request, []byte)
		wantErr     error // an *Error, compared by code and detail; nil for success
		wantVersion int
		wantParams  url.Values
		wantJSON    bool
	}{
		// 1. Authorization.
		{name: "missing header", give: signed{header: dateHeader(testDate)}.build, wantErr: ErrMissingCredentials},
		{name: "not basic", give: signed{header: map[string]string{"Authorization": "Bearer abc"}}.build, wantErr: ErrMissingCredentials},
		{name: "bad base64", give: signed{header: map[string]string{"Authorization": "Basic !!!"}}.build, wantErr: ErrMissingCredentials},
		{name: "no colon", give: signed{header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("DIKEY"))}}.build, wantErr: ErrMissingCredentials},
		{name: "empty ikey", give: signed{header: map[string]string{"Authorization": basic("", strings.Repeat("a", 40))}}.build, wantErr: ErrMissingCredentials},
		{name: "empty signature", give: signed{header: map[string]string{"Authorization": basic(v2IKey, "")}}.build, wantErr: ErrMissingCredentials},
		{name: "scheme only", give: signed{header: map[string]string{"Authorization": "Basic"}}.build, wantErr: ErrMissingCredentials},

		// 2. Integration key.
		{name: "unknown ikey", give: signedWith(atDate, "DINOSUCHKEY000000000", testSKey, 2), wantErr: ErrInvalidIKey},
		{name: "overlong ikey", give: signedWith(atDate, strings.Repeat("D", 129), testSKey, 2), wantErr: ErrInvalidIKey},

		// 3. Timestamp.
		{name: "missing date", give: withSig(signed{}, v2IKey, SignSHA512, func(r *http.Request, _ []byte) string {
			return canonV1("GET", "api.example.com", "/auth/v2/check", "")
		}), wantErr: ErrMissingTimestamp},
		{name: "v1 for key without AllowV1", give: signedWith(signed{}, v2IKey, testSKey, 1, WithSHA1()), wantErr: ErrMissingTimestamp},
		{name: "v1 with a date for key without AllowV1", give: signedWith(atDate, v2IKey, testSKey, 1, WithSHA1()), wantErr: ErrInvalidSignature},
		{name: "bad date", give: signedWith(signed{header: dateHeader("yesterday at noon")}, v2IKey, testSKey, 2), wantErr: ErrBadTimestamp},
		{name: "date too long", give: signedWith(signed{header: dateHeader(testDate + strings.Repeat(" ", 100))}, v2IKey, testSKey, 2), wantErr: ErrBadTimestamp},
		{name: "skew +301s", give: signedWith(skewed(301*time.Second), v2IKey, testSKey, 2), wantErr: ErrBadTimestamp},
		{name: "skew -301s", give: signedWith(skewed(-301*time.Second), v2IKey, testSKey, 2), wantErr: ErrBadTimestamp},
		{name: "skew +299s", give: signedWith(skewed(299*time.Second), v2IKey, testSKey, 2), wantVersion: 2},
		{name: "skew -299s", give: signedWith(skewed(-299*time.Second), v2IKey, testSKey, 2), wantVersion: 2},
		{name: "skew exactly 300s", give: signedWith(skewed(300*time.Second), v2IKey, testSKey, 2), wantVersion: 2},
		{name: "skew checked before signature", give: signedWith(skewed(time.Hour), v2IKey, "wrong", 2), wantErr: ErrBadTimestamp},
		{name: "date -0000 (python)", give: signedWith(signed{header: dateHeader("Fri, 02 Jan 2026 15:04:05 -0000")}, v2IKey, testSKey, 2), wantVersion: 2},
		{name: "date GMT (node)", give: signedWith(signed{header: dateHeader("Fri, 02 Jan 2026 15:04:05 GMT")}, v2IKey, testSKey, 2), wantVersion: 2},
		{name: "date -0500 (postman)", give: signedWith(signed{header: dateHeader("Fri, 02 Jan 2026 10:04:05 -0500")}, v2IKey, testSKey, 2), wantVersion: 2},
		{name: "date +0530", give: signedWith(signed{header: dateHeader("Fri, 02 Jan 2026 20:34:05 +0530")}, v2IKey, testSKey, 2), wantVersion: 2},
		{name: "date -0500 but 5h off", give: signedWith(signed{header: dateHeader("Fri, 02 Jan 2026 15:04:05 -0500")}, v2IKey, testSKey, 2), wantErr: ErrBadTimestamp},
		{
			// The signed string is the header byte for byte, not a
			// reformatted date.
			name: "date signed reformatted",
			give: withSig(signed{header: dateHeader("Fri, 02 Jan 2026 15:04:05 GMT")}, v2IKey, SignSHA512, func(r *http.Request, _ []byte) string {
				return canonV2(testDate, "GET", "api.example.com", "/auth/v2/check", "")
			}),
			wantErr: ErrInvalidSignature,
		},
		{
			name:        "X-Duo-Date preferred over Date",
			give:        signedWith(signed{header: map[string]string{"X-Duo-Date": testDate, "Date": "garbage"}}, v2IKey, testSKey, 2),
			wantVersion: 2,
		},
		{
			name: "signed with Date while X-Duo-Date differs",
			give: withSig(signed{header: map[string]string{"X-Duo-Date": testDate, "Date": "Fri, 02 Jan 2026 15:04:06 +0000"}}, v2IKey, SignSHA512, func(r *http.Request, _ []byte) string {
				return canonV2("Fri, 02 Jan 2026 15:04:06 +0000", "GET", "api.example.com", "/auth/v2/check", "")
			}),
			wantErr: ErrInvalidSignature,
		},
		{name: "stale X-Duo-Date beats fresh Date", give: signedWith(signed{header: map[string]string{"X-Duo-Date": testNow.Add(-time.Hour).Format(time.RFC1123Z), "Date": testDate}}, v2IKey, testSKey, 2), wantErr: ErrBadTimestamp},

		// 4. Signature.
		{name: "wrong skey", give: signedWith(atDate, v2IKey, "not-the-skey", 2), wantErr: ErrInvalidSignature},
		{name: "wrong skey sha1", give: signedWith(atDate, v2IKey, "not-the-skey", 2, WithSHA1()), wantErr: ErrInvalidSignature},
		{name: "64 hex signature", give: signed{header: map[string]string{"Date": testDate, "Authorization": basic(v2IKey, strings.Repeat("ab", 32))}}.build, wantErr: ErrInvalidSignature},
		{name: "40 non-hex signature", give: signed{header: map[string]string{"Date": testDate, "Authorization": basic(v2IKey, strings.Repeat("zz", 20))}}.build, wantErr: ErrInvalidSignature},
		{name: "sha1 v5 refused", give: withSig(atDate, v2IKey, SignSHA1, func(r *http.Request, b []byte) string {
			return CanonV5(testDate, r.Method, r.Host, r.URL.Path, nil, b, r.Header)
		}), wantErr: ErrInvalidSignature},
		{name: "signed other path", give: withSig(atDate, v2IKey, SignSHA512, v2(atDate, "api.example.com", "/auth/v2/ping", "")), wantErr: ErrInvalidSignature},
		{name: "signed other method", give: withSig(signed{method: "POST", header: dateHeader(testDate)}, v2IKey, SignSHA512, func(r *http.Request, _ []byte) string {
			return canonV2(testDate, "GET", "api.example.com", "/auth/v2/check", "")
		}), wantErr: ErrInvalidSignature},
		{name: "signed other params", give: withSig(signed{target: "/auth/v2/check?a=1", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "api.example.com", "/auth/v2/check", "a=2")), wantErr: ErrInvalidSignature},
		{name: "upper-case hex signature", give: func() (*http.Request, []byte) {
			r, b := atDate.build()
			sig := SignSHA512(testSKey, canonV2(testDate, "GET", "api.example.com", "/auth/v2/check", ""))
			r.Header.Set("Authorization", basic(v2IKey, strings.ToUpper(sig)))
			return r, b
		}, wantVersion: 2},

		// Versions and digests.
		{name: "v1 sha1 no date", give: signedWith(signed{method: "POST", ctype: "application/x-www-form-urlencoded", body: "user=alice&factor=auto"}, v1IKey, testSKey, 1, WithSHA1()),
			wantVersion: 1, wantParams: url.Values{"user": {"alice"}, "factor": {"auto"}}},
		{name: "v1 sha512 no date", give: signedWith(signed{}, v1IKey, testSKey, 1), wantVersion: 1},
		{name: "v1 with date, key allows v1", give: signedWith(atDate, v1IKey, testSKey, 1, WithSHA1()), wantVersion: 1},
		{name: "v1 key, v2 request", give: signedWith(atDate, v1IKey, testSKey, 2), wantVersion: 2},
		{name: "v2 sha1", give: signedWith(atDate, v2IKey, testSKey, 2, WithSHA1()), wantVersion: 2},
		{name: "v2 sha512", give: signedWith(atDate, v2IKey, testSKey, 2), wantVersion: 2},
		{name: "v2 X-Duo-Date (duo_unix)", give: signedWith(signed{}, v2IKey, testSKey, 2, WithXDuoDate(), WithNow(func() time.Time { return testNow })), wantVersion: 2},
		{name: "v4 json", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":"b"}`, header: dateHeader(testDate)}, v2IKey, testSKey, 4),
			wantVersion: 4, wantJSON: true, wantParams: url.Values{"a": {"b"}}},
		{name: "v5 get", give: signedWith(signed{target: "/admin/v1/users?limit=10", header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantVersion: 5, wantParams: url.Values{"limit": {"10"}}},
		{name: "v5 with x-duo headers", give: signedWith(signed{header: map[string]string{"X-Duo-Date": testDate, "X-Duo-Foo": "bar"}}, v2IKey, testSKey, 5), wantVersion: 5},
		{name: "v5 x-duo header added after signing", give: func() (*http.Request, []byte) {
			r, b := signedWith(atDate, v2IKey, testSKey, 5)()
			r.Header.Set("X-Duo-Extra", "1")
			return r, b
		}, wantErr: ErrInvalidSignature},
		{name: "v5 body changed after signing", give: func() (*http.Request, []byte) {
			r, _ := signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":"b"}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5)()
			return r, []byte(`{"a":"c"}`)
		}, wantErr: ErrInvalidSignature},

		// Hosts.
		{name: "host with port signed with port (go)", give: withSig(signed{host: "api.example.com:8443", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "api.example.com:8443", "/auth/v2/check", "")), wantVersion: 2},
		{name: "host with port signed without (python)", give: withSig(signed{host: "api.example.com:8443", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "api.example.com", "/auth/v2/check", "")), wantVersion: 2},
		{name: "host header upper case, signed lower", give: withSig(signed{host: "API.Example.com", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "api.example.com", "/auth/v2/check", "")), wantVersion: 2},
		{name: "host signed as configured (duo_unix)", give: withSig(signed{host: "API.Example.com:8443", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "API.Example.com", "/auth/v2/check", "")), wantVersion: 2},
		{name: "configured extra host", give: withSig(atDate, v2IKey, SignSHA512, v2(atDate, "api-proxy.example.com", "/auth/v2/check", "")), wantVersion: 2},
		{name: "other host", give: withSig(atDate, v2IKey, SignSHA512, v2(atDate, "evil.example.com", "/auth/v2/check", "")), wantErr: ErrInvalidSignature},
		{name: "ipv6 host", give: withSig(signed{host: "[::1]:8443", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "::1", "/auth/v2/check", "")), wantVersion: 2},

		// Paths.
		{name: "escaped path signed as sent", give: withSig(signed{target: "/a%2Fb", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "api.example.com", "/a%2Fb", "")), wantVersion: 2},
		{name: "escaped path signed decoded", give: withSig(signed{target: "/a%20b", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "api.example.com", "/a b", "")), wantVersion: 2},

		// Parameter orders of the different clients.
		{name: "duo_unix pair order", give: withSig(signed{method: "POST", ctype: "application/x-www-form-urlencoded", body: "foo=1&foo-bar=2", header: dateHeader(testDate)}, v2IKey, SignSHA512,
			v2(atDate, "api.example.com", "/auth/v2/check", "foo-bar=2&foo=1")), wantVersion: 2, wantParams: url.Values{"foo": {"1"}, "foo-bar": {"2"}}},
		{name: "python key order", give: withSig(signed{method: "POST", ctype: "application/x-www-form-urlencoded", body: "foo=1&foo-bar=2", header: dateHeader(testDate)}, v2IKey, SignSHA512,
			v2(atDate, "api.example.com", "/auth/v2/check", "foo=1&foo-bar=2")), wantVersion: 2, wantParams: url.Values{"foo": {"1"}, "foo-bar": {"2"}}},
		{name: "node wire value order", give: withSig(signed{target: "/x?k=b&k=a", header: dateHeader(testDate)}, v2IKey, SignSHA512,
			v2(atDate, "api.example.com", "/x", "k=b&k=a")), wantVersion: 2, wantParams: url.Values{"k": {"b", "a"}}},
		{name: "python sorted values, wire unsorted", give: withSig(signed{target: "/x?k=b&k=a", header: dateHeader(testDate)}, v2IKey, SignSHA512,
			v2(atDate, "api.example.com", "/x", "k=a&k=b")), wantVersion: 2, wantParams: url.Values{"k": {"b", "a"}}},
		{name: "go raw key order", give: withSig(signed{target: "/x?a-=1&a%2F=2", header: dateHeader(testDate)}, v2IKey, SignSHA512,
			v2(atDate, "api.example.com", "/x", "a-=1&a%2F=2")), wantVersion: 2, wantParams: url.Values{"a-": {"1"}, "a/": {"2"}}},

		// Parameters.
		{name: "form post", give: signedWith(signed{method: "POST", ctype: "application/x-www-form-urlencoded; charset=utf-8", body: "username=First+Last&factor=push&device=auto", header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantVersion: 2, wantParams: url.Values{"username": {"First Last"}, "factor": {"push"}, "device": {"auto"}}},
		{name: "query-only post (postman)", give: signedWith(signed{method: "POST", target: "/auth/v2/enroll_status?user_id=DU1&activation_code=abc", header: dateHeader(testDate)}, v2IKey, testSKey, 2, WithSHA1()),
			wantVersion: 2, wantParams: url.Values{"user_id": {"DU1"}, "activation_code": {"abc"}}},
		{name: "query and form together", give: signedWith(signed{method: "POST", target: "/x?a=1", ctype: "application/x-www-form-urlencoded", body: "b=2&a=3", header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantVersion: 2, wantParams: url.Values{"a": {"1", "3"}, "b": {"2"}}},
		{name: "form post signed v2 over query only", give: withSig(signed{method: "POST", target: "/x?a=1", ctype: "application/x-www-form-urlencoded", body: "b=2", header: dateHeader(testDate)}, v2IKey, SignSHA512,
			v2(atDate, "api.example.com", "/x", "a=1")), wantErr: ErrInvalidSignature},
		{name: "json post v5", give: signedWith(signed{method: "POST", target: "/auth/v2/auth?q=1", ctype: "application/json",
			body: `{"username":"alice","count":5,"ratio":1.50,"async":true,"remember":false,"ids":["a",2,false],"gone":null,"empty":[]}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantVersion: 5, wantJSON: true,
			wantParams: url.Values{"q": {"1"}, "username": {"alice"}, "count": {"5"}, "ratio": {"1.50"}, "async": {"true"}, "remember": {"false"}, "ids": {"a", "2", "false"}}},
		{name: "json charset", give: signedWith(signed{method: "POST", ctype: "Application/JSON; charset=UTF-8", body: `{"a":"b"}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantVersion: 5, wantJSON: true, wantParams: url.Values{"a": {"b"}}},
		{name: "json empty body", give: signedWith(signed{method: "POST", ctype: "application/json", header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantVersion: 5, wantJSON: true, wantParams: url.Values{}},
		{name: "json nested object", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":"b","info":{"x":1}}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantErr: BadParam("info")},
		{name: "json nested array", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"list":[[1]]}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantErr: BadParam("list")},
		{name: "json malformed", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantErr: BadParam("malformed JSON body")},
		{name: "json trailing data", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":"b"} {}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantErr: BadParam("malformed JSON body")},
		{name: "json array body", give: signedWith(signed{method: "POST", ctype: "application/json", body: `["a"]`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantErr: BadParam("JSON body must be an object")},
		{name: "json null body", give: signedWith(signed{method: "POST", ctype: "application/json", body: `null`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantErr: BadParam("JSON body must be an object")},
		{name: "malformed form, valid v5 signature", give: signedWith(signed{method: "POST", ctype: "application/x-www-form-urlencoded", body: "a=%zz", header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantErr: BadParam("malformed form body")},
		{name: "malformed json, bad signature", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":`, header: dateHeader(testDate)}, v2IKey, "wrong", 5),
			wantErr: ErrInvalidSignature},
		// Every parameter a handler sees is covered by the signature.
		{name: "v2 with json body", give: signedWith(signed{method: "POST", target: "/admin/v1/users/DU1?realname=x", ctype: "application/json", body: `{"status":"bypass"}`, header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantErr: unsignedBodyErr("a JSON body must be signed with a body-hashing signature (v5)")},
		{name: "v1 with json body", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"status":"bypass"}`}, v1IKey, testSKey, 1, WithSHA1()),
			wantErr: unsignedBodyErr("a JSON body must be signed with a body-hashing signature (v5)")},
		{name: "v2 with text body", give: signedWith(signed{method: "POST", ctype: "text/plain", body: "status=bypass", header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantErr: unsignedBodyErr("a body that is not a form must be signed with a body-hashing signature (v5)")},
		{name: "v2 with body and no content type", give: signedWith(signed{method: "POST", body: "status=bypass", header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantErr: unsignedBodyErr("a body that is not a form must be signed with a body-hashing signature (v5)")},
		{name: "v2 with json content type and no body", give: signedWith(signed{method: "POST", target: "/x?a=1", ctype: "application/json", header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantVersion: 2, wantJSON: true, wantParams: url.Values{"a": {"1"}}},
		{name: "v2 form mixed-case content type", give: signedWith(signed{method: "POST", ctype: "Application/X-WWW-Form-URLEncoded; Charset=UTF-8", body: "a=1", header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantVersion: 2, wantParams: url.Values{"a": {"1"}}},
		{name: "v5 form body", give: signedWith(signed{method: "POST", ctype: "application/x-www-form-urlencoded", body: "a=1", header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantVersion: 5, wantParams: url.Values{"a": {"1"}}},
		{name: "v5 text body is not read", give: signedWith(signed{method: "POST", target: "/x?a=1", ctype: "text/plain", body: "b=2", header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantVersion: 5, wantParams: url.Values{"a": {"1"}}},
		{name: "v5 json body re-sent as a form", give: func() (*http.Request, []byte) {
			r, b := signedWith(signed{method: "POST", ctype: "application/json", body: `{"notes":"&status=bypass&x="}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5)()
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r, b
		}, wantErr: BadParam("a form body must not hold JSON: send it as application/json")},
		{name: "v4 form body refused", give: signedWith(signed{method: "POST", ctype: "application/x-www-form-urlencoded", body: "a=1", header: dateHeader(testDate)}, v2IKey, testSKey, 4),
			wantErr: ErrInvalidSignature},

		// Size limits, before any HMAC: even a wrong signature learns 400.
		{name: "too many query params", give: signedWith(signed{target: "/x?" + strings.Repeat("a=1&", MaxParams+1), header: dateHeader(testDate)}, v2IKey, "wrong", 2),
			wantErr: BadParam("more than 300 parameters")},
		{name: "too many form params", give: signedWith(signed{method: "POST", target: "/x?b=1", ctype: "application/x-www-form-urlencoded", body: strings.Repeat("a=1&", MaxParams), header: dateHeader(testDate)}, v2IKey, "wrong", 2),
			wantErr: BadParam("more than 300 parameters")},
		{name: "max params", give: signedWith(signed{target: "/x?" + strings.Repeat("a=1&", MaxParams), header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantVersion: 2, wantParams: url.Values{"a": slices.Repeat([]string{"1"}, MaxParams)}},
		{name: "too many json values", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":[` + strings.Repeat("1,", MaxParams) + `1]}`, header: dateHeader(testDate)}, v2IKey, "wrong", 5),
			wantErr: BadParam("more than 300 parameters")},
		{name: "long parameter name", give: signedWith(signed{target: "/x?" + strings.Repeat("a", MaxParamNameBytes+1) + "=1", header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantErr: BadParam("parameter name longer than 128 bytes")},
		{name: "long query", give: signedWith(signed{target: "/x?a=" + strings.Repeat("b", MaxQueryBytes), header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantErr: BadParam("query string longer than 16384 bytes")},
		{name: "long signed params", give: signedWith(signed{method: "POST", ctype: "application/x-www-form-urlencoded", body: "a=" + strings.Repeat("+", MaxSignedParamBytes/3+1), header: dateHeader(testDate)}, v2IKey, testSKey, 2),
			wantErr: BadParam("request parameters longer than 65536 bytes once percent-encoded")},
		{name: "long json body", give: signedWith(signed{method: "POST", ctype: "application/json", body: `{"a":"` + strings.Repeat("+", MaxSignedParamBytes) + `"}`, header: dateHeader(testDate)}, v2IKey, testSKey, 5),
			wantVersion: 5, wantJSON: true, wantParams: url.Values{"a": {strings.Repeat("+", MaxSignedParamBytes)}}},

		{name: "malformed query, valid signature", give: withSig(signed{target: "/x?a=%zz", header: dateHeader(testDate)}, v2IKey, SignSHA512, v2(atDate, "api.example.com", "/x", "")),
			wantErr: BadParam("malformed query string")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.give()
			got, err := testVerifier().Verify(r, body)
			if tt.wantErr != nil {
				var gotErr *Error
				if !errors.As(err, &gotErr) {
					t.Fatalf("Verify() = %v, %v; want error %v", got, err, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
					t.Errorf("Verify() error mismatch (-want +got):\n%s", diff)
				}
				if got != nil {
					t.Errorf("Verify() = %+v with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify() = %v, want success", err)
			}
			wantParams := tt.wantParams
			if wantParams == nil {
				wantParams = url.Values{}
			}
			want := &Request{IKey: got.IKey, Params: wantParams, Version: tt.wantVersion, JSON: tt.wantJSON, Body: body}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Verify() mismatch (-want +got):\n%s", diff)
			}
			if _, sig, _ := parseAuthorization(r.Header.Get("Authorization")); got.IKey == "" || strings.Contains(got.IKey, sig) {
				t.Errorf("Verify() IKey = %q", got.IKey)
			}
		})
	}
}

func unsignedBodyErr(detail string) *Error {
	e := *ErrInvalidSignature
	e.Detail = detail
	return &e
}

// TestParamStrings checks that skipping the parameter orders that cannot
// differ loses none: paramStrings gives the distinct strings of all four.
func TestParamStrings(t *testing.T) {
	tests := []string{
		"", "a=1", "a=1&b=2", "b=2&a=1", "a=2&a=1", "a=1&a=2", "foo=1&foo-bar=2", "foo-bar=2&foo=1",
		"a-=1&a%2F=2", "k=b&k=a&k=c", "x=%20&x=+", "%C3%A9=1&e=2", "a=%C3%A9&a=z", "ab=1&a=2&a%20=3",
		"a=b&a.b=c&a_b=d&a~=e&A=f", "rep=z%20%C3%A9&k0=y&k0-=x&rep=w",
	}
	for _, give := range tests {
		q, err := url.ParseQuery(give)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, o := range []paramOrder{orderEncodedKey, orderRawKey, orderEncodedPair, orderRawKeyWireValues} {
			if s := canonParams(q, o); !slices.Contains(want, s) {
				want = append(want, s)
			}
		}
		got := paramStrings(q)
		if got[0] != want[0] || len(got) != len(want) || !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("paramStrings(%q) = %q, want %q", give, got, want)
		}
	}
}

func TestVerifyDuoHmacVectors(t *testing.T) {
	date, ok := ParseDate(hmacDate)
	if !ok {
		t.Fatalf("ParseDate(%q) failed", hmacDate)
	}
	v := NewVerifier(testLookup, func() time.Time { return date.Add(10 * time.Second) })
	for _, tt := range hmacVectors {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.request()
			r.Header.Set("Authorization", tt.want)
			got, err := v.Verify(r, body)
			if err != nil {
				t.Fatalf("Verify(%s) = %v, want success", tt.name, err)
			}
			if got.Version != 5 || got.IKey != hmacIKey {
				t.Errorf("Verify(%s) = version %d ikey %q, want 5 %q", tt.name, got.Version, got.IKey, hmacIKey)
			}
		})
	}
}

// TestVerifyPythonTestSign checks the duo_client_python TestSign vectors on
// the server side: a POST of the four unicode parameters as a form.
func TestVerifyPythonTestSign(t *testing.T) {
	date, _ := ParseDate(signDate)
	lookup := func(context.Context, string) (Key, error) { return Key{SKey: signSKey}, nil }
	v := NewVerifier(lookup, func() time.Time { return date })
	for _, sig := range []string{
		"f01811cbbf9561623ab45b893096267fd46a5178",
		"0508065035a03b2a1de2f453e629e791d180329e157f65df6b3e0f08299d4321e1c5c7a7c7ee6b9e5fc80d1fb6fbf3ad5eb7c44dd3b3985a02c37aca53ec3698",
	} {
		body := []byte(unicodeParams.Encode())
		r := httptest.NewRequest("POST", signPath, strings.NewReader(string(body)))
		r.Host = signHost
		r.Header.Set("Date", signDate)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", basic("test_ikey", sig))
		got, err := v.Verify(r, body)
		if err != nil {
			t.Fatalf("Verify(TestSign, %d hex) = %v, want success", len(sig), err)
		}
		if diff := cmp.Diff(unicodeParams, got.Params); diff != "" {
			t.Errorf("Verify(TestSign) params mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestVerifyInternalErrors(t *testing.T) {
	tests := []struct {
		name string
		v    *Verifier
		ikey string
	}{
		{"lookup fails", testVerifier(), brokenIKey},
		{"nil lookup", &Verifier{Now: time.Now}, v2IKey},
		{"nil now", &Verifier{Lookup: testLookup}, v2IKey},
		{"empty skey", NewVerifier(func(context.Context, string) (Key, error) { return Key{}, nil }, time.Now), v2IKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := signedWith(signed{header: dateHeader(testDate)}, tt.ikey, testSKey, 2)()
			_, err := tt.v.Verify(r, body)
			var e *Error
			if err == nil || errors.As(err, &e) {
				t.Fatalf("Verify() = %v, want a non-*Error error", err)
			}
			if strings.Contains(err.Error(), testSKey) {
				t.Errorf("Verify() error %q contains the skey", err)
			}
			rec := httptest.NewRecorder()
			WriteError(rec, err)
			if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "database") {
				t.Errorf("WriteError(%v) = %d %s, want a generic 500", err, rec.Code, rec.Body)
			}
		})
	}
}

func TestVerifyNilRequest(t *testing.T) {
	if _, err := testVerifier().Verify(nil, nil); !errors.Is(err, ErrMissingCredentials) {
		t.Errorf("Verify(nil) = %v, want %v", err, ErrMissingCredentials)
	}
	if _, err := testVerifier().Verify(&http.Request{Header: http.Header{}}, nil); !errors.Is(err, ErrMissingCredentials) {
		t.Errorf("Verify(no URL) = %v, want %v", err, ErrMissingCredentials)
	}
}

func TestVerifyCustomSkew(t *testing.T) {
	v := testVerifier()
	v.Skew = 10 * time.Second
	tests := []struct {
		give time.Duration
		want error
	}{
		{give: 10 * time.Second},
		{give: 11 * time.Second, want: ErrBadTimestamp},
		{give: -11 * time.Second, want: ErrBadTimestamp},
	}
	for _, tt := range tests {
		r, body := signedWith(signed{header: dateHeader(testNow.Add(tt.give).Format(time.RFC1123Z))}, v2IKey, testSKey, 2)()
		_, err := v.Verify(r, body)
		if !errors.Is(err, tt.want) && (err != nil || tt.want != nil) {
			t.Errorf("Verify(skew %v, window 10s) = %v, want %v", tt.give, err, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2012, 12, 7, 17, 18, 0, 0, time.UTC)
	tests := []struct {
		give string
		ok   bool
	}{
		{"Fri, 07 Dec 2012 17:18:00 -0000", true},
		{"Fri, 07 Dec 2012 17:18:00 +0000", true},
		{"Fri, 07 Dec 2012 17:18:00 GMT", true},
		{"Fri, 07 Dec 2012 12:18:00 -0500", true},
		{"Fri, 07 Dec 2012 18:18:00 +0100", true},
		{"07 Dec 2012 17:18:00 +0000", true},
		{"Fri, 7 Dec 2012 17:18:00 +0000", true},
		{"Friday, 07-Dec-12 17:18:00 GMT", true},
		{"Fri Dec  7 17:18:00 2012", true},
		{"", false},
		{"yesterday", false},
		{"Fri, 07 Dec 2012 17:18:00", false},
		{"Fri, 32 Dec 2012 17:18:00 +0000", false},
		{"1354900680", false},
		{strings.Repeat("Fri, 07 Dec 2012 17:18:00 +0000", 3), false},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.give)
		if ok != tt.ok || ok && !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %t; want %v, %t", tt.give, got, ok, want, tt.ok)
		}
	}
}

func TestKeyRedactsSKey(t *testing.T) {
	k := Key{SKey: testSKey, AllowV1: true}
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("key", "key", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("key", "key", k)
	outputs := []string{
		buf.String(),
		fmt.Sprint(k),
		fmt.Sprintf("%v %+v %s", k, k, k),
		fmt.Sprintf("%#v", k),
		fmt.Sprintf("%v", &k),
	}
	for _, out := range outputs {
		if strings.Contains(out, testSKey) {
			t.Errorf("Key output %q contains the skey", out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("Key output %q does not say REDACTED", out)
		}
	}
}
