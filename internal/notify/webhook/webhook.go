package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

var _ mfa.Notifier = (*Client)(nil)

// Header names of a signed request, in both directions.
const (
	TimestampHeader = "X-Twostep-Timestamp"
	SignatureHeader = "X-Twostep-Signature"
	// SignatureVersion prefixes the signature: "v1=<hex>".
	SignatureVersion = "v1"
)

// KeypressPath is the signed callback (under the public URL) where the
// operator's system reports a call's keypress.
const KeypressPath = "/notify/webhook/keypress"

// Defaults.
const (
	DefaultTimeout = 10 * time.Second
	DefaultRetries = 2
	// Tolerance is how far a callback's timestamp may be from our clock.
	Tolerance = 5 * time.Minute
	// MinSecretLen is the shortest secret accepted.
	MinSecretLen = 16
)

// Config is what the client needs.
type Config struct {
	URL         string // where messages are POSTed
	Secret      string // signs requests and callbacks; at least MinSecretLen bytes
	CallbackURL string // twostep's public base URL, for calls' keypress_url
	Timeout     time.Duration
	Retries     int // after the first attempt; <0 = none, 0 = DefaultRetries
	HTTPClient  *http.Client
	Backoff     func(attempt int) time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// Client posts messages to the operator's URL.
type Client struct{ cfg Config }

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	var errs []error
	if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("webhook: URL %q is not an http(s) URL", cfg.URL))
	}
	if len(cfg.Secret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("webhook: the secret must be at least %d characters", MinSecretLen))
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
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return 250 * time.Millisecond << (n - 1) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg}, nil
}

// Payload is the JSON body of one message.
type Payload struct {
	Kind    string `json:"kind"` // sms, phone or email
	To      string `json:"to"`
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	Context string `json:"context,omitempty"`
	UserID  string `json:"user_id,omitempty"`
	Call    *Call  `json:"call,omitempty"`
}

// Call is what a phone call adds.
type Call struct {
	CallID      string `json:"call_id"`
	Extension   string `json:"extension,omitempty"`
	KeypressURL string `json:"keypress_url"`
}

// Keypress is the body of the signed callback: the key pressed ("1"
// approves, "9" reports fraud), or, with no key, how the call ended
// ("hangup", "no-answer", "busy", "failed").
type Keypress struct {
	CallID string `json:"call_id"`
	Key    string `json:"key,omitempty"`
	Status string `json:"status,omitempty"`
}

// Send posts m. A failure is Unavailable.
func (c *Client) Send(ctx context.Context, m mfa.Message) error {
	p := Payload{Kind: string(m.Channel), To: m.To, Subject: m.Subject, Text: string(m.Body), Context: m.Context, UserID: m.UserID}
	what := "could not send the message"
	switch m.Channel {
	case mfa.ChannelSMS:
		what = "could not send the SMS"
	case mfa.ChannelEmail:
		what = "could not send the email"
	case mfa.ChannelVoice:
		what = "could not place the phone call"
		if m.TxID == "" {
			return mfa.InvalidField("txid", "a call needs the transaction it collects the answer of")
		}
		if c.cfg.CallbackURL == "" {
			return mfa.E(mfa.Unavailable, "phone calls need the public callback URL")
		}
		p.Call = &Call{CallID: m.TxID, Extension: m.Extension, KeypressURL: strings.TrimRight(c.cfg.CallbackURL, "/") + KeypressPath}
	default:
		return mfa.InvalidField("channel", "unknown channel: want sms, phone or email")
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	if err := c.post(ctx, body); err != nil {
		return mfa.Wrap(mfa.Unavailable, what, err)
	}
	return nil
}

// Sign is the signature header value of body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return SignatureVersion + "=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signed request's headers against body: the timestamp
// must be within Tolerance of now and the signature must match. The
// error says which check failed (for the log, not for the caller).
func Verify(secret, tsHeader, sigHeader string, body []byte, now time.Time) error {
	if secret == "" {
		return errors.New("no webhook secret is configured")
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil || tsHeader == "" {
		return fmt.Errorf("missing or malformed %s", TimestampHeader)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("%s is %v from our clock (at most %v)", TimestampHeader, d.Round(time.Second), Tolerance)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sigHeader)) {
		return fmt.Errorf("%s does not match", SignatureHeader)
	}
	return nil
}

type transient struct{ error }

func (t transient) Unwrap() error { return t.error }

func (c *Client) post(ctx context.Context, body []byte) error {
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
		err := c.once(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		var tr transient
		if !errors.As(err, &tr) || ctx.Err() != nil {
			break
		}
		c.cfg.Logger.WarnContext(ctx, "webhook request failed, retrying", "attempt", attempt+1, "error", err)
	}
	return last
}

func (c *Client) once(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	ts := c.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(c.cfg.Secret, ts, body))
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return transient{fmt.Errorf("webhook: %w", err)}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	err = fmt.Errorf("webhook: HTTP %d: %q", resp.StatusCode, strings.TrimSpace(string(snippet)))
	if resp.StatusCode >= 500 {
		return transient{err}
	}
	return err
}
