package twilio

import (
	"context"
	"encoding/json"
	"encoding/xml"
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

// DefaultBaseURL is Twilio's API.
const DefaultBaseURL = "https://api.twilio.com"

// Callback paths under Config.CallbackURL (internal/server serves them).
const (
	// GatherPath + "/" + txid is a call's <Gather> action.
	GatherPath = "/notify/twilio/gather"
	// StatusPath is the status callback of calls (?txid=) and SMS.
	StatusPath = "/notify/twilio/status"
)

// Defaults.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultRetries       = 2
	DefaultGatherTimeout = 10 * time.Second
	// MaxCallTime is the longest a call may last (Twilio's TimeLimit): a
	// call ends within it whatever happens.
	MaxCallTime = 60 * time.Second
	// RingTime is how long a call rings before Twilio gives up (no-answer).
	RingTime = 30 * time.Second
)

// Config is what the client needs. AccountSID and either AuthToken or
// APIKeySID+APIKeySecret authenticate; From (a Twilio number) or, for SMS
// only, MessagingServiceSID sends. CallbackURL is twostep's public base
// URL ("https://twostep.example.com"), which calls need for their
// <Gather> action.
type Config struct {
	BaseURL             string
	AccountSID          string
	AuthToken           string
	APIKeySID           string
	APIKeySecret        string
	From                string
	MessagingServiceSID string
	CallbackURL         string
	Timeout             time.Duration // per attempt; 0 = DefaultTimeout
	Retries             int           // after the first attempt; <0 = none, 0 = DefaultRetries
	GatherTimeout       time.Duration // how long a call waits for a key; 0 = DefaultGatherTimeout
	// ExtensionPreDelay is waited after the call connects before the
	// extension is dialled; ExtensionPostDelay after dialling it, before
	// the prompt is spoken.
	ExtensionPreDelay, ExtensionPostDelay time.Duration
	HTTPClient                            *http.Client                    // nil = a plain client
	Backoff                               func(attempt int) time.Duration // wait before retry attempt (1, 2, ...); nil = 250ms doubling
	Logger                                *slog.Logger
}

// Client sends SMS and places calls through Twilio.
type Client struct {
	cfg  Config
	base string
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	var errs []error
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("twilio: base URL %q is not an http(s) URL", cfg.BaseURL))
	}
	if cfg.AccountSID == "" {
		errs = append(errs, errors.New("twilio: account SID is required"))
	}
	if cfg.AuthToken == "" && (cfg.APIKeySID == "" || cfg.APIKeySecret == "") {
		errs = append(errs, errors.New("twilio: an auth token, or an API key SID and secret, is required"))
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		errs = append(errs, errors.New("twilio: a from number or a messaging service SID is required"))
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
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = DefaultGatherTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return 250 * time.Millisecond << (n - 1) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID)
	return &Client{cfg: cfg, base: base}, nil
}

// Send texts an SMS or places a call. Email is Invalid (not this
// carrier's). A failure is Unavailable.
func (c *Client) Send(ctx context.Context, m mfa.Message) error {
	_, err := c.Deliver(ctx, m)
	return err
}

// Deliver is Send returning Twilio's receipt: the message's or call's
// sid, and an SMS's num_segments (0 when Twilio did not say).
func (c *Client) Deliver(ctx context.Context, m mfa.Message) (mfa.Receipt, error) {
	switch m.Channel {
	case mfa.ChannelSMS:
		return c.sms(ctx, m)
	case mfa.ChannelVoice:
		return c.call(ctx, m)
	}
	return mfa.Receipt{}, mfa.InvalidField("channel", "the twilio carrier sends SMS and calls only")
}

