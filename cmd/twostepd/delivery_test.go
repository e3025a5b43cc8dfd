package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestDeliveryTestCommand: `twostepd delivery test` sends an SMS through
// the configured carrier (a fake Twilio here), configured by environment
// with the token from a file, and reports a carrier's refusal clearly.
func TestDeliveryTestCommand(t *testing.T) {
	var mu sync.Mutex
	var forms []url.Values
	status := 201
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		r.ParseForm()
		mu.Lock()
		forms = append(forms, r.PostForm)
		st := status
		mu.Unlock()
		if u != "AC01" || p != "file-token-0123456789" || r.URL.Path != "/2010-04-01/Accounts/AC01/Messages.json" {
			w.WriteHeader(401)
			io.WriteString(w, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		w.WriteHeader(st)
		io.WriteString(w, `{"sid":"SM1","status":"queued","code":20500,"message":"boom"}`)
	}))
	defer fake.Close()
	dir := t.TempDir()
	tokenFile := dir + "/token"
	if err := os.WriteFile(tokenFile, []byte("file-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TWOSTEP_DELIVERY_CARRIER": "twilio", "TWOSTEP_TWILIO_BASE_URL": fake.URL,
		"TWOSTEP_TWILIO_ACCOUNT_SID": "AC01", "TWOSTEP_TWILIO_AUTH_TOKEN_FILE": tokenFile, "TWOSTEP_TWILIO_FROM": "+15005550006",
		"TWOSTEP_DELIVERY_RETRIES": "0"}
	getenv := func(k string) string { return env[k] }
	var o, e bytes.Buffer
	err := run(context.Background(), []string{"delivery", "test", "+15555550100", "--data", dir}, getenv, strings.NewReader(""), &o, &e)
	if err != nil || !strings.Contains(o.String(), "sent a test SMS to +15555550100 through twilio") {
		t.Fatalf("delivery test = %v, %q; stderr %s", err, o.String(), e.String())
	}
	if len(forms) != 1 || forms[0].Get("To") != "+15555550100" || !strings.Contains(forms[0].Get("Body"), "test message") {
		t.Errorf("fake Twilio got %v", forms)
	}
	mu.Lock()
	status = 500
	mu.Unlock()
	err = run(context.Background(), []string{"delivery", "test", "+15555550100", "--data", dir}, getenv, strings.NewReader(""), &o, &e)
	if err == nil || !strings.Contains(err.Error(), "could not send the SMS") || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("delivery test against a failing carrier = %v", err)
	}
}
