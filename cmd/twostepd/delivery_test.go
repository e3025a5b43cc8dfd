package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twostep-auth/twostep/internal/notify/smtp/smtptest"
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

// TestDeliveryTestEmail: `twostepd delivery test ADDRESS` sends an email
// through the SMTP server smtp.* names (STARTTLS, the CA from
// smtp.ca_file, the password from a file), and a refusal is a clear error.
func TestDeliveryTestEmail(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{STARTTLS: true})
	dir := t.TempDir()
	pwFile := dir + "/smtp-password"
	if err := os.WriteFile(pwFile, []byte(smtptest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TWOSTEP_SMTP_HOST": srv.Host, "TWOSTEP_SMTP_PORT": strconv.Itoa(srv.Port),
		"TWOSTEP_SMTP_USERNAME": smtptest.Username, "TWOSTEP_SMTP_PASSWORD_FILE": pwFile,
		"TWOSTEP_SMTP_FROM": "twostep@example.com", "TWOSTEP_SMTP_CA_FILE": srv.Local.CAFile,
		"TWOSTEP_ORGANIZATION": "Example Corp", "TWOSTEP_DELIVERY_RETRIES": "0"}
	getenv := func(k string) string { return env[k] }
	var o, e bytes.Buffer
	err := run(context.Background(), []string{"delivery", "test", "ops@example.org", "--data", dir}, getenv, strings.NewReader(""), &o, &e)
	if err != nil || !strings.Contains(o.String(), "sent a test email to ops@example.org through smtp localhost") {
		t.Fatalf("delivery test = %v, %q; stderr %s", err, o.String(), e.String())
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != smtptest.Username {
		t.Fatalf("server accepted %+v, want one message over TLS from %s", msgs, smtptest.Username)
	}
	p := smtptest.Parse(t, msgs[0].Data)
	if !strings.Contains(p.Text, "delivery works") || !strings.Contains(p.HTML, "Example Corp") ||
		p.Header.Get("From") != `"Example Corp" <twostep@example.com>` {
		t.Errorf("message = From %q, text %q, html %q", p.Header.Get("From"), p.Text, p.HTML)
	}
	if strings.Contains(o.String()+e.String(), smtptest.Password) {
		t.Errorf("output holds the SMTP password: %s %s", o.String(), e.String())
	}
	env["TWOSTEP_SMTP_PASSWORD_FILE"] = ""
	env["TWOSTEP_SMTP_PASSWORD"] = "wrong-password"
	err = run(context.Background(), []string{"delivery", "test", "ops@example.org", "--data", dir}, getenv, strings.NewReader(""), &o, &e)
	if err == nil || !strings.Contains(err.Error(), "could not send the email") || !strings.Contains(err.Error(), "535") {
		t.Errorf("delivery test with a wrong password = %v, want could not send the email ... 535", err)
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("server accepted %d messages, want still 1", len(srv.Messages()))
	}
}
