package duoproto

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignKnownAnswers(t *testing.T) {
	canon := CanonV2(signDate, signMethod, signHost, signPath, unicodeParams)
	tests := []struct {
		name string
		sign func(skey, canon string) string
		want string
	}{
		// duo_client_python TestSign.test_hmac_sha1
		{"sha1", SignSHA1, "f01811cbbf9561623ab45b893096267fd46a5178"},
		// duo_client_python TestSign.test_hmac_sha512
		{"sha512", SignSHA512, "0508065035a03b2a1de2f453e629e791d180329e157f65df6b3e0f08299d4321e1c5c7a7c7ee6b9e5fc80d1fb6fbf3ad5eb7c44dd3b3985a02c37aca53ec3698"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sign(signSKey, canon); got != tt.want {
				t.Errorf("Sign(skey, TestSign canon) = %s, want %s", got, tt.want)
			}
		})
	}
}

// hmacVector is one request of duo_hmac_python test/test_hmac.py, whose
// expected Authorization headers were computed with duo_client_python.
type hmacVector struct {
	name    string
	method  string
	query   string
	body    string
	headers map[string]string
	want    string
}

const (
	hmacIKey = "DIABCDEFGHIJKLMNOPQR"
	hmacSKey = "testtesttesttesttesttesttesttesttesttest"
	hmacHost = "api-xxxxxxxx.duosecurity.com"
	hmacPath = "/api/path"
	hmacDate = "Fri, 24 May 2024 12:00:00 -0000"
)

var hmacVectors = []hmacVector{
	{
		name: "get no params no headers", method: "GET",
		want: "Basic RElBQkNERUZHSElKS0xNTk9QUVI6YzQ1NDYzOWQ3NWI0ZTNkOTliOGIxZDVlNDFjZDdiYjJkMmQ4YmE1NWY2ODExZjc4NmRmYjBlZGQ0ZmFjZDJmM2E1ZTZkNmM4MzdmMzFmNjgyNjcwNjMyNWI0ZWQ3ZGNkYzVmMTExNjQ5NDhlNTdhNzAzMmE1MjQ5OTBlMDE1ODM=",
	},
	{
		name: "post no params no headers", method: "POST", body: "{}",
		want: "Basic RElBQkNERUZHSElKS0xNTk9QUVI6MTJhMDVkNzgzYjJlNThlMzZmMzdkZjhhNjkwNzgzNTQ5NmZiZTIwZmIzZDA0YjE1MDM2YzgyYjE2OTRmYzU4ZDFjMDQ1MWI5MzdmYjliYTZlN2MyYjQ0ZDg5YjQ3M2FmNzA4MTY2MTgzZDIxNmFlYTEzZTUyNzQyYTU3ZjIzOWY=",
	},
	{
		name: "get one param no headers", method: "GET", query: "foo=bar",
		want: "Basic RElBQkNERUZHSElKS0xNTk9QUVI6ODhmZTgwZjNiMjQyYjk5MmY0YjMwMTQwOGQ1MjRhODg2Mjc0ZDNlZDBjNGM3YmQxODRlMWI0ZmYzNzhlNjhlYTA1ZDk0MzNjMDk5MzgwNzhjNDk1MTdhNmM0MjY0Yzk1MGJlOWZmNWNjMjhhZDJkNDQ4Y2VhMjRiYzkzODg3Y2E=",
	},
	{
		name: "post one param no headers", method: "POST", body: `{"foo":"bar"}`,
		want: "Basic RElBQkNERUZHSElKS0xNTk9QUVI6NjQzNzcwYWYzMTAwNmM1ODRhNzU4ZDkyNjI1MGU0NmE5MGQ3OTEwMGQyMWY3YTAzMTNjM2U3N2Q2NGZhM2M1ZDJjOTRlMmM5MDgxYTJiNjUzNDNjYzNkNWYyZWQyMWY3MzAwZWE1MGIwMDY0MGNiMTc2MGYzMjMxOTIzMDdkMzc=",
	},
	{
		name: "get multi param multi headers", method: "GET", query: "foo=bar&one=1&bool=true",
		headers: map[string]string{"x-duo-foo": "bar", "x-duo-bar": "foo", "non-duo-bar": "duo"},
		want:    "Basic RElBQkNERUZHSElKS0xNTk9QUVI6ZDQ2NTU2NzI2ODAwNDE1ZGM3OGNlZmMzZmI0ZTExZGNmM2VlMTM0MjkwNGYyNzZlZDVjOGUzNDI3ODc4YmQ1Mzc2ZWE2YzU1NTFiOTBiZjcwN2ZhYjUzZjZmMWQyMGExMTQ4OTg4OTg3MDVkMjgyNjg4MjRlZGQwYmU1ZjFkNTM=",
	},
	{
		name: "post multi params multi headers", method: "POST", body: `{"bool":"true","foo":"bar","one":"1"}`,
		headers: map[string]string{"x-duo-foo": "bar", "x-duo-bar": "foo", "non-duo-bar": "duo"},
		want:    "Basic RElBQkNERUZHSElKS0xNTk9QUVI6ZGVmN2I3MzU5YjAzOTk1NDNiNjFkM2QxYTQyNTJjMTkwOGViNDg2MDM5MTY4YWE3ZDFjOTM1NDVmMDUyZTEyMTA2MmU0ZDBkM2NhZTgwZjBmMTI1ZGM0OTdjNDNjNTNiNjJjOWRiNThjYWNkMjEzOTRhM2IxN2FkOTcyZTM3OTM=",
	},
}

