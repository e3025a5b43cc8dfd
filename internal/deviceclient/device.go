package deviceclient

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DeviceInfo describes the device to the server's administrators.
type DeviceInfo struct {
	Platform     string // default "twostep-cli"
	Manufacturer string
	Model        string
	AppVersion   string
	Language     string
}

// Activation is what the server returns when a device is activated.
type Activation struct {
	PKey         string `json:"pkey"`
	AKey         string `json:"akey"`
	HOTPSecret   string `json:"hotp_secret"` // the HMAC key is these ASCII bytes
	HOTPCounter  uint64 `json:"hotp_counter"`
	UseTOTP      bool   `json:"use_totp"`
	CustomerName string `json:"customer_name"`
	CustomerLogo string `json:"customer_logo"`
	Username     string `json:"username"`
	UserID       string `json:"user_id"`
	APIHost      string `json:"api_host"`
}

// String never shows the HOTP secret.
func (a Activation) String() string {
	return fmt.Sprintf("activation(pkey %s, user %q at %q)", a.PKey, a.Username, a.CustomerName)
}

// Activate redeems an activation code (single use) for this device,
// registering key's public half: POST /push/v2/activation/<CODE>. An
// unknown, used or expired code is an *Error with code 40403.
func (c *Client) Activate(ctx context.Context, code ActivationCode, key *rsa.PrivateKey, info DeviceInfo) (*Activation, error) {
	if len(code.Code) != CodeLength || strings.Trim(code.Code, codeAlphabet) != "" {
		return nil, codeError("want %d letters and digits", CodeLength)
	}
	pub, err := PublicKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("activate: %w", err)
	}
	if info.Platform == "" {
		info.Platform = "twostep-cli"
	}
	params := url.Values{"pkpush": {"rsa-sha512"}, "pubkey": {pub}, "platform": {info.Platform}}
	for k, v := range map[string]string{"manufacturer": info.Manufacturer, "model": info.Model,
		"app_version": info.AppVersion, "language": info.Language} {
		if v != "" {
			params.Set(k, v)
		}
	}
	var a Activation
	if err := c.do(ctx, http.MethodPost, "/push/v2/activation/"+code.Code, params, 0, nil, nil, &a); err != nil {
		return nil, fmt.Errorf("activate: %w", err)
	}
	switch {
	case a.PKey == "":
		return nil, &protocolError{"activate: the answer has no pkey"}
	case a.HOTPSecret == "":
		return nil, &protocolError{"activate: the answer has no hotp_secret"}
	}
	return &a, nil
}

// Device is an activated install: it signs its requests with its key.
type Device struct {
	c    *Client
	pkey string
	akey string
	sign func(*http.Request, url.Values) error
}

// Device returns the install pkey (with account key akey) signing with key.
func (c *Client) Device(pkey, akey string, key *rsa.PrivateKey) *Device {
	return &Device{c: c, pkey: pkey, akey: akey, sign: c.signer(pkey, key)}
}

// common are the parameters Duo Mobile sends with every signed request.
func (d *Device) common() url.Values {
	p := url.Values{"pkpush": {"rsa-sha512"}}
	if d.akey != "" {
		p.Set("akey", d.akey)
	}
	return p
}

// Transaction is a login request waiting for an answer.
type Transaction struct {
	URGID       string      `json:"urgid"` // the id to answer
	TxID        string      `json:"txid"`
	Type        string      `json:"type"`
	Summary     string      `json:"summary"`
	Expiration  int64       `json:"expiration"` // unix seconds
	Attributes  [][]string  `json:"attributes"`
	Application string      `json:"application"`
	Username    string      `json:"username"`
	IP          string      `json:"ip"`
	Hostname    string      `json:"hostname"`
	Time        int64       `json:"time"` // unix seconds
	PushInfo    [][]string  `json:"pushinfo"`
	RequireLock bool        `json:"require_lock"`
	AKey        string      `json:"akey"`
	StepUpCode  *StepUpInfo `json:"step_up_code_info,omitempty"`
}

// StepUpInfo is present on a Verified Push: the user must type the code
// shown on the login screen.
type StepUpInfo struct {
	NumDigits int `json:"num_digits"`
}

// ID is the id to answer the request with.
func (t *Transaction) ID() string {
	if t.URGID != "" {
		return t.URGID
	}
	return t.TxID
}

// Expires is when the request stops being answerable; zero if unknown.
func (t *Transaction) Expires() time.Time {
	if t.Expiration == 0 {
		return time.Time{}
	}
	return time.Unix(t.Expiration, 0)
}

// At is when the login was attempted; zero if unknown.
func (t *Transaction) At() time.Time {
	if t.Time == 0 {
		return time.Time{}
	}
	return time.Unix(t.Time, 0)
}

