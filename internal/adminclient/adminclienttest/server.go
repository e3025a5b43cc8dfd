// Package adminclienttest is a fake Admin API over real TLS that verifies
// every request's signature with duoproto and answers from a test's
// function, for testing clients (adminclient, the twostepd admin CLI)
// without the real server.
package adminclienttest

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Fixed test credentials.
const (
	IKey = "DIADMINTESTKEY000001"
	SKey = "adminclienttest-secret-key-0123456789abc"
)

// Request is one verified request as the fake saw it.
type Request struct {
	Method string
	Path   string
	Params url.Values
}

// Handler answers a verified request: it writes a Duo envelope with
// duoproto.WriteOK, WriteOKMeta or WriteError (or anything else).
type Handler func(w http.ResponseWriter, r Request)

// Server is a running fake.
type Server struct {
	Host   string // "127.0.0.1:port"
	CAFile string // PEM of the server certificate
	srv    *httptest.Server

	mu       sync.Mutex
	requests []Request
}

// New starts a fake answering with h; it stops when the test ends.
func New(t testing.TB, h Handler) *Server {
	t.Helper()
	s := &Server{}
	v := duoproto.NewVerifier(func(_ context.Context, ikey string) (duoproto.Key, error) {
		if ikey != IKey {
			return duoproto.Key{}, duoproto.ErrUnknownKey
		}
		return duoproto.Key{SKey: SKey}, nil
	}, time.Now)
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		req, err := v.Verify(r, body)
		if err != nil {
			duoproto.WriteError(w, err)
			return
		}
		rq := Request{Method: r.Method, Path: r.URL.Path, Params: req.Params}
		s.mu.Lock()
		s.requests = append(s.requests, rq)
		s.mu.Unlock()
		h(w, rq)
	}))
	t.Cleanup(s.srv.Close)
	s.Host = s.srv.Listener.Addr().String()
	s.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// Requests returns the verified requests so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Routes is a Handler dispatching on "METHOD /path" exactly; anything else
// gets a plain-text 404, as an unrouted path does on a real mux.
func Routes(m map[string]Handler) Handler {
	return func(w http.ResponseWriter, r Request) {
		if h, ok := m[r.Method+" "+r.Path]; ok {
			h(w, r)
			return
		}
		for pattern, h := range m {
			if matchPattern(pattern, r.Method+" "+r.Path) {
				h(w, r)
				return
			}
		}
		http.NotFound(w, nil)
	}
}

// matchPattern matches "GET /a/*/b" against "GET /a/x/b".
func matchPattern(pattern, s string) bool {
	ps, ss := strings.Split(pattern, "/"), strings.Split(s, "/")
	if len(ps) != len(ss) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != ss[i] {
			return false
		}
	}
	return true
}
