package duoproto

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzVerify feeds Verify arbitrary requests. It must never panic, and
// whatever it returns must be writable as a Duo response.
func FuzzVerify(f *testing.F) {
	for _, v := range hmacVectors {
		f.Add(v.method, hmacPath, v.query, hmacHost, v.want, "", hmacDate, "", "application/json", v.body, "")
	}
	f.Add("POST", "/auth/v2/auth", "a=1&b=%zz;c", "api.example.com:443", "", strings.Repeat("a", 40), testDate, "", "application/x-www-form-urlencoded", "user=alice&%zz", "")
	f.Add("GET", "/", "", "[::1]:8443", "Basic "+strings.Repeat("=", 9), "", "", testDate, "", "", "x")
	f.Add("POST", "/x", "", "", "", strings.Repeat("f", 128), "Fri, 02 Jan 2026 15:04:05 GMT", "", "application/json; charset=utf-8", `{"a":[1,{"b":2}],"c":null}`, "v")
	f.Add("PUT", "/x", "", "H", "basic  Zm9vOmJhcg==", "", "Mon, 99 Foo 9999 99:99:99 +9999", "", "application/json", `[`, "")
	f.Add("DELETE", "/x", "", "h", "", strings.Repeat("0", 40), "", "", "multipart/form-data; boundary=\"", "\xff\xfe", "\x00")

	v := testVerifier()
	f.Fuzz(func(t *testing.T, method, path, rawQuery, host, authz, sig, date, xDuoDate, contentType, body, xDuoFoo string) {
		if authz == "" {
			// Most inputs should get past the credentials check.
			ikey := v2IKey
			if len(sig)%2 == 1 {
				ikey = v1IKey
			}
			authz = basic(ikey, sig)
		}
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: path, RawQuery: rawQuery},
			Host:   host,
			Header: http.Header{},
		}
		r = r.WithContext(t.Context())
		for k, val := range map[string]string{
			"Authorization": authz, "Date": date, "X-Duo-Date": xDuoDate,
			"Content-Type": contentType, "X-Duo-Foo": xDuoFoo,
		} {
			if val != "" {
				r.Header[k] = []string{val}
			}
		}

		got, err := v.Verify(r, []byte(body))
		rec := httptest.NewRecorder()
		if err != nil {
			if got != nil {
				t.Fatalf("Verify() = %+v and %v", got, err)
			}
			var e *Error
			if errors.As(err, &e) {
				if _, ok := e.httpStatus(); !ok {
					t.Fatalf("Verify() error %v has an invalid code", e)
				}
			}
			WriteError(rec, err)
			if rec.Code < 400 {
				t.Fatalf("WriteError(%v) status %d", err, rec.Code)
			}
			return
		}
		if got == nil || got.Params == nil || got.Version == 0 {
			t.Fatalf("Verify() = %+v, nil", got)
		}
		WriteOK(rec, got.Params)
	})
}

