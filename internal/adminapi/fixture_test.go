package adminapi_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	duoadmin "github.com/duosecurity/duo_api_golang/admin"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/adminapi"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// fixture is the real Admin API handler over real TLS on a fresh store.
type fixture struct {
	t     *testing.T
	Store *sqlstore.Store
	Svc   *admin.Service
	srv   *httptest.Server
	pool  *x509.CertPool
	Host  string
	// Key is an Admin API integration with every permission.
	Key mfa.Integration
}

// newFixture starts the Admin API on SQLite, or on PostgreSQL when dsn is
// a postgres DSN (from sqltest.PostgresDSN).
func newFixture(t *testing.T, dsn ...string) *fixture {
	t.Helper()
	d := filepath.Join(t.TempDir(), "twostep.db")
	if len(dsn) > 0 {
		d = dsn[0]
	}
	st := sqltest.NewStore(t, d)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := admin.New(st, time.Now, rand.Reader, log)
	surface := &api.Surface{Store: st, Now: time.Now, Logger: log}
	mux := http.NewServeMux()
	adminapi.New(adminapi.Deps{Surface: surface, Service: svc, Now: time.Now}).Register(mux)

	ts := certstest.StartTLS(t, mux)
	srv, pool := ts.Server, ts.Pool
	f := &fixture{t: t, Store: st, Svc: svc, srv: srv, pool: pool,
		Host: ts.Host}
	f.Key = f.Integration(mfa.IntegrationAdminAPI, mfa.AllAdminPermissions())
	return f
}

// Integration stores a new integration of typ with perms.
func (f *fixture) Integration(typ mfa.IntegrationType, perms mfa.AdminPermissions) mfa.Integration {
	f.t.Helper()
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 40)
	in := mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "test " + string(typ), Type: typ,
		Permissions: perms, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}
	if err := f.Store.CreateIntegration(f.t.Context(), in); err != nil {
		f.t.Fatal(err)
	}
	return in
}

// Duo is Duo's own Admin API client signed with in's keys.
func (f *fixture) Duo(in mfa.Integration) *duoadmin.Client {
	api := duoapi.NewDuoApi(in.IKey, string(in.SKey.Reveal()), f.Host, "twostep-test",
		duoapi.SetTimeout(10*time.Second),
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = f.pool }))
	return duoadmin.New(*api)
}

// Response is a decoded Duo envelope.
type Response struct {
	Status        int
	Stat          string          `json:"stat"`
	Code          int             `json:"code"`
	Message       string          `json:"message"`
	MessageDetail string          `json:"message_detail"`
	Response      json.RawMessage `json:"response"`
	Metadata      json.RawMessage `json:"metadata"`
}

// Raw sends a v2-signed request with in's keys (a form body, signed, for
// POST and PUT; the query string otherwise) and returns the status and body.
func (f *fixture) Raw(in mfa.Integration, method, path string, params url.Values) (int, []byte) {
	f.t.Helper()
	target := "https://" + f.Host + path
	var body []byte
	if method == http.MethodPost || method == http.MethodPut {
		body = []byte(params.Encode())
	} else if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if err := duoproto.SignRequest(req, in.IKey, string(in.SKey.Reveal()), 2, body); err != nil {
		f.t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// Call is Raw decoding Duo's envelope.
func (f *fixture) Call(in mfa.Integration, method, path string, params url.Values) Response {
	f.t.Helper()
	status, raw := f.Raw(in, method, path, params)
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		f.t.Fatalf("%s %s: body %q is not a Duo envelope: %v", method, path, raw, err)
	}
	r.Status = status
	return r
}

// OK fails the test unless r is a success, and decodes its response into v.
func (f *fixture) OK(r Response, v any) {
	f.t.Helper()
	if r.Stat != "OK" || r.Status != 200 {
		f.t.Fatalf("response = %d %s %d %s %q, want OK", r.Status, r.Stat, r.Code, r.Message, r.MessageDetail)
	}
	if v != nil {
		if err := json.Unmarshal(r.Response, v); err != nil {
			f.t.Fatalf("decode response %s: %v", r.Response, err)
		}
	}
}
