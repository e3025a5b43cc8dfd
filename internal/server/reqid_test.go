package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// brokenStore fails every integration lookup with a driver error.
type brokenStore struct{ mfa.Store }

func (brokenStore) GetIntegration(context.Context, string) (mfa.Integration, error) {
	return mfa.Integration{}, errors.New("pq: connection reset by peer")
}

// TestInternalErrorLogsRequestID: an internal error on a signed API is
// answered 500/50000 and logged once, with the request id the client got
// in X-Request-Id.
func TestInternalErrorLogsRequestID(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	var buf strings.Builder
	h := server.New(server.Deps{Store: brokenStore{st}, Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Now: time.Now})
	req := httptest.NewRequest("GET", "https://api.example.test/auth/v2/check", nil)
	if err := duoproto.SignRequest(req, "DIXXXXXXXXXXXXXXXXXX", strings.Repeat("s", 40), 2, nil); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	id := rec.Header().Get("X-Request-Id")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "50000") || id == "" {
		t.Fatalf("GET /auth/v2/check with the store failing = %d %q X-Request-Id %q, want 500/50000 with an id", rec.Code, rec.Body, id)
	}
	var failed []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == "ERROR" {
			failed = append(failed, rec)
		}
	}
	if len(failed) != 1 || failed[0]["request_id"] != id || !strings.Contains(failed[0]["error"].(string), "connection reset") {
		t.Errorf("error log lines = %v, want one with request_id %q and the cause", failed, id)
	}
}
