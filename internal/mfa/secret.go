package mfa

import (
	"fmt"
	"io"
	"log/slog"
)

// Secret holds key material (an OTP seed, an integration skey, a YubiKey
// AES key). It never prints: every fmt verb, slog and JSON show a
// placeholder. Read the bytes with Reveal, at the one place that needs them.
type Secret []byte

const redacted = "[redacted]"

// Reveal returns the secret's bytes.
func (s Secret) Reveal() []byte { return []byte(s) }

// String redacts.
func (s Secret) String() string {
	if len(s) == 0 {
		return ""
	}
	return redacted
}

// GoString redacts.
func (s Secret) GoString() string { return "mfa.Secret(" + redacted + ")" }

// Format redacts for every verb, including %x and %q.
func (s Secret) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// LogValue redacts in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts, so that an accidental encoding leaks nothing.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText redacts.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Passcode is a code a person types (a bypass code, an SMS passcode, a PIN).
// Like Secret it never prints.
type Passcode string

// String redacts.
func (p Passcode) String() string {
	if p == "" {
		return ""
	}
	return redacted
}

// GoString redacts.
func (p Passcode) GoString() string { return "mfa.Passcode(" + redacted + ")" }

// Format redacts for every verb.
func (p Passcode) Format(f fmt.State, verb rune) { io.WriteString(f, p.String()) }

// LogValue redacts in slog output.
func (p Passcode) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON redacts.
func (p Passcode) MarshalJSON() ([]byte, error) { return []byte(`"` + p.String() + `"`), nil }
