package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// TestToDuo covers every mfa.Kind (the zero Kind is Internal) and the
// pass-through cases.
func TestToDuo(t *testing.T) {
	tests := []struct {
		name        string
		give        error
		wantCode    int
		wantMessage string
		wantDetail  string
	}{
		{"not found", fmt.Errorf("get: %w", mfa.NotFoundf("user not found")), 40401, "Resource not found", ""},
		{"invalid field", mfa.InvalidField("count", "at most 100 active bypass codes"), 40002, "Invalid request parameters", "count: at most 100 active bypass codes"},
		{"invalid bare field", &mfa.Error{Kind: mfa.Invalid, Field: "username"}, 40002, "Invalid request parameters", "username"},
		{"conflict", &mfa.Error{Kind: mfa.Conflict, Field: "username", Msg: "username already exists"}, 40002, "Invalid request parameters", "username: username already exists"},
		{"denied", mfa.E(mfa.Denied, "Help Desk may not delete users"), 40301, "Access forbidden", "Help Desk may not delete users"},
		{"unauthorized", mfa.E(mfa.Unauthorized, "bad key"), 40103, "Invalid signature in request credentials", ""},
		{"rate limited", mfa.E(mfa.RateLimited, "slow down"), 42901, "Too many requests", "slow down"},
		{"unavailable", mfa.Wrap(mfa.Unavailable, "could not send the SMS passcodes", errors.New("dial carrier")), 50300, "Service temporarily unavailable", "could not send the SMS passcodes"},
		{"internal kind", mfa.Wrap(mfa.Internal, "secret detail", errors.New("pq: boom")), 50000, "Internal server error", ""},
		{"internal", errors.New("pq: secret detail"), 50000, "Internal server error", ""},
		{"duo error passes", duoproto.BadParam("limit"), 40002, "Invalid request parameters", "limit"},
	}
	kinds := map[mfa.Kind]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToDuo(tt.give)
			if got.Code != tt.wantCode || got.Message != tt.wantMessage || got.Detail != tt.wantDetail {
				t.Errorf("ToDuo(%v) = %d %q %q, want %d %q %q", tt.give, got.Code, got.Message, got.Detail, tt.wantCode, tt.wantMessage, tt.wantDetail)
			}
			if got.Status != got.Code/100 {
				t.Errorf("ToDuo(%v) status %d does not match code %d", tt.give, got.Status, got.Code)
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

// TestWriteErrorLogsRequestID: server-side failures are logged once with
// the request id from the context; a client's mistake is not logged.
func TestWriteErrorLogsRequestID(t *testing.T) {
	tests := []struct {
		name    string
		give    error
		wantLog bool
	}{
		{"internal", errors.New("pq: connection reset"), true},
		{"unavailable", mfa.Wrap(mfa.Unavailable, "could not place the phone call", errors.New("carrier down")), true},
		{"invalid", mfa.InvalidField("username", "required"), false},
		{"rate limited", mfa.RetryLater("slow down", time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf strings.Builder
			s := &Surface{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
			r := httptest.NewRequest("POST", "/auth/v2/auth", nil)
			r = r.WithContext(reqid.With(r.Context(), "5eed0000c0ffee00"))
			s.WriteError(httptest.NewRecorder(), r, tt.give)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if !tt.wantLog {
				if buf.Len() != 0 {
					t.Errorf("WriteError(%v) logged %s, want nothing", tt.give, buf.String())
				}
				return
			}
			var rec map[string]any
			if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil {
				t.Fatalf("WriteError(%v) logged %q, want one JSON line", tt.give, buf.String())
			}
			if rec["request_id"] != "5eed0000c0ffee00" || rec["level"] != "ERROR" || !strings.Contains(fmt.Sprint(rec["error"]), tt.give.Error()) {
				t.Errorf("WriteError(%v) logged %v, want level ERROR, request_id and the cause", tt.give, rec)
			}
		})
	}
}

func TestToDuoRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		give       error
		wantRetry  time.Duration
		wantHeader string
	}{
		{"limit says when", mfa.RetryLater("too many passcode attempts for this user", 42*time.Second), 42 * time.Second, "42"},
		{"wrapped", fmt.Errorf("auth: %w", mfa.RetryLater("slow down", 1500*time.Millisecond)), 1500 * time.Millisecond, "2"},
		{"under a second", mfa.RetryLater("slow down", time.Microsecond), time.Microsecond, "1"},
		{"limit does not say", mfa.E(mfa.RateLimited, "slow down"), DefaultRetryAfter, "60"},
	}
	s := &Surface{Logger: slog.New(slog.DiscardHandler)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToDuo(tt.give)
			if got.Status != 429 || got.Code != 42901 || got.RetryAfter != tt.wantRetry {
				t.Errorf("ToDuo(%v) = %d/%d retry %v, want 429/42901 retry %v", tt.give, got.Status, got.Code, got.RetryAfter, tt.wantRetry)
			}
			rec := httptest.NewRecorder()
			s.WriteError(rec, httptest.NewRequest("POST", "/auth/v2/auth", nil), tt.give)
			if rec.Code != 429 || rec.Header().Get("Retry-After") != tt.wantHeader {
				t.Errorf("WriteError(%v) = %d Retry-After %q, want 429 Retry-After %q", tt.give, rec.Code, rec.Header().Get("Retry-After"), tt.wantHeader)
			}
		})
	}
}

