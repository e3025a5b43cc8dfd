package adminclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Config says where the Admin API is and how to sign for it.
type Config struct {
	Host    string         // api_host: "host" or "host:port"; always HTTPS
	IKey    string         // Admin API integration key
	SKey    string         // its secret key; never logged or printed
	RootCAs *x509.CertPool // CAs to trust; nil means the system roots
	Timeout time.Duration  // per request; 0 means 30s
	Now     func() time.Time
	// Transport, when set, replaces the default transport (tests).
	Transport http.RoundTripper
}

// Client calls the Admin API. It is safe for concurrent use.
type Client struct {
	host, ikey, skey string
	hc               *http.Client
	now              func() time.Time
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Host == "" {
		return nil, errors.New("adminclient: no API host")
	}
	if strings.Contains(cfg.Host, "/") {
		return nil, fmt.Errorf("adminclient: API host %q must be host or host:port, without a scheme or path", cfg.Host)
	}
	if cfg.IKey == "" || cfg.SKey == "" {
		return nil, errors.New("adminclient: integration key and secret key are required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tr := cfg.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		tr = t
	}
	return &Client{
		host: cfg.Host, ikey: cfg.IKey, skey: cfg.SKey, now: cfg.Now,
		hc: &http.Client{Timeout: cfg.Timeout, Transport: tr},
	}, nil
}

// String never reveals the secret key.
func (c *Client) String() string { return "adminclient(" + c.ikey + "@" + c.host + ")" }

// Error is a FAIL envelope, or an HTTP failure without one.
type Error struct {
	Status  int    // HTTP status
	Code    int    // Duo code, for example 40002; 0 when the body was not an envelope
	Message string // "Invalid request parameters"
	Detail  string // message_detail, for example "username: already exists"
}

// Error renders "message: detail (code)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Code != 0 {
		b.WriteString(" (" + strconv.Itoa(e.Code) + ")")
	} else {
		b.WriteString(" (HTTP " + strconv.Itoa(e.Status) + ")")
	}
	return b.String()
}

// NotFound reports whether err is a 404 from the server: 40401 "Resource
// not found", or a path the server does not route at all.
func NotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Response is a decoded OK envelope.
type Response struct {
	Response json.RawMessage // the "response" member, as sent
	Metadata json.RawMessage // the top-level "metadata" member, or nil
}

// Decode unmarshals the response member into v.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Response, v); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

type envelope struct {
	Stat          string          `json:"stat"`
	Response      json.RawMessage `json:"response"`
	Metadata      json.RawMessage `json:"metadata"`
	Code          json.RawMessage `json:"code"`
	Message       string          `json:"message"`
	MessageDetail string          `json:"message_detail"`
}

// Do sends one signed request. For GET and DELETE the parameters go in the
// query string; for POST in a form body.
func (c *Client) Do(ctx context.Context, method, path string, params url.Values) (*Response, error) {
	if params == nil {
		params = url.Values{}
	}
	u := &url.URL{Scheme: "https", Host: c.host, Path: path}
	var body []byte
	if method == http.MethodPost || method == http.MethodPut {
		body = []byte(params.Encode())
	} else {
		u.RawQuery = params.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "twostepd-admin")
	if err := duoproto.SignRequest(req, c.ikey, c.skey, 2, body, duoproto.WithNow(c.now)); err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Stat == "" {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" || resp.StatusCode == http.StatusNotFound {
			msg = http.StatusText(resp.StatusCode)
		}
		if resp.StatusCode < 300 {
			return nil, fmt.Errorf("%s %s: response is not a Duo envelope: %s", method, path, msg)
		}
		return nil, &Error{Status: resp.StatusCode, Message: msg}
	}
	if env.Stat != "OK" {
		e := &Error{Status: resp.StatusCode, Message: env.Message, Detail: env.MessageDetail}
		// code is a number; be lenient with a string, as duo_api_golang is.
		s := strings.Trim(string(env.Code), `"`)
		e.Code, _ = strconv.Atoi(s)
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return nil, e
	}
	return &Response{Response: env.Response, Metadata: env.Metadata}, nil
}

