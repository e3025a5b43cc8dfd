package duoproto

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteOK(t *testing.T) {
	tests := []struct {
		name string
		give func(w http.ResponseWriter)
		want string
	}{
		{"object", func(w http.ResponseWriter) { WriteOK(w, map[string]int64{"time": 1357020061}) }, `{"stat":"OK","response":{"time":1357020061}}`},
		{"string", func(w http.ResponseWriter) { WriteOK(w, "waiting") }, `{"stat":"OK","response":"waiting"}`},
		{"array", func(w http.ResponseWriter) { WriteOK(w, []string{"a", "b"}) }, `{"stat":"OK","response":["a","b"]}`},
		{"nil", func(w http.ResponseWriter) { WriteOK(w, nil) }, `{"stat":"OK","response":null}`},
		{
			"struct keeps field order",
			func(w http.ResponseWriter) {
				WriteOK(w, struct {
					Result string `json:"result"`
					Status string `json:"status"`
				}{"allow", "Success. Logging you in..."})
			},
			`{"stat":"OK","response":{"result":"allow","status":"Success. Logging you in..."}}`,
		},
		{
			"metadata",
			func(w http.ResponseWriter) {
				WriteOKMeta(w, []string{"u1"}, map[string]int{"next_offset": 1, "total_objects": 2})
			},
			`{"stat":"OK","response":["u1"],"metadata":{"next_offset":1,"total_objects":2}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.give(rec)
			if rec.Code != http.StatusOK {
				t.Errorf("status = %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWriteOKUnencodable(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteOK(rec, map[string]any{"c": make(chan int)})
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != internalBody {
		t.Errorf("WriteOK(chan) = %d %s, want 500 %s", rec.Code, rec.Body, internalBody)
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		give       error
		wantStatus int
		wantBody   string
		wantRetry  string
	}{
		{"missing credentials", ErrMissingCredentials, 401, `{"stat":"FAIL","code":40101,"message":"Missing request credentials"}`, ""},
		{"invalid ikey", ErrInvalidIKey, 401, `{"stat":"FAIL","code":40102,"message":"Invalid integration key in request credentials"}`, ""},
		{"invalid signature", ErrInvalidSignature, 401, `{"stat":"FAIL","code":40103,"message":"Invalid signature in request credentials"}`, ""},
		{"missing timestamp", ErrMissingTimestamp, 401, `{"stat":"FAIL","code":40104,"message":"Missing request timestamp"}`, ""},
		{"bad timestamp", ErrBadTimestamp, 401, `{"stat":"FAIL","code":40105,"message":"Bad request timestamp"}`, ""},
		{"bad param", BadParam("username"), 400, `{"stat":"FAIL","code":40002,"message":"Invalid request parameters","message_detail":"username"}`, ""},
		{"missing param", MissingParam("factor"), 400, `{"stat":"FAIL","code":40002,"message":"Invalid request parameters","message_detail":"factor"}`, ""},
		{"missing params", MissingParams("user_id", "activation_code"), 400, `{"stat":"FAIL","code":40001,"message":"Missing required request parameters","message_detail":"user_id, activation_code"}`, ""},
		{"missing params no names", MissingParams(), 400, `{"stat":"FAIL","code":40001,"message":"Missing required request parameters"}`, ""},
		{"forbidden", Forbidden("Wrong integration type for this API."), 403, `{"stat":"FAIL","code":40301,"message":"Access forbidden","message_detail":"Wrong integration type for this API."}`, ""},
		{"not found", NotFound(), 404, `{"stat":"FAIL","code":40401,"message":"Resource not found"}`, ""},
		{"rate limited", RateLimited(1500 * time.Millisecond), 429, `{"stat":"FAIL","code":42901,"message":"Too many requests"}`, "2"},
		{"rate limited no wait", RateLimited(0), 429, `{"stat":"FAIL","code":42901,"message":"Too many requests"}`, "1"},
		{"internal", Internal(), 500, `{"stat":"FAIL","code":50000,"message":"Internal server error"}`, ""},
		{"wrapped", fmt.Errorf("preauth: %w", BadParam("username")), 400, `{"stat":"FAIL","code":40002,"message":"Invalid request parameters","message_detail":"username"}`, ""},
		{"plain error not leaked", errors.New("pq: password authentication failed for user twostep"), 500, `{"stat":"FAIL","code":50000,"message":"Internal server error"}`, ""},
		{"nil error", nil, 500, `{"stat":"FAIL","code":50000,"message":"Internal server error"}`, ""},
		{"nil *Error", (*Error)(nil), 500, `{"stat":"FAIL","code":50000,"message":"Internal server error"}`, ""},
		{"bad code", &Error{Status: 200, Code: 20000, Message: "ok?"}, 500, `{"stat":"FAIL","code":50000,"message":"Internal server error"}`, ""},
		{"short code", &Error{Status: 400, Code: 400, Message: "x"}, 500, `{"stat":"FAIL","code":50000,"message":"Internal server error"}`, ""},
		{"html escaped detail", BadParam("<script>"), 400, `{"stat":"FAIL","code":40002,"message":"Invalid request parameters","message_detail":"\u003cscript\u003e"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.give)
			if rec.Code != tt.wantStatus {
				t.Errorf("WriteError(%v) status = %d, want %d", tt.give, rec.Code, tt.wantStatus)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("WriteError(%v) body = %s, want %s", tt.give, got, tt.wantBody)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("WriteError(%v) Content-Type = %q, want application/json", tt.give, got)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("WriteError(%v) Retry-After = %q, want %q", tt.give, got, tt.wantRetry)
			}
		})
	}
}

