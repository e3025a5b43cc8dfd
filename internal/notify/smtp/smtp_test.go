package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/smtp"
	"github.com/twostep-auth/twostep/internal/notify/smtp/smtptest"
)

// logBuffer collects every log line of a client.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newClient(t *testing.T, f *smtptest.Server, logs io.Writer, change func(*smtp.Config)) *smtp.Client {
	t.Helper()
	cfg := smtp.Config{Host: f.Host, Port: f.Port, TLS: smtp.TLSStartTLS, Username: smtptest.Username, Password: smtptest.Password,
		From: "twostep@example.com", Organization: "Example & Co <Ltd>", RootCAs: f.Local.Pool,
		Timeout: 5 * time.Second, Backoff: func(int) time.Duration { return 0 },
		Now:    func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) },
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if change != nil {
		change(&cfg)
	}
	c, err := smtp.New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return c
}

const secretLink = "https://mfa.example.com/activate/SECRETCODE-0123456789"

func enrollMessage() mfa.Message {
	body := "Hello <script>alert(1)</script> & friends,\n\nOpen this link:\n\n  " + secretLink + "\n\nThe link works once."
	return mfa.Message{Channel: mfa.ChannelEmail, To: "alice@example.org", Subject: "Enroll in twostep",
		Body: mfa.Passcode(body), Context: "enrollment", UserID: "DUALICE"}
}

func TestSendSTARTTLS(t *testing.T) {
	f := smtptest.Start(t, smtptest.Options{STARTTLS: true})
	var logs logBuffer
	c := newClient(t, f, &logs, nil)
	if err := c.Send(context.Background(), enrollMessage()); err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	msgs := f.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if !got.TLS || got.User != smtptest.Username || got.From != "twostep@example.com" || len(got.To) != 1 || got.To[0] != "alice@example.org" {
		t.Errorf("envelope = tls %v, user %q, from %q, to %q; want TLS, %q, twostep@example.com, [alice@example.org]",
			got.TLS, got.User, got.From, got.To, smtptest.Username)
	}
	p := smtptest.Parse(t, got.Data)
	from, err := mail.ParseAddress(p.Header.Get("From"))
	if err != nil || from.Name != "Example & Co <Ltd>" || from.Address != "twostep@example.com" {
		t.Errorf("From = %q (%v), want the organization's name and twostep@example.com", p.Header.Get("From"), err)
	}
	for k, want := range map[string]string{"To": "<alice@example.org>", "Subject": "Enroll in twostep",
		"Auto-Submitted": "auto-generated"} {
		if v := p.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if d, err := p.Header.Date(); err != nil || !d.Equal(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("Date = %v (%v), want the injected clock's time", d, err)
	}
	if id := p.Header.Get("Message-ID"); !strings.HasSuffix(id, "@example.com>") || len(id) < 34 {
		t.Errorf("Message-ID = %q, want <32 hex@example.com>", id)
	}
	for _, want := range []string{"Hello <script>alert(1)</script> & friends,", secretLink, "Sent by twostep for Example & Co <Ltd>."} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, p.Text)
		}
	}
	for _, want := range []string{"Hello &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends,",
		`<a href="` + secretLink + `">` + secretLink + `</a>`, "Example &amp; Co &lt;Ltd&gt;"} {
		if !strings.Contains(p.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, p.HTML)
		}
	}
	if strings.Contains(p.HTML, "<script>") || strings.Contains(p.HTML, "<Ltd>") {
		t.Errorf("HTML part holds unescaped text:\n%s", p.HTML)
	}
	if s := logs.String(); strings.Contains(s, "SECRETCODE") || strings.Contains(s, smtptest.Password) {
		t.Errorf("logs hold the link or the password:\n%s", s)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	f := smtptest.Start(t, smtptest.Options{Implicit: true})
	c := newClient(t, f, io.Discard, func(c *smtp.Config) { c.TLS = smtp.TLSImplicit })
	if err := c.Send(context.Background(), enrollMessage()); err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	if msgs := f.Messages(); len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("server received %d messages (%+v), want 1 over TLS", len(msgs), msgs)
	}
}

