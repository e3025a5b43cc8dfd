package duoproto_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

// element returns the type byte of key in the top-level document raw.
func element(t *testing.T, raw bson.Raw, key string) bson.RawValue {
	t.Helper()
	v, err := raw.LookupErr(key)
	if err != nil {
		t.Fatalf("%s missing from %v: %v", key, raw, err)
	}
	return v
}

func TestWriteOKBSON(t *testing.T) {
	type factors struct {
		Default string `bson:"default"`
		One     string `bson:"1"`
	}
	type preauth struct {
		Result  string  `bson:"result"`
		Prompt  string  `bson:"prompt"`
		Factors factors `bson:"factors"`
	}
	rec := httptest.NewRecorder()
	duoproto.WriteOKBSON(rec, preauth{Result: "auth", Prompt: "Passcode: ", Factors: factors{"passcode", "passcode"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/bson" {
		t.Errorf("Content-Type = %q, want application/bson", got)
	}
	raw := bson.Raw(rec.Body.Bytes())
	if err := raw.Validate(); err != nil {
		t.Fatalf("invalid BSON: %v", err)
	}
	if v := element(t, raw, "stat"); v.Type != bson.TypeString || v.StringValue() != "OK" {
		t.Errorf("stat = %v, want string OK", v)
	}
	resp := element(t, raw, "response")
	if resp.Type != bson.TypeEmbeddedDocument {
		t.Fatalf("response type = %v, want embedded document", resp.Type)
	}
	doc := resp.Document()
	for key, want := range map[string]string{"result": "auth", "prompt": "Passcode: "} {
		if v := element(t, doc, key); v.Type != bson.TypeString || v.StringValue() != want {
			t.Errorf("response.%s = %v, want string %q", key, v, want)
		}
	}
	f := element(t, doc, "factors")
	if f.Type != bson.TypeEmbeddedDocument {
		t.Fatalf("factors type = %v, want embedded document", f.Type)
	}
	if v := element(t, f.Document(), "default"); v.StringValue() != "passcode" {
		t.Errorf("factors.default = %v", v)
	}
	// The first element is stat: duo_unix finds keys by scanning, but keep
	// Duo's order anyway.
	elems, _ := raw.Elements()
	if len(elems) != 2 || elems[0].Key() != "stat" || elems[1].Key() != "response" {
		t.Errorf("elements = %v, want stat, response", elems)
	}
}

func TestWriteErrorBSON(t *testing.T) {
	tests := []struct {
		name       string
		give       error
		wantStatus int
		wantCode   int32
		wantMsg    string
		wantDetail string
	}{
		{"signature", duoproto.ErrMissingTimestamp, 401, 40104, "Missing request timestamp", ""},
		{"bad param", duoproto.BadParam("user"), 400, 40002, "Invalid request parameters", "user"},
		{"not duo", errors.New("db down"), 500, 50000, "Internal server error", ""},
		{"bad code", &duoproto.Error{Code: 7}, 500, 50000, "Internal server error", ""},
		{"rate", duoproto.RateLimited(2 * time.Second), 429, 42901, "Too many requests", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			duoproto.WriteErrorBSON(rec, tt.give)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/bson" {
				t.Errorf("Content-Type = %q", got)
			}
			raw := bson.Raw(rec.Body.Bytes())
			if err := raw.Validate(); err != nil {
				t.Fatalf("invalid BSON: %v", err)
			}
			if v := element(t, raw, "stat"); v.StringValue() != "FAIL" {
				t.Errorf("stat = %v", v)
			}
			code := element(t, raw, "code")
			if code.Type != bson.TypeInt32 {
				t.Fatalf("code type = %v, want int32 (0x10)", code.Type)
			}
			if code.Int32() != tt.wantCode {
				t.Errorf("code = %d, want %d", code.Int32(), tt.wantCode)
			}
			if v := element(t, raw, "message"); v.Type != bson.TypeString || v.StringValue() != tt.wantMsg {
				t.Errorf("message = %v, want %q", v, tt.wantMsg)
			}
			d, err := raw.LookupErr("message_detail")
			switch {
			case tt.wantDetail == "" && err == nil:
				t.Errorf("message_detail = %v, want none", d)
			case tt.wantDetail != "" && d.StringValue() != tt.wantDetail:
				t.Errorf("message_detail = %v, want %q", d, tt.wantDetail)
			}
			if tt.wantStatus == 429 && rec.Header().Get("Retry-After") != "2" {
				t.Errorf("Retry-After = %q, want 2", rec.Header().Get("Retry-After"))
			}
		})
	}
}

// TestWriteErrorBSONBytes pins the exact bytes of a failure, decoded by
// hand from the BSON spec: int32 total length, then type 0x02 string
// elements and a type 0x10 code.
func TestWriteErrorBSONBytes(t *testing.T) {
	rec := httptest.NewRecorder()
	duoproto.WriteErrorBSON(rec, duoproto.Internal())
	want := []byte("\x02stat\x00\x05\x00\x00\x00FAIL\x00" +
		"\x10code\x00\x50\xc3\x00\x00" +
		"\x02message\x00\x16\x00\x00\x00Internal server error\x00")
	n := len(want) + 5
	want = append([]byte{byte(n), 0, 0, 0}, append(want, 0)...)
	if got := rec.Body.Bytes(); string(got) != string(want) {
		t.Errorf("body = %q, want %q", got, want)
	}
}
