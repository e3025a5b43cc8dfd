package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// replayFixture is a Surface over a real store (integrations and used
// signatures) serving DELETE /admin/v1/things/{id} over real TLS. The
// handler answers, in turn, the errors in script (nil: 200 OK) and counts
// its runs.
type replayFixture struct {
	ts         *certstest.Server
	tr         *http.Transport // trusts ts
	ikey, skey string
	runs       atomic.Int64
	mu         sync.Mutex
	script     []error
	sent       []*http.Request // every request the Duo client sent, as sent
	sentBodies [][]byte
}

func newReplayFixture(t *testing.T, st *sqlstore.Store, typ mfa.IntegrationType, v1 bool) *replayFixture {
	t.Helper()
	f := &replayFixture{}
	f.ikey, _ = mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	f.skey, _ = mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	if err := st.CreateIntegration(t.Context(), mfa.Integration{IKey: f.ikey, SKey: mfa.Secret(f.skey), Name: "t",
		Type: typ, AllowV1Signatures: v1, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := &api.Surface{Name: "test", Allowed: func(mfa.IntegrationType) bool { return true }, Store: st,
		Now: time.Now, Logger: slog.New(slog.DiscardHandler), Signatures: st}
	h := s.Handle(func(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
		f.runs.Add(1)
		f.mu.Lock()
		var err error
		if len(f.script) > 0 {
			err, f.script = f.script[0], f.script[1:]
		}
		f.mu.Unlock()
		if err != nil {
			return err
		}
		duoproto.WriteOK(w, "done")
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("DELETE /admin/v1/things/{id}", h)
	mux.Handle("POST /rest/v1/preauth.json", h)
	f.ts = certstest.StartTLS(t, mux)
	f.tr = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.ts.Pool}}
	t.Cleanup(f.tr.CloseIdleConnections)
	return f
}

// RoundTrip records what the Duo client sends.
func (f *replayFixture) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	f.mu.Lock()
	f.sent = append(f.sent, r.Clone(r.Context()))
	f.sentBodies = append(f.sentBodies, body)
	f.mu.Unlock()
	return f.tr.RoundTrip(r)
}

// duo is Duo's Go client for the fixture, with its transport recording.
func (f *replayFixture) duo() *duoapi.DuoApi {
	c := duoapi.NewDuoApi(f.ikey, f.skey, f.ts.Host, "twostep-test")
	c.SetCustomHTTPClient(&http.Client{Timeout: time.Minute, Transport: f})
	return c
}

// resend sends the i-th recorded request again, byte for byte.
func (f *replayFixture) resend(t *testing.T, i int) (int, string) {
	t.Helper()
	f.mu.Lock()
	old, body := f.sent[i], f.sentBodies[i]
	f.mu.Unlock()
	req, err := http.NewRequest(old.Method, old.URL.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = old.Header.Clone()
	resp, err := f.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRetryAfter429WithDuoClient: Duo's Go client re-sends the same signed
// request after a 429. A 429 (and a 5xx) does no work, so the claim on the
// signature is released and the retry is served; once served, the same
// request is a replay.
func TestRetryAfter429WithDuoClient(t *testing.T) {
	st := sqltest.NewStore(t, sqltest.SQLitePath(t))
	f := newReplayFixture(t, st, mfa.IntegrationAdminAPI, false)
	f.script = []error{mfa.RetryLater("slow down", time.Second)}
	resp, body, err := f.duo().SignedCall(http.MethodDelete, "/admin/v1/things/1", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE after a 429 = %v %s, %v; want 200 on the client's own retry", resp, body, err)
	}
	if len(f.sent) != 2 || f.sent[0].Header.Get("Authorization") != f.sent[1].Header.Get("Authorization") {
		t.Fatalf("the client sent %d requests, want 2 with one signature (the 429, then its retry)", len(f.sent))
	}
	if n := f.runs.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2 (the 429 and the retry)", n)
	}
	if code, body := f.resend(t, 1); code != 403 || !strings.Contains(body, `"code":40301`) || !strings.Contains(body, "already used") {
		t.Errorf("the served request again = %d %s, want 403 40301 naming the replay", code, body)
	}
	if n := f.runs.Load(); n != 2 {
		t.Errorf("handler ran %d times after the replay, want still 2", n)
	}
}

// TestClaimKeptOrReleased: which answers release the claim. A 5xx or 429
// did no work and lets the same request through again; a success or a 4xx
// is final, and the copy is refused without running the handler.
func TestClaimKeptOrReleased(t *testing.T) {
	st := sqltest.NewStore(t, sqltest.SQLitePath(t))
	tests := []struct {
		name        string
		first       error
		wantFirst   int
		wantRelease bool
	}{
		{"ok", nil, 200, false},
		{"bad parameter", mfa.InvalidField("x", "bad"), 400, false},
		{"not found", mfa.NotFoundf("no such thing"), 404, false},
		{"rate limited", mfa.RetryLater("slow down", time.Second), 429, true},
		{"unavailable", mfa.Wrap(mfa.Unavailable, "database unavailable", errors.New("dial")), 503, true},
		{"internal", errors.New("boom"), 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReplayFixture(t, st, mfa.IntegrationAdminAPI, false)
			f.script = []error{tt.first}
			req, _ := http.NewRequest(http.MethodDelete, "https://"+f.ts.Host+"/admin/v1/things/1", nil)
			if err := duoproto.SignRequest(req, f.ikey, f.skey, 2, nil); err != nil {
				t.Fatal(err)
			}
			resp, err := f.RoundTrip(req)
			if err != nil || resp.StatusCode != tt.wantFirst {
				t.Fatalf("first = %v, %v; want %d", resp, err, tt.wantFirst)
			}
			resp.Body.Close()
			code, body := f.resend(t, 0)
			switch {
			case tt.wantRelease && (code != 200 || f.runs.Load() != 2):
				t.Errorf("same request after %d = %d %s (handler runs %d), want 200 and a second run", tt.wantFirst, code, body, f.runs.Load())
			case !tt.wantRelease && (code != 403 || !strings.Contains(body, "already used") || f.runs.Load() != 1):
				t.Errorf("same request after %d = %d %s (handler runs %d), want 403 replay and one run", tt.wantFirst, code, body, f.runs.Load())
			}
		})
	}
}

// TestConcurrentCopiesRunOnce: twenty copies of one signed request at once,
// on SQLite and PostgreSQL: the handler runs once.
func TestConcurrentCopiesRunOnce(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return sqltest.SQLitePath(t) },
		"PostgreSQL": func(t *testing.T) string { sqltest.RequirePostgres(t); return sqltest.PostgresDSN(t) },
	}
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			st := sqltest.NewStore(t, dsn(t))
			f := newReplayFixture(t, st, mfa.IntegrationAdminAPI, false)
			req, _ := http.NewRequest(http.MethodDelete, "https://"+f.ts.Host+"/admin/v1/things/1", nil)
			if err := duoproto.SignRequest(req, f.ikey, f.skey, 2, nil); err != nil {
				t.Fatal(err)
			}
			f.sent, f.sentBodies = []*http.Request{req}, [][]byte{nil}
			const n = 20
			codes := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() { <-start; codes[i], _ = f.resend(t, 0) })
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, c := range codes {
				switch c {
				case 200:
					ok++
				case 403:
					// Never 401 or 5xx: duo_unix's default failmode lets a
					// login through on those (see ErrReplayed).
				default:
					t.Errorf("a copy got %d, want 200 or 403", c)
				}
			}
			if ok != 1 || f.runs.Load() != 1 {
				t.Errorf("%d concurrent copies: %d answered 200, handler ran %d times; want 1 and 1", n, ok, f.runs.Load())
			}
		})
	}
}