// TestSendFailures: every failure is Unavailable, names its cause, keeps
// secrets out of the error and the logs, leaves nothing delivered, and is
// retried only when it may be transient.
func TestSendFailures(t *testing.T) {
	tests := []struct {
		name         string
		opts         smtptest.Options
		change       func(*smtp.Config)
		wantAttempts int
		wantErr      string
	}{
		{"bad credentials", smtptest.Options{STARTTLS: true}, func(c *smtp.Config) { c.Password = "wrong-password" }, 1, "535"},
		{"recipient refused (5xx)", smtptest.Options{STARTTLS: true, RcptErr: func(int) error {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}}, nil, 1, "550"},
		{"data refused (5xx)", smtptest.Options{STARTTLS: true, DataErr: func(int) error {
			return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "rejected"}
		}}, nil, 1, "554"},
		{"temporary failure (4xx) every time", smtptest.Options{STARTTLS: true, DataErr: func(int) error {
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}}, nil, 3, "451"},
		{"no STARTTLS offered", smtptest.Options{}, nil, 1, "STARTTLS"},
		{"untrusted certificate", smtptest.Options{STARTTLS: true}, func(c *smtp.Config) { c.RootCAs = nil }, 1, "certificate"},
		{"timeout", smtptest.Options{STARTTLS: true, Hang: make(chan struct{})},
			func(c *smtp.Config) { c.Timeout = 300 * time.Millisecond; c.Retries = 1 }, 2, "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := smtptest.Start(t, tt.opts)
			var logs logBuffer
			c := newClient(t, f, &logs, tt.change)
			err := c.Send(context.Background(), enrollMessage())
			var me *mfa.Error
			if !errors.As(err, &me) || me.Kind != mfa.Unavailable || me.Msg != "could not send the email" {
				t.Fatalf("Send() error = %v, want Unavailable \"could not send the email\"", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send() error = %v, want it to name %q", err, tt.wantErr)
			}
			if s := err.Error() + logs.String(); strings.Contains(s, "SECRETCODE") || strings.Contains(s, smtptest.Password) {
				t.Errorf("error or logs hold the link or the password: %s", s)
			}
			if n := f.Connections(); n != tt.wantAttempts {
				t.Errorf("server saw %d connections, want %d", n, tt.wantAttempts)
			}
			if msgs := f.Messages(); len(msgs) != 0 {
				t.Errorf("server accepted %d messages, want none", len(msgs))
			}
		})
	}
}

func TestSendRetriesTransientOnce(t *testing.T) {
	f := smtptest.Start(t, smtptest.Options{STARTTLS: true, DataErr: func(n int) error {
		if n == 1 {
			return &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}
		}
		return nil
	}})
	c := newClient(t, f, io.Discard, nil)
	if err := c.Send(context.Background(), enrollMessage()); err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	if n, msgs := f.Connections(), f.Messages(); n != 2 || len(msgs) != 1 {
		t.Errorf("server saw %d connections and accepted %d messages, want 2 and 1", n, len(msgs))
	}
}

func TestSendPlaintextLoopback(t *testing.T) {
	f := smtptest.Start(t, smtptest.Options{})
	// go-smtp refuses AUTH without TLS, so a relay on loopback that needs
	// no authentication: the session treats the missing AUTH as refused.
	c := newClient(t, f, io.Discard, func(c *smtp.Config) {
		c.TLS, c.Username, c.Password, c.Host = smtp.TLSNone, "", "", "127.0.0.1"
	})
	err := c.Send(context.Background(), enrollMessage())
	if !errors.Is(err, mfa.ErrUnavailable) || !strings.Contains(err.Error(), "authenticate first") {
		t.Fatalf("Send() without AUTH to a server requiring it = %v, want Unavailable naming the refusal", err)
	}
	if f.Connections() != 1 {
		t.Errorf("server saw %d connections, want 1 (5xx is not retried)", f.Connections())
	}
	open := smtptest.Start(t, smtptest.Options{Open: true})
	c = newClient(t, open, io.Discard, func(c *smtp.Config) {
		c.TLS, c.Username, c.Password, c.Host = smtp.TLSNone, "", "", "127.0.0.1"
	})
	if err := c.Send(context.Background(), enrollMessage()); err != nil {
		t.Fatalf("Send() to an open loopback relay error = %v", err)
	}
	if msgs := open.Messages(); len(msgs) != 1 || msgs[0].TLS {
		t.Errorf("server accepted %+v, want one message in plaintext", msgs)
	}
}

