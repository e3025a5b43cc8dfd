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

var _ mfa.Deliverer = (*Client)(nil)

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
	CallID    string `json:"call_id"`
	Extension string `json:"extension,omitempty"`
	// PreDelay and PostDelay are the phone's own waits, in whole seconds,
	// before and after dialling Extension (the Admin API's predelay and
	// postdelay); absent when the phone sets none, and the endpoint uses
	// its own.
	PreDelay    *int   `json:"extension_predelay,omitempty"`
	PostDelay   *int   `json:"extension_postdelay,omitempty"`
	KeypressURL string `json:"keypress_url"`
}

// seconds is d in whole seconds, or nil.
func seconds(d *time.Duration) *int {
	if d == nil {
		return nil
	}
	n := int(*d / time.Second)
	return &n
}

// Keypress is the body of the signed callback: the key pressed ("1"
// approves, "9" reports fraud), or, with no key, how the call ended
// ("hangup", "no-answer", "busy", "failed").
type Keypress struct {
	CallID string `json:"call_id"`
	Key    string `json:"key,omitempty"`
	Status string `json:"status,omitempty"`
}

// Answer is what the operator's endpoint may answer a message with (all
// optional, JSON, any 2xx): its id of the message and how many SMS
// segments it cost. The telephony log keeps them.
type Answer struct {
	ID       string `json:"id,omitempty"`
	Segments int    `json:"segments,omitempty"`
}

// MaxAnswerID is the longest Answer.ID kept; a longer or non-printable
// one is ignored.
const MaxAnswerID = 64

// Send posts m. A failure is Unavailable.
func (c *Client) Send(ctx context.Context, m mfa.Message) error {
	_, err := c.Deliver(ctx, m)
	return err
}

// Deliver is Send returning the receipt: for a call, its call_id (the
// keypress callback names it); for an SMS or email, the id and segments
// of the endpoint's JSON Answer if it gave one.
func (c *Client) Deliver(ctx context.Context, m mfa.Message) (mfa.Receipt, error) {
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
			return mfa.Receipt{}, mfa.InvalidField("txid", "a call needs the transaction it collects the answer of")
		}
		if c.cfg.CallbackURL == "" {
			return mfa.Receipt{}, mfa.E(mfa.Unavailable, "phone calls need the public callback URL")
		}
		p.Call = &Call{CallID: m.TxID, Extension: m.Extension, KeypressURL: strings.TrimRight(c.cfg.CallbackURL, "/") + KeypressPath}
		if m.Extension != "" {
			p.Call.PreDelay, p.Call.PostDelay = seconds(m.ExtensionPreDelay), seconds(m.ExtensionPostDelay)
		}
	default:
		return mfa.Receipt{}, mfa.InvalidField("channel", "unknown channel: want sms, phone or email")
	}
	body, err := json.Marshal(p)
	if err != nil {
		return mfa.Receipt{}, fmt.Errorf("webhook: %w", err)
	}
	a, err := c.post(ctx, body)
	if err != nil {
		return mfa.Receipt{}, mfa.Wrap(mfa.Unavailable, what, err)
	}
	if p.Call != nil {
		return mfa.Receipt{CarrierID: p.Call.CallID}, nil
	}
	return mfa.Receipt{CarrierID: a.ID, Segments: a.Segments}, nil
}

// parseAnswer reads a 2xx answer's optional Answer; anything else (no
// JSON, other fields, a bad id) is no answer, never an error: the message
// was taken.
func parseAnswer(b []byte) Answer {
	var a Answer
	if json.Unmarshal(b, &a) != nil {
		return Answer{}
	}
	if len(a.ID) > MaxAnswerID || strings.IndexFunc(a.ID, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		a.ID = ""
	}
	if a.Segments < 0 || a.Segments > 100 {
		a.Segments = 0
	}
	return a
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

func (c *Client) post(ctx context.Context, body []byte) (Answer, error) {
	var last error
	for attempt := 0; attempt <= c.cfg.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(c.cfg.Backoff(attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return Answer{}, fmt.Errorf("%w (after: %w)", ctx.Err(), last)
			case <-t.C:
			}
		}
		a, err := c.once(ctx, body)
		if err == nil {
			return a, nil
		}
		last = err
		var tr transient
		if !errors.As(err, &tr) || ctx.Err() != nil {
			break
		}
		c.cfg.Logger.WarnContext(ctx, "webhook request failed, retrying", "attempt", attempt+1, "error", err)
	}
	return Answer{}, last
}

// maxAnswerBytes bounds the answer read for an Answer.
const maxAnswerBytes = 4 << 10

func (c *Client) once(ctx context.Context, body []byte) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return Answer{}, fmt.Errorf("webhook: %w", err)
	}
	ts := c.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(c.cfg.Secret, ts, body))
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return Answer{}, transient{fmt.Errorf("webhook: %w", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
		return parseAnswer(b), nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	err = fmt.Errorf("webhook: HTTP %d: %q", resp.StatusCode, strings.TrimSpace(string(snippet)))
	if resp.StatusCode >= 500 {
		return Answer{}, transient{err}
	}
	return Answer{}, err
}
