package server_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// The server slows down a source that keeps failing signature checks:
// after api.DefaultFailureLimit.Burst failures, 429 with Retry-After, even
// for a good signature. (The Admin API copies the same Surface, limiter
// included.)
func TestRepeatedBadSignaturesGet429(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	if err := st.CreateIntegration(t.Context(), mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "test",
		Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now() // the server's clock stands still: no failure is forgiven
	h := server.New(server.Deps{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }})
	ts := certstest.StartTLS(t, h)
	call := func(path, key string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+ts.Host+path, nil)
		if err := duoproto.SignRequest(req, ikey, key, 2, nil, duoproto.WithNow(func() time.Time { return now })); err != nil {
			t.Fatal(err)
		}
		resp, err := ts.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i := range api.DefaultFailureLimit.Burst {
		if resp := call("/auth/v2/check", "wrong"); resp.StatusCode != 401 {
			t.Fatalf("bad signature %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := call("/auth/v2/check", skey); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("good signature after %d failures = %d Retry-After %q, want 429 Retry-After 2",
			api.DefaultFailureLimit.Burst, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