type integrations map[string]mfa.Integration

func (m integrations) GetIntegration(_ context.Context, ikey string) (mfa.Integration, error) {
	in, ok := m[ikey]
	if !ok {
		return mfa.Integration{}, mfa.NotFoundf("integration not found")
	}
	return in, nil
}

type failing struct{}

func (failing) GetIntegration(context.Context, string) (mfa.Integration, error) {
	return mfa.Integration{}, errors.New("connection refused")
}

func TestSurface(t *testing.T) {
	store := integrations{
		"DIAUTH0000000000000A": {IKey: "DIAUTH0000000000000A", SKey: mfa.Secret(strings.Repeat("a", 40)), Type: mfa.IntegrationAuthAPI},
		"DIADMIN000000000000A": {IKey: "DIADMIN000000000000A", SKey: mfa.Secret(strings.Repeat("b", 40)), Type: mfa.IntegrationAdminAPI},
	}
	var logs strings.Builder
	s := &Surface{Name: "Auth API", Allowed: mfa.IntegrationType.IsAuth, Store: store, Now: time.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.Handle(func(w http.ResponseWriter, r *http.Request, c *Caller) error {
		if c.Param("fail") == "1" {
			return mfa.InvalidField("fail", "asked to fail")
		}
		if c.Param("boom") == "1" {
			return errors.New("internal detail")
		}
		duoproto.WriteOK(w, c.Integration.IKey)
		return nil
	})
	tests := []struct {
		name       string
		ikey, skey string
		params     url.Values
		body       string
		store      IntegrationGetter
		wantStatus int
		wantBody   string
	}{
		{name: "ok", ikey: "DIAUTH0000000000000A", skey: strings.Repeat("a", 40), wantStatus: 200, wantBody: `"response":"DIAUTH0000000000000A"`},
		{name: "wrong type", ikey: "DIADMIN000000000000A", skey: strings.Repeat("b", 40), wantStatus: 403, wantBody: `"message_detail":"Wrong integration type for this API."`},
		{name: "unknown ikey", ikey: "DIXXXXXXXXXXXXXXXXXX", skey: strings.Repeat("a", 40), wantStatus: 401, wantBody: `"code":40102`},
		{name: "handler error", ikey: "DIAUTH0000000000000A", skey: strings.Repeat("a", 40), params: url.Values{"fail": {"1"}}, wantStatus: 400, wantBody: `"message_detail":"fail: asked to fail"`},
		{name: "internal error", ikey: "DIAUTH0000000000000A", skey: strings.Repeat("a", 40), params: url.Values{"boom": {"1"}}, wantStatus: 500, wantBody: `"code":50000`},
		{name: "store down", ikey: "DIAUTH0000000000000A", skey: strings.Repeat("a", 40), store: failing{}, wantStatus: 500, wantBody: `"code":50000`},
		{name: "body too large", ikey: "DIAUTH0000000000000A", skey: strings.Repeat("a", 40), body: "x=" + strings.Repeat("y", MaxBodyBytes), wantStatus: 400, wantBody: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handler := h
			if tt.store != nil {
				s2 := *s
				s2.Store = tt.store
				handler = s2.Handle(func(w http.ResponseWriter, r *http.Request, c *Caller) error { return nil })
			}
			method, body := "GET", io.Reader(nil)
			target := "https://localhost:8443/auth/v2/x"
			if tt.body != "" {
				method, body = "POST", strings.NewReader(tt.body)
			} else if len(tt.params) > 0 {
				target += "?" + tt.params.Encode()
			}
			req := httptest.NewRequest(method, target, body)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if err := duoproto.SignRequest(req, tt.ikey, tt.skey, 2, nil); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%s = %d %s, want %d containing %s", tt.name, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if strings.Contains(logs.String(), strings.Repeat("a", 40)) {
		t.Error("the log contains an skey")
	}
	if !strings.Contains(logs.String(), "internal detail") {
		t.Error("an internal error was not logged for operators")
	}
}

// A client that hangs up during a long poll gets no answer and is not an
// error in the log; the same error with the client still there is.
func TestWriteErrorClientGone(t *testing.T) {
	var logs strings.Builder
	s := &Surface{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/auth/v2/auth_status", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	s.WriteError(w, r, fmt.Errorf("wait: %w", context.Canceled))
	if w.Body.Len() != 0 || logs.Len() != 0 {
		t.Errorf("client gone: body %q, log %q; want neither", w.Body.String(), logs.String())
	}
	w = httptest.NewRecorder()
	s.WriteError(w, httptest.NewRequest("GET", "/auth/v2/auth_status", nil), fmt.Errorf("wait: %w", context.Canceled))
	if w.Code != 500 || !strings.Contains(logs.String(), "request failed") {
		t.Errorf("cancelled work with the client there: %d, log %q; want 500 logged", w.Code, logs.String())
	}
}
