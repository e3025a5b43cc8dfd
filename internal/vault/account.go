package vault

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind says where an account came from.
type Kind string

// Account kinds.
const (
	// KindTwostep is an install activated against a twostep server: it
	// shows HOTP (or TOTP) passcodes and answers login requests.
	KindTwostep Kind = "twostep"
	// KindOTPAuth is a third-party account added from an otpauth:// key
	// URI: passcodes only, never any network.
	KindOTPAuth Kind = "otpauth"
)

// MaxNameLen bounds an account name, in bytes.
const MaxNameLen = 128

// Secret is key material: an OTP seed. It prints and logs as [redacted];
// JSON carries it as base64.
type Secret []byte

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "vault.Secret([redacted])" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// SecretString is secret text, such as a PEM private key. It prints and
// logs as [redacted].
type SecretString string

func (SecretString) String() string               { return "[redacted]" }
func (SecretString) GoString() string             { return "vault.SecretString([redacted])" }
func (SecretString) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (s SecretString) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// Account is one entry of the vault.
type Account struct {
	Name string `json:"name"` // unique in the vault, case-insensitively
	Kind Kind   `json:"kind"`

	// Passcode parameters, for both kinds.
	Secret    Secret    `json:"secret"`           // the HMAC key bytes
	Algorithm Algorithm `json:"algorithm"`        // SHA1, SHA256 or SHA512
	Digits    int       `json:"digits"`           // 6 to 8
	Period    int       `json:"period,omitempty"` // TOTP step, seconds
	Counter   uint64    `json:"counter"`          // HOTP: the counter of the code shown now
	UseTOTP   bool      `json:"use_totp"`         // time-based instead of counter-based

	// Third-party (otpauth) accounts.
	Issuer string `json:"issuer,omitempty"`
	Label  string `json:"label,omitempty"` // the account part of the key URI's label

	// Twostep installs.
	APIHost      string       `json:"api_host,omitempty"` // host[:port] of the server
	PKey         string       `json:"pkey,omitempty"`     // the install's id; signs as this
	AKey         string       `json:"akey,omitempty"`
	PrivateKey   SecretString `json:"private_key,omitempty"` // RSA, PKCS #8 PEM
	CAPEM        string       `json:"ca_pem,omitempty"`      // CA(s) to trust for APIHost; empty: system roots
	Username     string       `json:"username,omitempty"`
	UserID       string       `json:"user_id,omitempty"`
	CustomerName string       `json:"customer_name,omitempty"`
	Created      time.Time    `json:"created,omitzero"`
}

// LogValue shows what identifies an account, never its secrets.
func (a Account) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", a.Name), slog.String("kind", string(a.Kind))}
	if a.APIHost != "" {
		attrs = append(attrs, slog.String("api_host", a.APIHost))
	}
	return slog.GroupValue(attrs...)
}

// Clone returns a deep copy of a.
func (a Account) Clone() Account {
	a.Secret = append(Secret(nil), a.Secret...)
	return a
}

// CheckName reports whether name can name an account: not empty, at most
// MaxNameLen bytes of UTF-8, no control characters, no leading or
// trailing space.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("account name is empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("account name is longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(name):
		return errors.New("account name is not valid UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("account name holds a control character")
	case strings.TrimSpace(name) != name:
		return errors.New("account name starts or ends with a space")
	}
	return nil
}

// Validate reports the first thing wrong with a, naming the field.
func (a *Account) Validate() error {
	if err := CheckName(a.Name); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("account %q: "+format, append([]any{a.Name}, args...)...)
	}
	switch a.Kind {
	case KindTwostep:
		switch {
		case a.APIHost == "":
			return bad("no api_host")
		case a.PKey == "":
			return bad("no pkey")
		case a.PrivateKey == "":
			return bad("no private key")
		}
	case KindOTPAuth:
	default:
		return bad("unknown kind %q", a.Kind)
	}
	if len(a.Secret) == 0 {
		return bad("no secret")
	}
	if _, err := a.Algorithm.hash(); err != nil {
		return bad("%v", err)
	}
	if a.Digits < MinDigits || a.Digits > MaxDigits {
		return bad("digits %d outside %d..%d", a.Digits, MinDigits, MaxDigits)
	}
	if a.UseTOTP && (a.Period < 1 || a.Period > MaxPeriod) {
		return bad("period %d outside 1..%d", a.Period, MaxPeriod)
	}
	return nil
}

// DefaultName is the name a twostep install gets unless the user chooses
// one: "<customer_name> (<username>)", or whichever of them is known, or
// the API host.
func DefaultName(customer, username, apiHost string) string {
	customer, username = cleanName(customer), cleanName(username)
	switch {
	case customer != "" && username != "":
		return customer + " (" + username + ")"
	case customer != "":
		return customer
	case username != "":
		return username + "@" + cleanName(apiHost)
	}
	return cleanName(apiHost)
}

// cleanName turns arbitrary text into something CheckName accepts:
// control characters dropped, spaces trimmed, length bounded.
func cleanName(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for len(s) > MaxNameLen {
		_, n := utf8.DecodeLastRuneInString(s)
		s = strings.TrimSpace(s[:len(s)-n])
	}
	return s
}
