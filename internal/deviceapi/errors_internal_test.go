package deviceapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// TestToDuo covers every mfa.Kind and the device API's own failures.
func TestToDuo(t *testing.T) {
	tests := []struct {
		name       string
		give       error
		wantStatus int
		wantCode   int
		wantDetail string
	}{
		{"unknown activation", fmt.Errorf("activate: %w", authflow.ErrUnknownActivation), 404, 40403, ""},
		{"revoked install", authflow.ErrInstallRevoked, 401, 40110, errRevoked.Detail},
		{"wrong verification code", authflow.ErrWrongVerificationCode, 400, 40032, errWrongCode.Detail},
		{"too many polls", authflow.ErrInstallPolls, 429, 42901, errTooManyPolls.Detail},
		{"not found", mfa.E(mfa.NotFound, "transaction not found"), 404, 40401, ""},
		{"invalid", mfa.InvalidField("platform", "must be at most 64 bytes"), 400, 40002, "platform: must be at most 64 bytes"},
		{"conflict", mfa.E(mfa.Conflict, "already answered"), 400, 40002, "already answered"},
		{"denied", mfa.E(mfa.Denied, "not yours"), 403, 40301, "not yours"},
		{"unauthorized", mfa.E(mfa.Unauthorized, "bad signature"), 401, 40103, ""},
		{"rate limited", mfa.RetryLater("slow down", time.Second), 429, 42901, "slow down"},
		{"unavailable", mfa.Wrap(mfa.Unavailable, "database unavailable", errors.New("dial")), 503, 50300, "database unavailable"},
		{"internal", errors.New("pq: secret"), 500, 50000, ""},
	}
	kinds := map[mfa.Kind]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toDuo(tt.give)
			if got.Status != tt.wantStatus || got.Code != tt.wantCode || got.Detail != tt.wantDetail {
				t.Errorf("toDuo(%v) = %d %d %q, want %d %d %q", tt.give, got.Status, got.Code, got.Detail, tt.wantStatus, tt.wantCode, tt.wantDetail)
			}
		})
		kinds[mfa.KindOf(tt.give)] = true
	}
	for k := mfa.Internal; k <= mfa.Unavailable; k++ {
		if !kinds[k] {
			t.Errorf("no case for kind %v", k)
		}
	}
}

// TestWriteErrorLogsRequestID: a server-side failure is logged with the
// request id and the route, never the path; a client's mistake is not.
func TestWriteErrorLogsRequestID(t *testing.T) {
	var buf strings.Builder
	h := &Handler{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	r := httptest.NewRequest("POST", "/push/v2/activation/SECRETCODE", nil)
	r.Pattern = "POST /push/v2/activation/{code}"
	r = r.WithContext(reqid.With(r.Context(), "ab12cd34ef56ab78"))

	h.writeError(httptest.NewRecorder(), r, mfa.E(mfa.Invalid, "bad"))
	if buf.Len() != 0 {
		t.Fatalf("writeError(Invalid) logged %s, want nothing", buf.String())
	}
	rec := httptest.NewRecorder()
	h.writeError(rec, r, errors.New("pq: connection reset"))
	if rec.Code != 500 {
		t.Errorf("writeError(internal) = %d, want 500", rec.Code)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line["request_id"] != "ab12cd34ef56ab78" || line["route"] != r.Pattern || line["level"] != "ERROR" {
		t.Errorf("logged %v, want request_id, route and level ERROR", line)
	}
	if strings.Contains(buf.String(), "SECRETCODE") {
		t.Errorf("logged the path with the activation code: %s", buf.String())
	}
}