func (c *Client) sms(ctx context.Context, m mfa.Message) (mfa.Receipt, error) {
	if strings.TrimSpace(string(m.Body)) == "" {
		return mfa.Receipt{}, mfa.InvalidField("body", "the message body is empty")
	}
	f := url.Values{"To": {m.To}, "Body": {string(m.Body)}}
	if c.cfg.MessagingServiceSID != "" {
		f.Set("MessagingServiceSid", c.cfg.MessagingServiceSID)
	} else {
		f.Set("From", c.cfg.From)
	}
	if c.cfg.CallbackURL != "" {
		f.Set("StatusCallback", c.callback(StatusPath, url.Values{"kind": {"sms"}}))
	}
	r, err := c.post(ctx, "/Messages.json", f)
	if err != nil {
		return mfa.Receipt{}, mfa.Wrap(mfa.Unavailable, "could not send the SMS", err)
	}
	return mfa.Receipt{CarrierID: r.SID, Segments: int(r.NumSegments)}, nil
}

func (c *Client) call(ctx context.Context, m mfa.Message) (mfa.Receipt, error) {
	switch {
	case m.TxID == "":
		return mfa.Receipt{}, mfa.InvalidField("txid", "a call needs the transaction it collects the answer of")
	case c.cfg.From == "":
		return mfa.Receipt{}, mfa.E(mfa.Unavailable, "phone calls need a from number (twilio from)")
	case c.cfg.CallbackURL == "":
		return mfa.Receipt{}, mfa.E(mfa.Unavailable, "phone calls need the public callback URL")
	}
	// The phone's own delays (Duo's predelay/postdelay) win over the
	// configured ones; without an extension there is nothing to wait for.
	pre, post := c.cfg.ExtensionPreDelay, c.cfg.ExtensionPostDelay
	if m.ExtensionPreDelay != nil {
		pre = *m.ExtensionPreDelay
	}
	if m.ExtensionPostDelay != nil {
		post = *m.ExtensionPostDelay
	}
	if m.Extension == "" {
		post = 0
	}
	f := url.Values{
		"To":                  {m.To},
		"From":                {c.cfg.From},
		"Twiml":               {c.twiML(string(m.Body), m.TxID, post)},
		"Timeout":             {strconv.Itoa(int(RingTime.Seconds()))},
		"TimeLimit":           {strconv.Itoa(int(MaxCallTime.Seconds()))},
		"StatusCallback":      {c.callback(StatusPath, url.Values{"kind": {"call"}, "txid": {m.TxID}})},
		"StatusCallbackEvent": {"completed"},
	}
	if m.Extension != "" {
		d, err := SendDigits(m.Extension, pre)
		if err != nil {
			return mfa.Receipt{}, err
		}
		f.Set("SendDigits", d)
	}
	r, err := c.post(ctx, "/Calls.json", f)
	if err != nil {
		return mfa.Receipt{}, mfa.Wrap(mfa.Unavailable, "could not place the phone call", err)
	}
	return mfa.Receipt{CarrierID: r.SID}, nil
}

// SendDigits is Twilio's SendDigits for an extension dialled after pre:
// each "w" waits half a second. Invalid for anything but digits, * and #.
func SendDigits(ext string, pre time.Duration) (string, error) {
	if ext == "" || len(ext) > 32 || strings.Trim(ext, "0123456789*#") != "" {
		return "", mfa.InvalidField("extension", "an extension is 1 to 32 digits, * or #")
	}
	return strings.Repeat("w", int(pre/(500*time.Millisecond))) + ext, nil
}

func (c *Client) callback(path string, q url.Values) string {
	return strings.TrimRight(c.cfg.CallbackURL, "/") + path + "?" + q.Encode()
}

// GatherURL is the <Gather> action of the call for txid.
func (c *Client) GatherURL(txid string) string {
	return strings.TrimRight(c.cfg.CallbackURL, "/") + GatherPath + "/" + url.PathEscape(txid)
}

// TwiML is a call's instructions: wait the post-delay after an extension,
// then speak text (twice) inside a one-digit <Gather> whose action is
// GatherURL(txid), called with empty Digits when no key was pressed.
func (c *Client) TwiML(text, txid string, extension bool) string {
	post := time.Duration(0)
	if extension {
		post = c.cfg.ExtensionPostDelay
	}
	return c.twiML(text, txid, post)
}

