package server_test

import (
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestAPIPrefixesAnswerDuoErrors: under every API prefix an unknown path
// answers Duo's 404 JSON and a known path with a wrong method Duo's 405
// JSON with an Allow header, never net/http's plain text; browser pages
// and other paths keep their own answers.
func TestAPIPrefixesAnswerDuoErrors(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := server.New(server.Deps{
		Store: st, Logger: log, Now: time.Now,
		Flow:  authflow.New(st, time.Now, rand.Reader, log),
		Admin: admin.New(st, time.Now, rand.Reader, log),
	})
	ts := certstest.StartTLS(t, h)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.Pool}}}
	const (
		notFound = `{"stat":"FAIL","code":40401,"message":"Resource not found"}`
		notAllow = `{"stat":"FAIL","code":40501,"message":"Method not allowed"}`
	)
	tests := []struct {
		method, path string
		wantStatus   int
		wantBody     string
		wantAllow    string
		wantType     string
	}{
		{"GET", "/auth/v2/nope", 404, notFound, "", "application/json"},
		{"DELETE", "/auth/v2/check", 405, notAllow, "GET, HEAD, POST", "application/json"},
		{"GET", "/auth/v2/auth", 405, notAllow, "POST", "application/json"},
		{"GET", "/admin/v1/nope", 404, notFound, "", "application/json"},
		{"GET", "/admin/v3/users", 404, notFound, "", "application/json"},
		{"GET", "/rest/v1/nope.json", 404, notFound, "", "application/json"},
		{"POST", "/rest/v1/check", 405, notAllow, "GET, HEAD", "application/json"},
		// A known route with its method still reaches its handler.
		{"GET", "/admin/v1/users", 401, `{"stat":"FAIL","code":40101,"message":"Missing request credentials"}`, "", "application/json"},
		{"PATCH", "/admin/v1/users", 405, notAllow, "GET, HEAD, POST", "application/json"},
		{"GET", "/push/v2/nope", 404, notFound, "", "application/json"},
		{"GET", "/push/v2/device", 405, notAllow, "DELETE", "application/json"},
		{"GET", "/frame/nope", 404, notFound, "", "application/json"},
		{"POST", "/frame/qr", 405, notAllow, "GET, HEAD", "application/json"},
		{"GET", "/auth/", 404, notFound, "", "application/json"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "https://"+ts.Host+tt.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || strings.TrimSpace(string(body)) != strings.TrimSpace(tt.wantBody) {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
		}
		if got := resp.Header.Get("Allow"); got != tt.wantAllow {
			t.Errorf("%s %s Allow = %q, want %q", tt.method, tt.path, got, tt.wantAllow)
		}
		if got := resp.Header.Get("Content-Type"); got != tt.wantType {
			t.Errorf("%s %s Content-Type = %q, want %q", tt.method, tt.path, got, tt.wantType)
		}
	}
	// Not an API path: the browser surface's own 404 and 405 pages.
	for _, tt := range []struct {
		method, path string
		wantStatus   int
		wantH1       string
		wantAllow    string
	}{
		{"GET", "/nope", 404, "<h1>Page not found</h1>", ""},
		{"DELETE", "/install", 405, "<h1>That can&#39;t be done here</h1>", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tt.method, "https://"+ts.Host+tt.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(string(body), tt.wantH1) || resp.Header.Get("Allow") != tt.wantAllow {
			t.Errorf("%s %s = %d %s Allow %q, want %d page with %s, Allow %q", tt.method, tt.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), tt.wantStatus, tt.wantH1, tt.wantAllow)
		}
	}
}
