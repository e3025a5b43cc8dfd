package api_test

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestHandleDecision: a route whose handler carries the claim in its own
// write (api.HandleDecision). The handler here "writes" by claiming the
// pending claim itself (as authflow's decision write does) when told to,
// then answers. A decided request sent again is refused 403/40301 by its
// write; one that wrote nothing (a 400) is claimed afterwards and refused
// all the same; a claimed request that answered 429 or 5xx is released and
// served again; a request with no claim (GET) gets none.
func TestHandleDecision(t *testing.T) {
	st := sqltest.NewStore(t, sqltest.SQLitePath(t))
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	if err := st.CreateIntegration(t.Context(), mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "t",
		Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	type step struct {
		write bool  // claim in the handler's "write"
		err   error // then answer this
	}
	var (
		script []step
		runs   atomic.Int64
	)
	s := &api.Surface{Name: "test", Allowed: func(mfa.IntegrationType) bool { return true }, Store: st,
		Now: time.Now, Logger: slog.New(slog.DiscardHandler), Signatures: st}
	h := s.HandleDecision(func(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
		runs.Add(1)
		st0 := script[0]
		script = script[1:]
		pc := api.ClaimOf(r.Context())
		if r.Method == http.MethodGet && pc != nil {
			t.Error("ClaimOf(GET) is not nil")
		}
		if st0.write && pc != nil {
			err := st.ClaimSignature(r.Context(), pc.Key, pc.Now, pc.Expires)
			if err != nil {
				return &mfa.Error{Kind: mfa.Conflict, Field: "signature", Msg: "request already used", Err: err}
			}
			pc.Claimed = true
		}
		if st0.err != nil {
			return st0.err
		}
		duoproto.WriteOK(w, "done")
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("POST /auth/v2/auth", h)
	mux.Handle("GET /auth/v2/auth", h)
	ts := certstest.StartTLS(t, mux)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.Pool}}
	t.Cleanup(tr.CloseIdleConnections)
	type sent struct {
		method string
		header http.Header
		body   string
	}
	send := func(m sent) (int, string) {
		t.Helper()
		req, err := http.NewRequest(m.method, "https://"+ts.Host+"/auth/v2/auth", strings.NewReader(m.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = m.header.Clone()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// signed signs a request whose body names the case, so that no two
	// cases sign alike within one second.
	signed := func(method, name string) sent {
		body := ""
		if method == http.MethodPost {
			body = "case=" + url.QueryEscape(name)
		}
		req, _ := http.NewRequest(method, "https://"+ts.Host+"/auth/v2/auth", strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if err := duoproto.SignRequest(req, ikey, skey, 2, []byte(body)); err != nil {
			t.Fatal(err)
		}
		return sent{method, req.Header, body}
	}
	tests := []struct {
		name           string
		first          step
		wantFirst      int
		second         step // the handler's answer when it runs again
		wantSecond     int
		wantSecondRuns int64
	}{
		{"decided", step{true, nil}, 200, step{true, nil}, 403, 2},
		{"decided deny", step{true, mfa.InvalidField("x", "bad")}, 400, step{true, nil}, 403, 2},
		{"nothing written", step{false, mfa.InvalidField("x", "bad")}, 400, step{true, nil}, 403, 2},
		{"rate limited after the write", step{true, mfa.RetryLater("slow down", time.Second)}, 429, step{true, nil}, 200, 2},
		{"unavailable after the write", step{true, mfa.Wrap(mfa.Unavailable, "db", errors.New("dial"))}, 503, step{true, nil}, 200, 2},
		{"unavailable before any write", step{false, mfa.Wrap(mfa.Unavailable, "db", errors.New("dial"))}, 503, step{true, nil}, 200, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs.Store(0)
			script = []step{tt.first, tt.second}
			req := signed(http.MethodPost, tt.name)
			if code, body := send(req); code != tt.wantFirst {
				t.Fatalf("first = %d %s, want %d", code, body, tt.wantFirst)
			}
			code, body := send(req)
			if code != tt.wantSecond || runs.Load() != tt.wantSecondRuns {
				t.Errorf("same request again = %d %s (runs %d), want %d (runs %d)", code, body, runs.Load(), tt.wantSecond, tt.wantSecondRuns)
			}
			if tt.wantSecond == 403 && !strings.Contains(body, `"code":40301`) {
				t.Errorf("replay answer = %s, want 40301", body)
			}
		})
	}
	t.Run("GET claims nothing", func(t *testing.T) {
		script = []step{{false, nil}, {false, nil}}
		req := signed(http.MethodGet, "")
		for i := range 2 {
			if code, body := send(req); code != 200 {
				t.Errorf("GET %d = %d %s, want 200", i, code, body)
			}
		}
	})
}
