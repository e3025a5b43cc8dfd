package webhook_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/webhook"
)

const secret = "0123456789abcdef-webhook"

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type operator struct {
	mu       sync.Mutex
	payloads []webhook.Payload
	errs     []error
	reply    func(n int, w http.ResponseWriter, r *http.Request) bool
}

func (o *operator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	n := len(o.payloads) + len(o.errs)
	if err := webhook.Verify(secret, r.Header.Get(webhook.TimestampHeader), r.Header.Get(webhook.SignatureHeader), body, now); err != nil {
		o.errs = append(o.errs, err)
	} else {
		var p webhook.Payload
		json.Unmarshal(body, &p)
		o.payloads = append(o.payloads, p)
	}
	o.mu.Unlock()
	if o.reply != nil && o.reply(n, w, r) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (o *operator) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.payloads) + len(o.errs)
}

func newClient(t *testing.T, o *operator, mod func(*webhook.Config)) *webhook.Client {
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	cfg := webhook.Config{URL: srv.URL + "/twostep", Secret: secret, CallbackURL: "https://twostep.example.com/",
		Now: func() time.Time { return now }, Backoff: func(int) time.Duration { return 0 }}
	if mod != nil {
		mod(&cfg)
	}
	c, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSendSigned(t *testing.T) {
	pre, post := 4*time.Second, 0*time.Second
	o := &operator{}
	c := newClient(t, o, nil)
	msgs := []mfa.Message{
		{Channel: mfa.ChannelSMS, To: "+15555550100", Body: "codes 9081726", Context: "authentication", UserID: "DU1"},
		{Channel: mfa.ChannelVoice, To: "+15555550142", Extension: "12", TxID: "tx-1", Body: "Press 1"},
		{Channel: mfa.ChannelEmail, To: "a@example.com", Subject: "Fraud", Body: "report"},
		{Channel: mfa.ChannelVoice, To: "+15555550143", Extension: "7", TxID: "tx-2", Body: "Press 1",
			ExtensionPreDelay: &pre, ExtensionPostDelay: &post},
	}
	for _, m := range msgs {
		if err := c.Send(t.Context(), m); err != nil {
			t.Fatalf("Send(%s) = %v", m.Channel, err)
		}
	}
	if len(o.errs) != 0 || len(o.payloads) != 4 {
		t.Fatalf("operator: %d payloads, errors %v", len(o.payloads), o.errs)
	}
	p := o.payloads[1]
	if p.Kind != "phone" || p.To != "+15555550142" || p.Text != "Press 1" || p.Call == nil || p.Call.CallID != "tx-1" ||
		p.Call.Extension != "12" || p.Call.KeypressURL != "https://twostep.example.com/notify/webhook/keypress" {
		t.Errorf("call payload = %+v %+v", p, p.Call)
	}
	if p.Call != nil && (p.Call.PreDelay != nil || p.Call.PostDelay != nil) {
		t.Errorf("call without phone delays carries %v %v", p.Call.PreDelay, p.Call.PostDelay)
	}
	// The phone's own delays (predelay 4 s, postdelay 0 s: "none", not "unset").
	if p := o.payloads[3]; p.Call == nil || p.Call.PreDelay == nil || *p.Call.PreDelay != 4 || p.Call.PostDelay == nil || *p.Call.PostDelay != 0 {
		t.Errorf("call with delays payload = %+v %+v", p, p.Call)
	}
	if p := o.payloads[0]; p.Kind != "sms" || p.Text != "codes 9081726" || p.UserID != "DU1" || p.Call != nil {
		t.Errorf("sms payload = %+v", p)
	}
	if p := o.payloads[2]; p.Kind != "email" || p.Subject != "Fraud" {
		t.Errorf("email payload = %+v", p)
	}
}

// TestDeliverReceipt: a call's receipt is its call_id (the keypress
// callback names it); an SMS's is the id and segments of the endpoint's
// optional JSON answer, and an answer without them, or with a bad id, is
// taken without a receipt.
func TestDeliverReceipt(t *testing.T) {
	o := &operator{}
	var answer string
	o.reply = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if answer == "" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
		return true
	}
	c := newClient(t, o, nil)
	sms := mfa.Message{Channel: mfa.ChannelSMS, To: "+15555550100", Body: "codes 9081726"}
	call := mfa.Message{Channel: mfa.ChannelVoice, To: "+15555550142", TxID: "tx-7", Body: "Press 1"}
	tests := []struct {
		name   string
		answer string
		give   mfa.Message
		want   mfa.Receipt
	}{
		{"sms, 204", "", sms, mfa.Receipt{}},
		{"sms with id and segments", `{"id":"gw-42","segments":2}`, sms, mfa.Receipt{CarrierID: "gw-42", Segments: 2}},
		{"sms with id only", `{"id":"gw-43"}`, sms, mfa.Receipt{CarrierID: "gw-43"}},
		{"sms with other fields", `{"id":"gw-44","queued":true}`, sms, mfa.Receipt{CarrierID: "gw-44"}},
		{"sms, not JSON", `accepted`, sms, mfa.Receipt{}},
		{"sms, id too long", `{"id":"` + strings.Repeat("x", 65) + `","segments":2}`, sms, mfa.Receipt{Segments: 2}},
		{"sms, id with a space", `{"id":"gw 45"}`, sms, mfa.Receipt{}},
		{"sms, negative segments", `{"id":"gw-46","segments":-1}`, sms, mfa.Receipt{CarrierID: "gw-46"}},
		{"sms, id of another type", `{"id":46}`, sms, mfa.Receipt{}},
		{"call, 204", "", call, mfa.Receipt{CarrierID: "tx-7"}},
		{"call, answer with another id", `{"id":"gw-47"}`, call, mfa.Receipt{CarrierID: "tx-7"}},
	}
	for _, tt := range tests {
		answer = tt.answer
		got, err := c.Deliver(t.Context(), tt.give)
		if err != nil || got != tt.want {
			t.Errorf("%s: Deliver() = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

// TestSignVector pins the documented format with an independently
// computed value (printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 0123456789abcdef-webhook).
func TestSignVector(t *testing.T) {
	got := webhook.Sign(secret, 1700000000, []byte(`{"a":1}`))
	if !strings.HasPrefix(got, "v1=") || len(got) != 3+64 {
		t.Fatalf("Sign() = %s", got)
	}
	if want := opensslVector; got != want {
		t.Errorf("Sign() = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"call_id":"tx-1","key":"1"}`)
	ts := now.Unix()
	good := webhook.Sign(secret, ts, body)
	tests := []struct {
		name string
		ts   string
		sig  string
		body string
		ok   bool
	}{
		{"valid", strconv.FormatInt(ts, 10), good, string(body), true},
		{"tampered body", strconv.FormatInt(ts, 10), good, `{"call_id":"tx-1","key":"9"}`, false},
		{"other timestamp", strconv.FormatInt(ts+1, 10), good, string(body), false},
		{"stale", strconv.FormatInt(ts-400, 10), webhook.Sign(secret, ts-400, body), string(body), false},
		{"future", strconv.FormatInt(ts+400, 10), webhook.Sign(secret, ts+400, body), string(body), false},
		{"no timestamp", "", good, string(body), false},
		{"bad timestamp", "yesterday", good, string(body), false},
		{"no signature", strconv.FormatInt(ts, 10), "", string(body), false},
		{"other secret", strconv.FormatInt(ts, 10), webhook.Sign("another-secret-0123", ts, body), string(body), false},
		{"no version", strconv.FormatInt(ts, 10), strings.TrimPrefix(good, "v1="), string(body), false},
	}
	for _, tt := range tests {
		err := webhook.Verify(secret, tt.ts, tt.sig, []byte(tt.body), now)
		if (err == nil) != tt.ok {
			t.Errorf("Verify(%s) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name      string
		reply     func(n int, w http.ResponseWriter, r *http.Request) bool
		timeout   time.Duration
		wantErr   string
		wantTries int
		ok        bool
	}{
		{"500 then ok", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 0 {
				w.WriteHeader(500)
				return true
			}
			return false
		}, 0, "", 2, true},
		{"500 always", func(n int, w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(502); return true }, 0, "HTTP 502", 3, false},
		{"401", func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(401)
			w.Write([]byte("bad signature"))
			return true
		}, 0, `HTTP 401: "bad signature"`, 1, false},
		{"timeout", func(n int, w http.ResponseWriter, r *http.Request) bool { <-r.Context().Done(); return true },
			50 * time.Millisecond, "deadline exceeded", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &operator{reply: tt.reply}
			c := newClient(t, o, func(c *webhook.Config) {
				if tt.timeout > 0 {
					c.Timeout = tt.timeout
				}
			})
			err := c.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: "+15555550100", Body: "codes 9081726"})
			if tt.ok != (err == nil) || (!tt.ok && (mfa.KindOf(err) != mfa.Unavailable || !strings.Contains(err.Error(), tt.wantErr))) {
				t.Errorf("Send() = %v, want ok %v or unavailable containing %q", err, tt.ok, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "9081726") {
				t.Errorf("error shows the body: %v", err)
			}
			if n := o.count(); n != tt.wantTries {
				t.Errorf("operator got %d attempts, want %d", n, tt.wantTries)
			}
		})
	}
	if _, err := webhook.New(webhook.Config{URL: "ftp://x", Secret: "short"}); err == nil ||
		!strings.Contains(err.Error(), "URL") || !strings.Contains(err.Error(), "secret") {
		t.Errorf("New(bad) = %v", err)
	}
}

// opensslVector was computed with openssl (see TestSignVector).
const opensslVector = "v1=dfa59f86547a0501f5573265484120a24db48267b6fed30ca35853761014be9c"
