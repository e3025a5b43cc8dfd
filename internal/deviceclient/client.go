package deviceclient

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
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

// Config says which server to call and how.
type Config struct {
	Host    string         // API host, "host" or "host:port"; always HTTPS
	RootCAs *x509.CertPool // CAs to trust; nil means the system roots
	// Transport, when set, replaces the default transport (tests); RootCAs
	// is then ignored.
	Transport http.RoundTripper
	Now       func() time.Time // the clock for X-Duo-Date; nil means time.Now
	UserAgent string
	// Timeout bounds each request beyond its long-poll wait; 0 means 30s.
	Timeout time.Duration
}

// Client talks to one server's device API. It is safe for concurrent use.
type Client struct {
	host      string
	hc        *http.Client
	now       func() time.Time
	userAgent string
	timeout   time.Duration
}

// New returns a client for cfg.Host.
func New(cfg Config) (*Client, error) {
	if !validHost(cfg.Host) {
		return nil, fmt.Errorf("deviceclient: API host %q must be host or host:port", cfg.Host)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "twostep"
	}
	tr := cfg.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		tr = t
	}
	return &Client{
		host: cfg.Host, now: cfg.Now, userAgent: cfg.UserAgent, timeout: cfg.Timeout,
		// No client-wide timeout: long polls set their own deadline.
		hc: &http.Client{Transport: tr},
	}, nil
}

// Host is the API host the client calls.
func (c *Client) Host() string { return c.host }

// Error is a FAIL envelope, or an HTTP failure without one.
type Error struct {
	Status  int    // HTTP status
	Code    int    // Duo code, such as 40110; 0 when the body was not an envelope
	Message string // message
	Detail  string // message_detail
}

// Error renders "message: detail (code N)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Code != 0 {
		b.WriteString(" (code " + strconv.Itoa(e.Code) + ")")
	} else {
		b.WriteString(" (HTTP " + strconv.Itoa(e.Status) + ")")
	}
	return b.String()
}

// Duo codes an app acts on.
const (
	CodeBadRequest        = 40002 // a parameter is wrong; also "already answered", "expired"
	CodeIncorrectCode     = 40032 // wrong Verified Push code: the request stays pending
	CodeUnknownPKey       = 40102
	CodeBadSignature      = 40103
	CodeBadDate           = 40105 // the clock is off by more than 300 s
	CodeRevoked           = 40110 // the install was replaced or removed: reactivate
	CodeNotFound          = 40401
	CodeUnknownActivation = 40403
)

// code returns err's Duo code, or 0.
func code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsRevoked reports whether err says this install is no longer activated
// (401/40110): a newer activation replaced it or an administrator removed
// it. Only reactivating with a new code helps.
func IsRevoked(err error) bool { return code(err) == CodeRevoked }

// IsIncorrectCode reports whether err is a wrong Verified Push code
// (400/40032); the request is still pending and the user may try again.
func IsIncorrectCode(err error) bool { return code(err) == CodeIncorrectCode }

// IsCertificateError reports whether err is a TLS certificate that the
// client does not trust (a server with its own CA needs --ca-file).
func IsCertificateError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// Temporary reports whether err is worth retrying later: the network
// failed or the server was unavailable (5xx, 429). Answers about the
// request itself (4xx), untrusted certificates and cancellation are not.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || IsCertificateError(err) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	var pe *protocolError
	return !errors.As(err, &pe)
}

// protocolError is an answer that is not what the protocol promises.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

type envelope struct {
	Stat          string          `json:"stat"`
	Response      json.RawMessage `json:"response"`
	Code          json.RawMessage `json:"code"`
	Message       string          `json:"message"`
	MessageDetail string          `json:"message_detail"`
}

// do sends one request and decodes the OK envelope's response into out.
// For GET the parameters go in the query string, for POST in a form body.
// sign, when set, adds the headers that authenticate the request.
func (c *Client) do(ctx context.Context, method, path string, params url.Values, wait time.Duration,
	header http.Header, sign func(req *http.Request, params url.Values) error, out any) error {
	ctx, cancel := context.WithTimeout(ctx, wait+c.timeout)
	defer cancel()
	u := &url.URL{Scheme: "https", Host: c.host, Path: path}
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		u.RawQuery = params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if sign != nil {
		if err := sign(req, params); err != nil {
			return err
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Stat == "" {
		if resp.StatusCode < 300 {
			return &protocolError{fmt.Sprintf("%s %s: the answer is not a Duo envelope (is %s a twostep server?)", method, path, c.host)}
		}
		msg := http.StatusText(resp.StatusCode)
		if msg == "" {
			msg = "HTTP error"
		}
		return &Error{Status: resp.StatusCode, Message: msg}
	}
	if env.Stat != "OK" {
		e := &Error{Status: resp.StatusCode, Message: env.Message, Detail: env.MessageDetail}
		e.Code, _ = strconv.Atoi(strings.Trim(string(env.Code), `"`))
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		return &protocolError{fmt.Sprintf("%s %s: decode response: %v", method, path, err)}
	}
	return nil
}

// signer returns the function that signs a device request as pkey with
// key: X-Duo-Date, and Authorization Basic base64(pkey ":"
// base64(RSASSA-PKCS1-v1_5-SHA512(CanonV2))).
func (c *Client) signer(pkey string, key *rsa.PrivateKey) func(*http.Request, url.Values) error {
	return func(req *http.Request, params url.Values) error {
		date := c.now().UTC().Format(time.RFC1123Z)
		canon := duoproto.CanonV2(date, req.Method, req.URL.Host, req.URL.Path, params)
		sum := sha512.Sum512([]byte(canon))
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA512, sum[:])
		if err != nil {
			return fmt.Errorf("sign request: %w", err)
		}
		req.Header.Set("X-Duo-Date", date)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
			[]byte(pkey+":"+base64.StdEncoding.EncodeToString(sig))))
		return nil
	}
}

// PublicKeyPEM encodes key's public half as a PKIX "PUBLIC KEY" PEM block,
// the form activation sends.
func PublicKeyPEM(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