// request builds the server-side request of v as Go's server would see it.
func (v hmacVector) request() (*http.Request, []byte) {
	target := "https://" + hmacHost + hmacPath
	if v.query != "" {
		target += "?" + v.query
	}
	var body []byte
	if v.body != "" {
		body = []byte(v.body)
	}
	r := httptest.NewRequest(v.method, target, strings.NewReader(v.body))
	r.Header.Set("X-Duo-Date", hmacDate)
	for k, val := range v.headers {
		r.Header.Set(k, val)
	}
	if v.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r, body
}

func TestSignRequestDuoHmacVectors(t *testing.T) {
	for _, tt := range hmacVectors {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.request()
			r.Header.Del("Authorization")
			if err := SignRequest(r, hmacIKey, hmacSKey, 5, body); err != nil {
				t.Fatalf("SignRequest() = %v", err)
			}
			if got := r.Header.Get("Authorization"); got != tt.want {
				t.Errorf("SignRequest(%s) Authorization = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

func TestSignRequestGoVectors(t *testing.T) {
	const (
		ikey = "DIWJ8X6AEYOR5OMC6TQ1"
		skey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
		date = "Tue, 21 Aug 2012 17:29:18 -0000"
	)
	tests := []struct {
		name    string
		version int
		target  string
		ctype   string
		body    string
		want    string
	}{
		{
			// duo_api_golang TestSign: the example in Duo's Auth API docs.
			name: "v2 form post", version: 2,
			target: "https://api-XXXXXXXX.duosecurity.com/accounts/v1/account/list",
			ctype:  "application/x-www-form-urlencoded", body: "realname=First+Last&username=root",
			want: "Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6MWJmZmI4OTI0MzQ4ZjdkYjdkYTllN2Q3ZDc0OWRlZDkzYWFmZDAyZDhlOTA0OTYwZGE3Yjk2YzU3NTEwMjIwMTg1YTY0YTI4MjdlZThmMjRhYzVkMzA4MDJhOWVlOTdlNTlkZTQ0YjMwNGIxODI0MmYwZDU5NmQxNWE4MTIyYWY=",
		},
		{
			// duo_api_golang TestSignV5.
			name: "v5 json post", version: 5,
			target: "https://api-XXXXXXXX.duosecurity.com/accounts/v1/account/list?realname=First+Last",
			ctype:  "application/json", body: `{"txid":"f22b1678-252a-4070-b176-0ca2be7319fd"}`,
			want: "Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6NzhmNDMyN2Y4MzExNzNjYzc4ZDA5MDdlOTEzZTNjNWEyOGZlNzJkZDQ1NDVhMzQyNTg2YmI2NzE4MWYyYmEzOTNkMjA5MTFlODcwMzYyZjZmYWJhM2RjNmY3ZTlkYjVlOTNhZWQyZjNiZmMxMTBjNmRhZGFmZjRkYzYxNzllMGI=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodPost, tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Date", date)
			r.Header.Set("Content-Type", tt.ctype)
			if err := SignRequest(r, ikey, skey, tt.version, []byte(tt.body)); err != nil {
				t.Fatalf("SignRequest() = %v", err)
			}
			if got := r.Header.Get("Authorization"); got != tt.want {
				t.Errorf("SignRequest(%s) Authorization = %s, want %s", tt.name, got, tt.want)
			}
			got, err := io.ReadAll(r.Body)
			if err != nil || string(got) != tt.body {
				t.Errorf("SignRequest(%s) body = %q, %v; want %q", tt.name, got, err, tt.body)
			}
			if r.ContentLength != int64(len(tt.body)) {
				t.Errorf("SignRequest(%s) ContentLength = %d, want %d", tt.name, r.ContentLength, len(tt.body))
			}
		})
	}
}

func TestSignRequestHeaders(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	clock := func() time.Time { return now }
	tests := []struct {
		name       string
		version    int
		opts       []SignOption
		preset     map[string]string
		wantDate   string
		wantXDate  string
		wantSigLen int
	}{
		{name: "v1 sets no date", version: 1, wantSigLen: 128},
		{name: "v1 sha1", version: 1, opts: []SignOption{WithSHA1()}, wantSigLen: 40},
		{name: "v2 sets Date in UTC", version: 2, opts: []SignOption{WithNow(clock)}, wantDate: "Wed, 04 Mar 2026 04:06:07 +0000", wantSigLen: 128},
		{name: "v2 sha1", version: 2, opts: []SignOption{WithNow(clock), WithSHA1()}, wantDate: "Wed, 04 Mar 2026 04:06:07 +0000", wantSigLen: 40},
		{name: "v5 X-Duo-Date", version: 5, opts: []SignOption{WithNow(clock), WithXDuoDate()}, wantXDate: "Wed, 04 Mar 2026 04:06:07 +0000", wantSigLen: 128},
		{name: "preset Date kept", version: 2, preset: map[string]string{"Date": "Tue, 04 Mar 2026 05:06:07 GMT"}, wantDate: "Tue, 04 Mar 2026 05:06:07 GMT", wantSigLen: 128},
		{name: "preset X-Duo-Date kept", version: 5, opts: []SignOption{WithNow(clock)}, preset: map[string]string{"X-Duo-Date": "x"}, wantXDate: "x", wantSigLen: 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "https://example.com/auth/v2/check", nil)
			for k, v := range tt.preset {
				r.Header.Set(k, v)
			}
			if err := SignRequest(r, "DIKEY", "secret", tt.version, nil, tt.opts...); err != nil {
				t.Fatalf("SignRequest() = %v", err)
			}
			if got := r.Header.Get("Date"); got != tt.wantDate {
				t.Errorf("Date = %q, want %q", got, tt.wantDate)
			}
			if got := r.Header.Get("X-Duo-Date"); got != tt.wantXDate {
				t.Errorf("X-Duo-Date = %q, want %q", got, tt.wantXDate)
			}
			ikey, sig, ok := parseAuthorization(r.Header.Get("Authorization"))
			if !ok || ikey != "DIKEY" || len(sig) != tt.wantSigLen {
				t.Errorf("Authorization = %q: ikey %q, sig length %d; want DIKEY and %d", r.Header.Get("Authorization"), ikey, len(sig), tt.wantSigLen)
			}
		})
	}
}

