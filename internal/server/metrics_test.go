package server_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestMetricsAccess(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const token = "s3cret-metrics-token"
	tests := []struct {
		name       string
		deps       server.Deps
		separate   bool // request the Metrics handler instead of Main
		auth       string
		wantStatus int
		wantBody   string
	}{
		{"default: off on the main port", server.Deps{}, false, "", 404, `"code":40401`},
		{"default: off even with a token sent", server.Deps{}, false, "Bearer " + token, 404, `"code":40401`},
		{"token: none sent", server.Deps{MetricsOnMain: true, MetricsToken: token}, false, "", 401, `"code":40101`},
		{"token: wrong", server.Deps{MetricsOnMain: true, MetricsToken: token}, false, "Bearer " + token + "x", 401, `"code":40101`},
		{"token: basic scheme", server.Deps{MetricsOnMain: true, MetricsToken: token}, false, "Basic " + token, 401, `"code":40101`},
		{"token: right", server.Deps{MetricsOnMain: true, MetricsToken: token}, false, "Bearer " + token, 200, "go_goroutines"},
		{"separate listener: open", server.Deps{}, true, "", 200, "twostep_http_requests_total"},
		{"separate listener with token: none sent", server.Deps{MetricsToken: token}, true, "", 401, `"code":40101`},
		{"separate listener with token: right", server.Deps{MetricsToken: token}, true, "bearer " + token, 200, "go_goroutines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.deps
			d.Store, d.Logger, d.Now = st, log, time.Now
			hs := server.NewHandlers(d)
			// One request through the main handler first, so that the
			// request counter has a series.
			hs.Main.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
			h := hs.Main
			if tt.separate {
				h = hs.Metrics
			}
			req := httptest.NewRequest("GET", "/metrics", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("GET /metrics = %d %.200q, want %d containing %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}