// Get sends a signed GET and decodes the response into out (unless nil).
func (c *Client) Get(ctx context.Context, path string, params url.Values, out any) error {
	return c.call(ctx, http.MethodGet, path, params, out)
}

// Post sends a signed form POST and decodes the response into out (unless nil).
func (c *Client) Post(ctx context.Context, path string, params url.Values, out any) error {
	return c.call(ctx, http.MethodPost, path, params, out)
}

// Delete sends a signed DELETE and decodes the response into out (unless nil).
func (c *Client) Delete(ctx context.Context, path string, params url.Values, out any) error {
	return c.call(ctx, http.MethodDelete, path, params, out)
}

func (c *Client) call(ctx context.Context, method, path string, params url.Values, out any) error {
	r, err := c.Do(ctx, method, path, params)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return r.Decode(out)
}

// pageMeta is Duo's paging metadata.
type pageMeta struct {
	TotalObjects *int            `json:"total_objects"`
	NextOffset   json.RawMessage `json:"next_offset"`
}

// List GETs every page of a v1 list, following metadata.next_offset, and
// returns the objects in order. params may hold filters and a limit.
func (c *Client) List(ctx context.Context, path string, params url.Values) ([]json.RawMessage, error) {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	var all []json.RawMessage
	seen := map[string]bool{}
	for {
		r, err := c.Do(ctx, http.MethodGet, path, q)
		if err != nil {
			return nil, err
		}
		var page []json.RawMessage
		if err := r.Decode(&page); err != nil {
			return nil, err
		}
		all = append(all, page...)
		next := nextOffset(r.Metadata)
		if next == "" || len(page) == 0 || seen[next] {
			return all, nil
		}
		seen[next] = true
		q.Set("offset", next)
	}
}

// nextOffset reads an integer (or string) next_offset; "" when absent.
func nextOffset(meta json.RawMessage) string {
	if len(meta) == 0 {
		return ""
	}
	var m pageMeta
	if json.Unmarshal(meta, &m) != nil || len(m.NextOffset) == 0 || string(m.NextOffset) == "null" {
		return ""
	}
	return strings.Trim(string(m.NextOffset), `"`)
}

// LogPage is the response of a v2 log endpoint: the records under key
// (for example "authlogs") and metadata inside the response.
type logResponse struct {
	Metadata struct {
		NextOffset []string `json:"next_offset"`
	} `json:"metadata"`
}

// ListLogsV2 GETs every page of a v2 log endpoint (such as
// /admin/v2/logs/authentication), whose records sit under key in the
// response and whose next_offset ("ts,txid", sent back as one parameter)
// sits in response.metadata. max bounds the records collected (0: no bound).
func (c *Client) ListLogsV2(ctx context.Context, path, key string, params url.Values, max int) ([]json.RawMessage, error) {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	var all []json.RawMessage
	seen := map[string]bool{}
	for {
		r, err := c.Do(ctx, http.MethodGet, path, q)
		if err != nil {
			return nil, err
		}
		var page map[string]json.RawMessage
		if err := r.Decode(&page); err != nil {
			return nil, err
		}
		var recs []json.RawMessage
		if raw, ok := page[key]; ok {
			if err := json.Unmarshal(raw, &recs); err != nil {
				return nil, fmt.Errorf("decode %s: %w", key, err)
			}
		}
		all = append(all, recs...)
		if max > 0 && len(all) >= max {
			return all[:max], nil
		}
		var lr logResponse
		json.Unmarshal(r.Response, &lr)
		next := strings.Join(lr.Metadata.NextOffset, ",")
		if next == "" || len(recs) == 0 || seen[next] {
			return all, nil
		}
		seen[next] = true
		q.Set("next_offset", next)
	}
}