func TestErrorConstructors(t *testing.T) {
	tests := []struct {
		name string
		give *Error
		want *Error
	}{
		{"ErrMissingCredentials", ErrMissingCredentials, &Error{401, 40101, "Missing request credentials", "", 0}},
		{"ErrInvalidIKey", ErrInvalidIKey, &Error{401, 40102, "Invalid integration key in request credentials", "", 0}},
		{"ErrInvalidSignature", ErrInvalidSignature, &Error{401, 40103, "Invalid signature in request credentials", "", 0}},
		{"ErrMissingTimestamp", ErrMissingTimestamp, &Error{401, 40104, "Missing request timestamp", "", 0}},
		{"ErrBadTimestamp", ErrBadTimestamp, &Error{401, 40105, "Bad request timestamp", "", 0}},
		{"BadParam", BadParam("x"), &Error{400, 40002, "Invalid request parameters", "x", 0}},
		{"MissingParam", MissingParam("x"), &Error{400, 40002, "Invalid request parameters", "x", 0}},
		{"MissingParams", MissingParams("x"), &Error{400, 40001, "Missing required request parameters", "x", 0}},
		{"Forbidden", Forbidden("x"), &Error{403, 40301, "Access forbidden", "x", 0}},
		{"NotFound", NotFound(), &Error{404, 40401, "Resource not found", "", 0}},
		{"RateLimited", RateLimited(time.Second), &Error{429, 42901, "Too many requests", "", time.Second}},
		{"Internal", Internal(), &Error{500, 50000, "Internal server error", "", 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.give); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", tt.name, diff)
			}
			if tt.give.Status != tt.give.Code/100 {
				t.Errorf("%s: Status %d is not the first three digits of Code %d", tt.name, tt.give.Status, tt.give.Code)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same sentinel", ErrInvalidSignature, ErrInvalidSignature, true},
		{"wrapped sentinel", fmt.Errorf("x: %w", ErrBadTimestamp), ErrBadTimestamp, true},
		{"same code other detail", BadParam("username"), BadParam(""), true},
		{"40002 is not 40001", MissingParam("x"), MissingParams("x"), false},
		{"other code", ErrInvalidIKey, ErrInvalidSignature, false},
		{"plain error", errors.New("x"), ErrInvalidSignature, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %t, want %t", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		give *Error
		want string
	}{
		{ErrInvalidSignature, "duo 40103: Invalid signature in request credentials"},
		{BadParam("username"), "duo 40002: Invalid request parameters (username)"},
	}
	for _, tt := range tests {
		if got := tt.give.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
