package config

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is a string that must not leak: printing, logging or marshalling it
// yields "[redacted]" (or "" when it is empty, so an unset secret is visible
// as unset). Use [Secret.Reveal] at the one place that needs the value.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is used by %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, ...) see only the
// redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret; encoding/json and other text encoders use it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

var (
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ fmt.Formatter  = Secret("")
	_ slog.LogValuer = Secret("")
)
