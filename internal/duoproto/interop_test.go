package duoproto_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"
	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

const (
	interopIKey = "DIINTEROP00000000000"
	interopSKey = "interop-skey-0123456789abcdefghijklmnopq"
)

// echo is what the test server answers: what Verify saw.
type echo struct {
	Version int                 `json:"version"`
	JSON    bool                `json:"json"`
	Params  map[string][]string `json:"params"`
}

// newInteropServer starts a TLS server whose handler verifies every request
// with a Verifier and answers with WriteOK/WriteError, as the API packages
// will. /auth/v2/check answers like Duo ({"time": ...}); every other path
// echoes the verified request.
func newInteropServer(t *testing.T) *httptest.Server {
	t.Helper()
	lookup := func(_ context.Context, ikey string) (duoproto.Key, error) {
		if ikey != interopIKey {
			return duoproto.Key{}, fmt.Errorf("ikey %q: %w", ikey, duoproto.ErrUnknownKey)
		}
		return duoproto.Key{SKey: interopSKey}, nil
	}
	// The real client stamps requests with time.Now, so the server does too.
	v := duoproto.NewVerifier(lookup, time.Now)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			duoproto.WriteError(w, duoproto.BadParam("request body too large"))
			return
		}
		req, err := v.Verify(r, body)
		if err != nil {
			duoproto.WriteError(w, err)
			return
		}
		if r.URL.Path == "/auth/v2/check" {
			duoproto.WriteOK(w, map[string]int64{"time": time.Now().Unix()})
			return
		}
		duoproto.WriteOK(w, echo{Version: req.Version, JSON: req.JSON, Params: req.Params})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a duo_api_golang client for srv. host is the name the
// client signs and sends; when it is not the listener's address, the
// client's transport dials the listener anyway.
func newClient(srv *httptest.Server, host, skey string) *duoapi.DuoApi {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()
	return duoapi.NewDuoApi(interopIKey, skey, host, "twostep-test",
		duoapi.SetTimeout(10*time.Second),
		duoapi.SetProxy(nil),
		duoapi.SetTransport(func(tr *http.Transport) {
			tr.TLSClientConfig = &tls.Config{RootCAs: pool}
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
		}))
}