func TestNewRefuses(t *testing.T) {
	ok := smtp.Config{Host: "mail.example.com", TLS: smtp.TLSStartTLS, From: "twostep@example.com"}
	tests := []struct {
		name   string
		change func(*smtp.Config)
		want   string
	}{
		{"no host", func(c *smtp.Config) { c.Host = "" }, "host is required"},
		{"plaintext to a remote host", func(c *smtp.Config) { c.TLS = smtp.TLSNone }, "only to a loopback host"},
		{"unknown tls", func(c *smtp.Config) { c.TLS = "ssl" }, "not starttls, implicit or none"},
		{"from with a name", func(c *smtp.Config) { c.From = "Twostep <t@example.com>" }, "not a plain email address"},
		{"from not an address", func(c *smtp.Config) { c.From = "twostep" }, "not a plain email address"},
		{"username without password", func(c *smtp.Config) { c.Username = "u" }, "go together"},
		{"bad port", func(c *smtp.Config) { c.Port = 70000 }, "out of range"},
	}
	for _, tt := range tests {
		cfg := ok
		tt.change(&cfg)
		if _, err := smtp.New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s) error = %v, want %q", tt.name, err, tt.want)
		}
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		cfg := ok
		cfg.Host, cfg.TLS = host, smtp.TLSNone
		if _, err := smtp.New(cfg); err != nil {
			t.Errorf("New(tls none to %s) error = %v", host, err)
		}
	}
}

func TestSendRefusesBadMessages(t *testing.T) {
	c, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: 1, TLS: smtp.TLSNone, From: "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	good := enrollMessage()
	tests := []struct {
		name   string
		change func(*mfa.Message)
		field  string
	}{
		{"sms", func(m *mfa.Message) { m.Channel = mfa.ChannelSMS }, "channel"},
		{"bad address", func(m *mfa.Message) { m.To = "not an address" }, "to"},
		{"header injection in to", func(m *mfa.Message) { m.To = "a@example.org\r\nBcc: b@example.org" }, "to"},
		{"header injection in subject", func(m *mfa.Message) { m.Subject = "hi\r\nBcc: b@example.org" }, "subject"},
		{"empty body", func(m *mfa.Message) { m.Body = " \n" }, "body"},
	}
	for _, tt := range tests {
		m := good
		tt.change(&m)
		err := c.Send(context.Background(), m)
		var e *mfa.Error
		if !errors.As(err, &e) || e.Kind != mfa.Invalid || e.Field != tt.field {
			t.Errorf("Send(%s) error = %v, want Invalid on %q", tt.name, err, tt.field)
		}
	}
}

func TestRender(t *testing.T) {
	text, html, err := smtp.Render("Org", "Subject", "Line one\nsee https://a.example/x?y=1&z=2.\n\n\n\nLast")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Line one\nsee https://a.example/x?y=1&z=2.\n\n\n\nLast\n\n-- \nSent by twostep for Org. This is an automatic message; replies are not read.\n"; text != want {
		t.Errorf("Render() text = %q, want %q", text, want)
	}
	for _, want := range []string{"<p>Line one<br>\nsee <a href=\"https://a.example/x?y=1&amp;z=2\">https://a.example/x?y=1&amp;z=2</a>.</p>",
		"<p>Last</p>", "<title>Subject</title>"} {
		if !strings.Contains(html, want) {
			t.Errorf("Render() html lacks %q:\n%s", want, html)
		}
	}
	if n := strings.Count(html, "<p>"); n != 2 {
		t.Errorf("Render() html has %d body paragraphs, want 2 (blank paragraphs dropped):\n%s", n, html)
	}
}