// twiML is TwiML pausing post (whole seconds; none when under a second)
// before speaking.
func (c *Client) twiML(text, txid string, post time.Duration) string {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<Response>")
	if secs := int(post.Seconds()); secs > 0 {
		fmt.Fprintf(&b, `<Pause length="%d"/>`, secs)
	}
	fmt.Fprintf(&b, `<Gather action="%s" method="POST" numDigits="1" timeout="%d" actionOnEmptyResult="true">`,
		xmlEscape(c.GatherURL(txid)), int(c.cfg.GatherTimeout.Seconds()))
	fmt.Fprintf(&b, `<Say loop="2">%s</Say></Gather></Response>`, xmlEscape(text))
	return b.String()
}

// Reply is the TwiML twostep answers a <Gather> action with: say text,
// hang up.
func Reply(text string) string {
	return xml.Header + "<Response><Say>" + xmlEscape(text) + "</Say><Hangup/></Response>"
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// apiError is Twilio's error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// resource is what Twilio answers a create with (the fields we use).
type resource struct {
	SID         string     `json:"sid"`
	Status      string     `json:"status"`
	NumSegments flexNumber `json:"num_segments"` // messages only
}

// flexNumber is a non-negative count Twilio sends as a string ("2"); a
// number, null or anything unparsable is taken as is or as 0 (unknown).
type flexNumber int

func (n *flexNumber) UnmarshalJSON(b []byte) error {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	switch v := v.(type) {
	case string:
		if i, err := strconv.Atoi(v); err == nil && i > 0 && i < 1000 {
			*n = flexNumber(i)
		}
	case float64:
		if v > 0 && v < 1000 && v == float64(int(v)) {
			*n = flexNumber(v)
		}
	}
	return nil
}

// transient marks an error worth another attempt.
type transient struct{ error }

func (t transient) Unwrap() error { return t.error }

// post creates a resource, retrying transient failures.
func (c *Client) post(ctx context.Context, path string, form url.Values) (resource, error) {
	var last error
	for attempt := 0; attempt <= c.cfg.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(c.cfg.Backoff(attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return resource{}, fmt.Errorf("%w (after: %w)", ctx.Err(), last)
			case <-t.C:
			}
		}
		r, err := c.once(ctx, path, form)
		if err == nil {
			return r, nil
		}
		last = err
		var tr transient
		if !errors.As(err, &tr) || ctx.Err() != nil {
			break
		}
		c.cfg.Logger.WarnContext(ctx, "twilio request failed, retrying", "path", path, "attempt", attempt+1, "error", err)
	}
	return resource{}, last
}

// once is one attempt.
func (c *Client) once(ctx context.Context, path string, form url.Values) (resource, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return resource{}, fmt.Errorf("twilio: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKeySID != "" {
		req.SetBasicAuth(c.cfg.APIKeySID, c.cfg.APIKeySecret)
	} else {
		req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		// The URL error names the URL only (no body, no credentials).
		return resource{}, transient{fmt.Errorf("twilio: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resource{}, transient{fmt.Errorf("twilio: reading the answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e apiError
		_ = json.Unmarshal(body, &e)
		err := fmt.Errorf("twilio: %s %s: HTTP %d", req.Method, path, resp.StatusCode)
		if e.Code != 0 || e.Message != "" {
			err = fmt.Errorf("%w: error %d: %s", err, e.Code, e.Message)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("%w (check the account SID and auth token or API key)", err)
		}
		if resp.StatusCode >= 500 {
			return resource{}, transient{err}
		}
		return resource{}, err
	}
	var r resource
	if err := json.Unmarshal(body, &r); err != nil || r.SID == "" {
		return resource{}, fmt.Errorf("twilio: %s %s: HTTP %d with a malformed answer (no sid)", req.Method, path, resp.StatusCode)
	}
	if r.Status == "failed" || r.Status == "undelivered" {
		return resource{}, fmt.Errorf("twilio: %s %s: %s is %s", req.Method, path, r.SID, r.Status)
	}
	return r, nil
}