// TestV1SignaturesUnixOnly: a timestamp-less v1 request is accepted only
// from a unix integration whose flag is on (and, carrying no date, is not
// claimed: login_duo signs two logins of a user identically). An Auth API
// integration holding the flag from before it was refused is treated as
// not holding it.
func TestV1SignaturesUnixOnly(t *testing.T) {
	st := sqltest.NewStore(t, sqltest.SQLitePath(t))
	tests := []struct {
		name     string
		typ      mfa.IntegrationType
		v1       bool
		wantCode int // 0: accepted, both times
	}{
		{"unix with v1", mfa.IntegrationUnix, true, 0},
		{"unix with v1 off", mfa.IntegrationUnix, false, 40104},
		{"authapi with the flag", mfa.IntegrationAuthAPI, true, 40104},
		{"adminapi with the flag", mfa.IntegrationAdminAPI, true, 40104},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReplayFixture(t, st, tt.typ, tt.v1)
			body := []byte("user=alice")
			req, _ := http.NewRequest(http.MethodPost, "https://"+f.ts.Host+"/rest/v1/preauth.json", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if err := duoproto.SignRequest(req, f.ikey, f.skey, 1, body, duoproto.WithSHA1()); err != nil {
				t.Fatal(err)
			}
			f.sent, f.sentBodies = []*http.Request{req}, [][]byte{body}
			for i := range 2 {
				code, got := f.resend(t, 0)
				var env struct {
					Code int `json:"code"`
				}
				json.Unmarshal([]byte(got), &env)
				if tt.wantCode == 0 && code != 200 || tt.wantCode != 0 && (code != 401 || env.Code != tt.wantCode) {
					t.Errorf("v1 request %d = %d %s, want %d", i+1, code, got, tt.wantCode)
				}
			}
		})
	}
}