// FuzzSignVerifyRoundTrip checks that whatever SignRequest signs, Verify
// accepts with the same version and parameters.
func FuzzSignVerifyRoundTrip(f *testing.F) {
	f.Add(uint8(0), uint8(2), "/auth/v2/preauth", "username", "First Last", "foo-bar", "~x", true, false)
	f.Add(uint8(1), uint8(5), "/admin/v1/users", "a/", "1", "a-", "2", false, true)
	f.Add(uint8(2), uint8(1), "/a%2Fb", "", "", "\xff", "é", true, true)
	f.Add(uint8(3), uint8(4), "/", "k", "v", "k", "w", false, false)

	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	versions := []int{1, 2, 4, 5}
	v := testVerifier()
	f.Fuzz(func(t *testing.T, m, ver uint8, path, k1, v1, k2, v2 string, inBody, sha1 bool) {
		method := methods[int(m)%len(methods)]
		version := versions[int(ver)%len(versions)]
		ikey := v2IKey
		if version == 1 {
			ikey = v1IKey
		}
		params := url.Values{}
		params.Add(k1, v1)
		params.Add(k2, v2)

		r := &http.Request{Method: method, URL: &url.URL{Path: path}, Host: "api.example.com", Header: http.Header{}}
		var body []byte
		switch {
		case inBody && version <= 2:
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			body = []byte(params.Encode())
		case inBody:
			r.Header.Set("Content-Type", "application/json")
			obj := map[string]string{k1: v1, k2: v2}
			body, _ = json.Marshal(obj)
		default:
			r.URL.RawQuery = params.Encode()
		}
		var opts []SignOption
		if sha1 && version <= 2 {
			opts = append(opts, WithSHA1())
		}
		opts = append(opts, WithNow(func() time.Time { return testNow }))
		if err := SignRequest(r, ikey, testSKey, version, body, opts...); err != nil {
			t.Fatalf("SignRequest() = %v", err)
		}

		got, err := v.Verify(r, body)
		if err != nil {
			t.Fatalf("Verify(signed v%d %s %q) = %v", version, method, path, err)
		}
		if got.Version != version {
			t.Errorf("Verify() version = %d, want %d", got.Version, version)
		}
		if !(inBody && version > 2) { // JSON rewrites invalid UTF-8 and merges keys
			want := params
			for _, vs := range want {
				slices.Sort(vs)
			}
			for _, vs := range got.Params {
				slices.Sort(vs)
			}
			if diff := cmp.Diff(want, got.Params); diff != "" {
				t.Errorf("Verify() params mismatch (-want +got):\n%s", diff)
			}
		}
	})
}

// FuzzCanonParams checks CanonParams on arbitrary keys and values: only
// unreserved bytes, %XX, = and & appear; the pairs decode back to the input;
// the order of insertion does not matter; every client order holds the same
// pairs.
func FuzzCanonParams(f *testing.F) {
	f.Add("realname", "First Last", "username", "root", "foo_bar")
	f.Add("foo", "1", "foo-bar", "2", "a/")
	f.Add("", "", "=", "&", "%")
	f.Add("\xff", "\x00", "é", "~", " ")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3 string) {
		a := url.Values{}
		a.Add(k1, v1)
		a.Add(k2, v2)
		a.Add(k3, v1)
		a.Add(k1, v2)
		b := url.Values{}
		b.Add(k1, v2)
		b.Add(k3, v1)
		b.Add(k2, v2)
		b.Add(k1, v1)

		got := CanonParams(a)
		if other := CanonParams(b); other != got {
			t.Fatalf("CanonParams depends on insertion order: %q vs %q", got, other)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; !unreserved(c) && !strings.ContainsRune("%=&", rune(c)) {
				t.Fatalf("CanonParams(%v) = %q holds %q", a, got, c)
			}
		}
		wantPairs := decodePairs(t, CanonParams(a))
		var inPairs []string
		for k, vs := range a {
			for _, v := range vs {
				inPairs = append(inPairs, k+"\x00"+v)
			}
		}
		slices.Sort(inPairs)
		if diff := cmp.Diff(inPairs, wantPairs); diff != "" {
			t.Fatalf("CanonParams(%v) does not decode back (-in +decoded):\n%s", a, diff)
		}
		for _, o := range []paramOrder{orderRawKey, orderEncodedPair, orderRawKeyWireValues} {
			if diff := cmp.Diff(wantPairs, decodePairs(t, canonParams(a, o))); diff != "" {
				t.Fatalf("canonParams(order %d) holds other pairs (-want +got):\n%s", o, diff)
			}
		}
	})
}

// decodePairs splits a canonical parameter string into sorted "k\x00v".
func decodePairs(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	if s == "" {
		return out
	}
	for _, p := range strings.Split(s, "&") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Fatalf("pair %q has no =", p)
		}
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			t.Fatalf("pair %q does not unescape: %v %v", p, err1, err2)
		}
		out = append(out, dk+"\x00"+dv)
	}
	slices.Sort(out)
	return out
}