func TestSignRequestErrors(t *testing.T) {
	const skey = "do-not-leak-this-skey"
	tests := []struct {
		name    string
		req     *http.Request
		version int
		opts    []SignOption
	}{
		{name: "nil request", req: nil, version: 2},
		{name: "version 3", req: httptest.NewRequest("GET", "/", nil), version: 3},
		{name: "version 0", req: httptest.NewRequest("GET", "/", nil), version: 0},
		{name: "sha1 with v5", req: httptest.NewRequest("GET", "/", nil), version: 5, opts: []SignOption{WithSHA1()}},
		{name: "sha1 with v4", req: httptest.NewRequest("GET", "/", nil), version: 4, opts: []SignOption{WithSHA1()}},
		{name: "bad query", req: &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: "a=%zz"}, Header: http.Header{}}, version: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SignRequest(tt.req, "DIKEY", skey, tt.version, nil, tt.opts...)
			if err == nil {
				t.Fatalf("SignRequest(%s) = nil, want an error", tt.name)
			}
			if strings.Contains(err.Error(), skey) {
				t.Errorf("SignRequest(%s) error %q contains the skey", tt.name, err)
			}
		})
	}
}

func TestSignRequestAuthorizationFormat(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/x", nil)
	if err := SignRequest(r, "DIKEY", "s", 1, nil, WithSHA1()); err != nil {
		t.Fatal(err)
	}
	want := "DIKEY:" + SignSHA1("s", "GET\nexample.com\n/x\n")
	got, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Authorization"), "Basic "))
	if err != nil || string(got) != want {
		t.Errorf("Authorization decodes to %q, %v; want %q", got, err, want)
	}
}
