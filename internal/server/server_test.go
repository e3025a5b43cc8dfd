package server_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// fixture is the real handler over real TLS with a store holding one Auth
// API integration, and a server clock offset from the real one.
type fixture struct {
	srv        *httptest.Server
	pool       *x509.CertPool
	host       string
	ikey, skey string
}

func newFixture(t *testing.T, clockOffset time.Duration) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	if err := st.CreateIntegration(t.Context(), mfa.Integration{
		IKey: ikey, SKey: mfa.Secret(skey), Name: "test", Type: mfa.IntegrationAuthAPI,
		EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Deps{
		Store:  st,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Now().Add(clockOffset) },
	})
	ts := certstest.StartTLS(t, h)
	return &fixture{srv: ts.Server, pool: ts.Pool, host: ts.Host, ikey: ikey, skey: skey}
}

func (f *fixture) check(t *testing.T, ikey, skey string) (string, int32) {
	t.Helper()
	api := duoapi.NewDuoApi(ikey, skey, f.host, "twostep-test",
		duoapi.SetTimeout(10*time.Second),
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = f.pool }))
	res, err := authapi.NewAuthApi(*api).Check()
	if err != nil {
		t.Fatalf("Check() error = %v", err)
	}
	var code int32
	if res.Code != nil {
		code = *res.Code
	}
	return res.Stat, code
}

func TestCheckWithDuoClient(t *testing.T) {
	tests := []struct {
		name     string
		offset   time.Duration
		wantStat string
		wantCode int32
	}{
		{"in sync", 0, "OK", 0},
		{"server 4 minutes ahead", 4 * time.Minute, "OK", 0},
		{"server 6 minutes ahead", 6 * time.Minute, "FAIL", 40105},
		{"server 6 minutes behind", -6 * time.Minute, "FAIL", 40105},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.offset)
			stat, code := f.check(t, f.ikey, f.skey)
			if stat != tt.wantStat || code != tt.wantCode {
				t.Errorf("Check() = %s %d, want %s %d", stat, code, tt.wantStat, tt.wantCode)
			}
		})
	}
}

func TestOperationalEndpoints(t *testing.T) {
	f := newFixture(t, 0)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}}
	tests := []struct {
		give       string
		wantStatus int
		wantBody   string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, `"status":"ready"`},
		{"/metrics", 404, `{"stat":"FAIL","code":40401,"message":"Resource not found"}`},
		{"/auth/v2/ping", 200, `"stat":"OK"`},
		{"/auth/v2/check", 401, `"code":40101`},
		{"/nope", 404, ""},
	}
	for _, tt := range tests {
		resp, err := c.Get("https://" + f.host + tt.give)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tt.give, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s has no X-Request-Id", tt.give)
		}
	}
}

func TestReadyzReportsDatabaseDown(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	h := server.New(server.Deps{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now})
	st.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "unavailable") {
		t.Errorf("GET /readyz with a closed database = %d %q, want 503 unavailable", rec.Code, rec.Body)
	}
}

func TestPanicBecomes500(t *testing.T) {
	// A handler panic must answer 500 in Duo's envelope and keep serving.
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	h := server.New(server.Deps{Store: panicStore{st}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "50000") {
		t.Errorf("panicking handler = %d %q, want 500 with code 50000", rec.Code, rec.Body)
	}
}

type panicStore struct{ mfa.Store }

func (panicStore) Ping(context.Context) error { panic("boom") }