// StepUpDigits is the length of the Verified Push code to ask for, or 0.
func (t *Transaction) StepUpDigits() int {
	if t.StepUpCode == nil {
		return 0
	}
	if t.StepUpCode.NumDigits <= 0 {
		return -1 // required, length unknown
	}
	return t.StepUpCode.NumDigits
}

// MaxWait is the longest long-poll the server allows.
const MaxWait = 30 * time.Second

// MaxSeen is how many request ids Transactions passes as seen.
const MaxSeen = 100

// Transactions lists the login requests waiting for this install: GET
// /push/v2/device/transactions. With wait > 0 the server holds the
// request until one is pending that is not among seen (the ids the app
// already shows; at most MaxSeen are sent), or wait passes (at most
// MaxWait).
func (d *Device) Transactions(ctx context.Context, wait time.Duration, seen ...string) ([]Transaction, error) {
	if wait < 0 {
		wait = 0
	}
	wait = min(wait, MaxWait)
	params := d.common()
	if wait > 0 {
		params.Set("wait", strconv.Itoa(int(wait/time.Second)))
		if len(seen) > MaxSeen {
			seen = seen[len(seen)-MaxSeen:]
		}
		if len(seen) > 0 {
			params.Set("seen", strings.Join(seen, ","))
		}
	}
	var out struct {
		Transactions []Transaction `json:"transactions"`
	}
	if err := d.c.do(ctx, http.MethodGet, "/push/v2/device/transactions", params, wait, nil, d.sign, &out); err != nil {
		return nil, err
	}
	for _, t := range out.Transactions {
		if !validTxID(t.ID()) {
			return nil, &protocolError{fmt.Sprintf("transactions: the server sent a malformed transaction id %q", t.ID())}
		}
	}
	return out.Transactions, nil
}

// Answer is the user's decision on a login request.
type Answer struct {
	Approve bool
	// Fraud, with a denial, reports the request as fraud.
	Fraud bool
	// StepUpCode is the Verified Push code the user typed.
	StepUpCode string
}

// ErrFraudApproval: a request cannot be both approved and reported.
var ErrFraudApproval = errors.New("a login request cannot be approved and reported as fraud")

// Answer approves or denies a login request: POST
// /push/v2/device/transactions/<urgid>. Already answered or expired
// requests are *Error 40002; a wrong Verified Push code is 40032 (see
// IsIncorrectCode).
func (d *Device) Answer(ctx context.Context, urgid string, a Answer) error {
	if !validTxID(urgid) {
		return fmt.Errorf("answer: malformed transaction id %q", urgid)
	}
	if a.Approve && a.Fraud {
		return ErrFraudApproval
	}
	params := d.common()
	if a.Approve {
		params.Set("answer", "approve")
	} else {
		params.Set("answer", "deny")
		if a.Fraud {
			params.Set("fraud", "true")
		}
	}
	if a.StepUpCode != "" {
		params.Set("step_up_code", a.StepUpCode)
	}
	var out struct {
		Result string `json:"result"`
	}
	header := http.Header{"Txid": {urgid}}
	if err := d.c.do(ctx, http.MethodPost, "/push/v2/device/transactions/"+urgid, params, 0, header, d.sign, &out); err != nil {
		return err
	}
	if out.Result != "SUCCESS" {
		return &protocolError{fmt.Sprintf("answer: the server answered result %q, want SUCCESS", out.Result)}
	}
	return nil
}

// Deregister tells the server that this install is going away: DELETE
// /push/v2/device (a twostep extension). The server revokes the install,
// so the phone is no longer offered for push and every later request of
// this install, Deregister included, is 401/40110 (IsRevoked). An install
// the server does not know is 40102.
func (d *Device) Deregister(ctx context.Context) error {
	var out struct {
		Result string `json:"result"`
	}
	if err := d.c.do(ctx, http.MethodDelete, "/push/v2/device", d.common(), 0, nil, d.sign, &out); err != nil {
		return err
	}
	if out.Result != "SUCCESS" {
		return &protocolError{fmt.Sprintf("deregister: the server answered result %q, want SUCCESS", out.Result)}
	}
	return nil
}

// validTxID accepts ids that are safe in a URL path as they are (UUIDs and
// the like), so that the signed path is exactly the path sent.
func validTxID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return id != "." && id != ".."
}

// NewKey generates a device key: RSA-2048, the protocol's minimum.
func NewKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}

// MarshalKey encodes a device key as PKCS #8 PEM, for storage.
func MarshalKey(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParseKey decodes a device key stored by MarshalKey (PKCS #8, or PKCS #1
// "RSA PRIVATE KEY").
func ParseKey(pemText string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		return nil, errors.New("device key: no PEM block")
	}
	switch b.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("device key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("device key: not an RSA key")
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("device key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("device key: unexpected PEM type %q", b.Type)
}
