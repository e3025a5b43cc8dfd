package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/twostep-auth/twostep/internal/mfa"
)

var _ mfa.Notifier = (*Client)(nil)

// TLS modes.
const (
	// TLSStartTLS connects in plaintext and requires STARTTLS before
	// anything else (port 587 by default). A server that does not offer
	// it is a failure, never a fallback to plaintext.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465 by default).
	TLSImplicit = "implicit"
	// TLSNone is plaintext, allowed only to a loopback relay (port 25 by
	// default).
	TLSNone = "none"
)

// Defaults.
const (
	DefaultTimeout = 10 * time.Second
	DefaultRetries = 2
)

// Config is what the client needs. Host, From and TLS are required;
// Username and Password go together.
type Config struct {
	Host     string
	Port     int    // 0: 587 (starttls), 465 (implicit) or 25 (none)
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
	Username string
	Password string
	// From is the sender's address ("twostep@example.com"); the display
	// name is Organization.
	From string
	// Organization names who sends: the From display name and the line
	// every message ends with. Empty: "twostep".
	Organization string
	// RootCAs checks the server's certificate; nil = the system roots.
	RootCAs *x509.CertPool
	// ServerName overrides the name the certificate must carry; empty =
	// Host.
	ServerName string
	Timeout    time.Duration                   // per attempt; 0 = DefaultTimeout
	Retries    int                             // after the first attempt; <0 = none, 0 = DefaultRetries
	Backoff    func(attempt int) time.Duration // wait before retry attempt (1, 2, ...); nil = 250ms doubling
	Now        func() time.Time                // the Date header; nil = time.Now
	Rand       io.Reader                       // Message-ID; nil = crypto/rand
	Logger     *slog.Logger
}

// Client sends email through one SMTP server.
type Client struct {
	cfg  Config
	opts []gomail.Option
	from *mail.Address
}

// New checks cfg and returns a client. It does not connect.
func New(cfg Config) (*Client, error) {
	var errs []error
	if cfg.Host == "" {
		errs = append(errs, errors.New("smtp: host is required"))
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil || from.Name != "" {
		errs = append(errs, fmt.Errorf("smtp: from %q is not a plain email address", cfg.From))
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !IsLoopback(cfg.Host) {
			errs = append(errs, fmt.Errorf("smtp: tls = %q is allowed only to a loopback host, not %q", TLSNone, cfg.Host))
		}
	default:
		errs = append(errs, fmt.Errorf("smtp: tls %q is not starttls, implicit or none", cfg.TLS))
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("smtp: port %d is out of range", cfg.Port))
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		errs = append(errs, errors.New("smtp: username and password go together"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return 250 * time.Millisecond << (n - 1) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Organization == "" {
		cfg.Organization = "twostep"
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	}
	serverName := cfg.ServerName
	if serverName == "" {
		serverName = cfg.Host
	}
	tc := &tls.Config{ServerName: serverName, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	opts := []gomail.Option{
		gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout), gomail.WithTLSConfig(tc),
		gomail.WithoutNoop(),
	}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	switch {
	case cfg.Username == "":
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthNoAuth))
	case cfg.TLS == TLSNone:
		// Loopback only (checked above): PLAIN without TLS.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlainNoEnc),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	default:
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	return &Client{cfg: cfg, opts: opts, from: from}, nil
}

// IsLoopback reports whether host is "localhost" or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send emails m (Channel email; anything else is Invalid). A failure is
// Unavailable naming the SMTP server's reply.
func (c *Client) Send(ctx context.Context, m mfa.Message) error {
	if m.Channel != mfa.ChannelEmail {
		return mfa.InvalidField("channel", "the smtp carrier sends email only")
	}
	msg, err := c.message(m)
	if err != nil {
		return err
	}
	if err := c.send(ctx, msg); err != nil {
		return mfa.Wrap(mfa.Unavailable, "could not send the email", err)
	}
	return nil
}

// message builds the email: plain text and its HTML rendering.
func (c *Client) message(m mfa.Message) (*gomail.Msg, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil || strings.ContainsAny(m.To, "\r\n") {
		return nil, mfa.InvalidField("to", "not an email address")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, mfa.InvalidField("subject", "a subject is one line")
	}
	if strings.TrimSpace(string(m.Body)) == "" {
		return nil, mfa.InvalidField("body", "the message body is empty")
	}
	text, html, err := Render(c.cfg.Organization, m.Subject, string(m.Body))
	if err != nil {
		return nil, fmt.Errorf("smtp: render: %w", err)
	}
	id := make([]byte, 16)
	if _, err := io.ReadFull(c.cfg.Rand, id); err != nil {
		return nil, fmt.Errorf("smtp: message id: %w", err)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(c.cfg.Organization, c.from.Address); err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	if err := msg.To(to.Address); err != nil {
		return nil, mfa.InvalidField("to", "not an email address")
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(c.cfg.Now())
	domain := c.from.Address[strings.LastIndexByte(c.from.Address, '@')+1:]
	msg.SetMessageIDWithValue(hex.EncodeToString(id) + "@" + domain)
	// RFC 3834: machines should not answer it (no vacation replies).
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// send delivers msg, retrying transient failures with a new connection.
func (c *Client) send(ctx context.Context, msg *gomail.Msg) error {
	var last error
	for attempt := 0; attempt <= c.cfg.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(c.cfg.Backoff(attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w (after: %w)", ctx.Err(), last)
			case <-t.C:
			}
		}
		err := c.once(ctx, msg)
		if err == nil {
			return nil
		}
		last = err
		if !transient(err) || ctx.Err() != nil {
			break
		}
		c.cfg.Logger.WarnContext(ctx, "smtp send failed, retrying", "host", c.cfg.Host, "attempt", attempt+1, "error", err)
	}
	return last
}

// once is one attempt: connect, TLS, authenticate, send. The message is
// delivered when the server accepted its data; a failure to say goodbye
// afterwards is not a failure of the send (retrying it would send the
// message twice).
func (c *Client) once(ctx context.Context, msg *gomail.Msg) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	mc, err := gomail.NewClient(c.cfg.Host, c.opts...)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	conn, err := mc.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp: connecting to %s:%d: %w", c.cfg.Host, c.cfg.Port, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if err := mc.SendWithSMTPClient(conn, msg); err != nil {
		_ = conn.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("smtp: sending: %w: %w", ctx.Err(), err)
		}
		return fmt.Errorf("smtp: sending: %w", err)
	}
	if err := mc.CloseWithSMTPClient(conn); err != nil {
		c.cfg.Logger.DebugContext(ctx, "smtp: closing after a sent message", "host", c.cfg.Host, "error", err)
	}
	return nil
}

// transient reports whether another attempt may succeed: network errors,
// timeouts and 4xx replies; not 5xx replies (refused recipient, bad
// credentials) nor certificate errors.
func transient(err error) bool {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 400 && tp.Code < 500
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		if se.IsTemp() {
			return true
		}
		if se.ErrorCode() >= 500 {
			return false
		}
	}
	var cert *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	if errors.As(err, &cert) || errors.As(err, &unknown) || errors.As(err, &host) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || (se != nil && se.ErrorCode() == 0)
}