func TestInteropDuoAPIGolang(t *testing.T) {
	srv := newInteropServer(t)
	type call func(c *duoapi.DuoApi) (*http.Response, []byte, error)
	tests := []struct {
		name string
		host string // "" means the listener's 127.0.0.1:port
		give call
		want echo
	}{
		{
			name: "SignedCall GET no params",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.SignedCall("GET", "/auth/v2/ping2", nil, duoapi.UseTimeout)
			},
			want: echo{Version: 2, Params: map[string][]string{}},
		},
		{
			name: "SignedCall GET params",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.SignedCall("GET", "/admin/v1/users", url.Values{
					"username": {"First Last"}, "odd": {"a+b&c=d", "~x/y?"}, "ünï": {"çødé"},
				}, duoapi.UseTimeout)
			},
			want: echo{Version: 2, Params: map[string][]string{
				"username": {"First Last"}, "odd": {"a+b&c=d", "~x/y?"}, "ünï": {"çødé"},
			}},
		},
		{
			name: "SignedCall POST form",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.SignedCall("POST", "/auth/v2/preauth", url.Values{
					"username": {"alice smith"}, "ipaddr": {"192.0.2.1"},
				}, duoapi.UseTimeout)
			},
			want: echo{Version: 2, Params: map[string][]string{"username": {"alice smith"}, "ipaddr": {"192.0.2.1"}}},
		},
		{
			// Go signs with raw-key order; the encoded-key order differs.
			name: "SignedCall POST keys that sort differently encoded",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.SignedCall("POST", "/x", url.Values{"a-": {"1"}, "a/": {"2"}}, duoapi.UseTimeout)
			},
			want: echo{Version: 2, Params: map[string][]string{"a-": {"1"}, "a/": {"2"}}},
		},
		{
			name: "JSONSignedCall POST",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.JSONSignedCall("POST", "/auth/v2/enroll_status", duoapi.JSONParams{
					"user_id": "DU439XKOX2W6LMYHWLEV", "activation_code": "duo://x y", "count": 3, "ok": true,
				}, duoapi.UseTimeout)
			},
			want: echo{Version: 5, JSON: true, Params: map[string][]string{
				"user_id": {"DU439XKOX2W6LMYHWLEV"}, "activation_code": {"duo://x y"}, "count": {"3"}, "ok": {"true"},
			}},
		},
		{
			name: "JSONSignedCall GET",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.JSONSignedCall("GET", "/admin/v2/things", duoapi.JSONParams{"limit": "10", "q": "a b"}, duoapi.UseTimeout)
			},
			want: echo{Version: 5, Params: map[string][]string{"limit": {"10"}, "q": {"a b"}}},
		},
		{
			name: "JSONSignedCall DELETE",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.JSONSignedCall("DELETE", "/admin/v2/things/1", nil, duoapi.UseTimeout)
			},
			want: echo{Version: 5, Params: map[string][]string{}},
		},
		{
			name: "named host, mixed case, no port",
			host: "API-Test.Example.com",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.SignedCall("POST", "/auth/v2/auth", url.Values{"factor": {"push"}}, duoapi.UseTimeout)
			},
			want: echo{Version: 2, Params: map[string][]string{"factor": {"push"}}},
		},
		{
			name: "named host JSON",
			host: "api-test.example.com",
			give: func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
				return c.JSONSignedCall("PATCH", "/admin/v2/x", duoapi.JSONParams{"a": "b"}, duoapi.UseTimeout)
			},
			want: echo{Version: 5, JSON: true, Params: map[string][]string{"a": {"b"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.host
			if host == "" {
				host = srv.Listener.Addr().String()
			}
			resp, body, err := tt.give(newClient(srv, host, interopSKey))
			if err != nil {
				t.Fatalf("call = %v", err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, body %s; want 200", resp.StatusCode, body)
			}
			var got struct {
				Stat     string `json:"stat"`
				Response echo   `json:"response"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if got.Stat != "OK" {
				t.Errorf("stat = %q, want OK", got.Stat)
			}
			if diff := cmp.Diff(tt.want, got.Response); diff != "" {
				t.Errorf("verified request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInteropAuthAPICheck(t *testing.T) {
	srv := newInteropServer(t)
	api := authapi.NewAuthApi(*newClient(srv, srv.Listener.Addr().String(), interopSKey))
	res, err := api.Check()
	if err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if res.Stat != "OK" || res.Code != nil {
		t.Errorf("Check() = stat %q code %v, want OK and no code", res.Stat, res.Code)
	}
	if d := time.Since(time.Unix(res.Response.Time, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("Check().Response.Time = %d, %v from now", res.Response.Time, d)
	}
}

func TestInteropWrongSKey(t *testing.T) {
	srv := newInteropServer(t)
	calls := []struct {
		name string
		call func(c *duoapi.DuoApi) (*http.Response, []byte, error)
	}{
		{"SignedCall GET", func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
			return c.SignedCall("GET", "/auth/v2/check", nil, duoapi.UseTimeout)
		}},
		{"SignedCall POST", func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
			return c.SignedCall("POST", "/auth/v2/preauth", url.Values{"username": {"alice"}}, duoapi.UseTimeout)
		}},
		{"JSONSignedCall POST", func(c *duoapi.DuoApi) (*http.Response, []byte, error) {
			return c.JSONSignedCall("POST", "/auth/v2/enroll_status", duoapi.JSONParams{"user_id": "DU1"}, duoapi.UseTimeout)
		}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := tt.call(newClient(srv, srv.Listener.Addr().String(), "not-the-right-skey"))
			if err != nil {
				t.Fatalf("call = %v", err)
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", resp.StatusCode)
			}
			var res duoapi.StatResult
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			res.SyncCode()
			if res.Stat != "FAIL" || res.Code == nil || *res.Code != 40103 || res.Message == nil ||
				*res.Message != "Invalid signature in request credentials" {
				t.Errorf("body = %s, want FAIL 40103 Invalid signature in request credentials", body)
			}
		})
	}

	// And the typed client sees the code too.
	res, err := authapi.NewAuthApi(*newClient(srv, srv.Listener.Addr().String(), "wrong")).Check()
	if err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if res.Stat != "FAIL" || res.Code == nil || *res.Code != 40103 {
		t.Errorf("Check() with wrong skey = stat %q code %v, want FAIL 40103", res.Stat, res.Code)
	}
}
