package otp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// Seed lengths accepted by ParseHexSecret and ParseBase32Secret. RFC 4226
// asks for at least 128 bits and recommends 160, but 80-bit seeds are common
// in authenticator key URIs; beyond 64 bytes (the SHA-1 block size) HMAC
// hashes the key, so longer seeds add nothing.
const (
	MinSecretBytes = 10
	MaxSecretBytes = 64
)

// ErrSecret is wrapped by every error ParseHexSecret and ParseBase32Secret
// return. The messages name the problem and never echo the value.
var ErrSecret = errors.New("otp: invalid secret")

// removeSpace drops ASCII spaces, tabs and line breaks, which tokens'
// seed files and people copying from screens put between groups.
func removeSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
}

func checkSecretLen(n int) error {
	if n < MinSecretBytes || n > MaxSecretBytes {
		return fmt.Errorf("%w: %d bytes, want %d to %d", ErrSecret, n, MinSecretBytes, MaxSecretBytes)
	}
	return nil
}

// ParseHexSecret parses a hex-encoded seed as hardware token seed files
// deliver it: upper or lower case, spaces allowed anywhere, 10 to 64 bytes.
// Errors wrap ErrSecret and give the position of a bad character, never the
// character itself.
func ParseHexSecret(s string) ([]byte, error) {
	s = removeSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrSecret)
	}
	for i := 0; i < len(s); i++ {
		if fromHex(s[i]) < 0 {
			return nil, fmt.Errorf("%w: hex: invalid character at position %d", ErrSecret, i+1)
		}
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: hex: odd number of digits", ErrSecret)
	}
	if err := checkSecretLen(len(s) / 2); err != nil {
		return nil, err
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = byte(fromHex(s[2*i])<<4 | fromHex(s[2*i+1]))
	}
	return b, nil
}

func fromHex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// ParseBase32Secret parses an RFC 4648 base32 seed as otpauth:// key URIs
// and authenticator apps show it: case-insensitive, "=" padding optional,
// spaces ignored, 10 to 64 bytes. Errors wrap ErrSecret and never echo the
// value.
func ParseBase32Secret(s string) ([]byte, error) {
	s = strings.TrimRight(strings.ToUpper(removeSpace(s)), "=")
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrSecret)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return nil, fmt.Errorf("%w: base32: invalid character at position %d", ErrSecret, i+1)
		}
	}
	switch len(s) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("%w: base32: impossible length %d", ErrSecret, len(s))
	}
	if err := checkSecretLen(len(s) * 5 / 8); err != nil {
		return nil, err
	}
	b, err := base32NoPad.DecodeString(s)
	if err != nil {
		// Unreachable after the checks above; the decoder's message names
		// only an offset, but keep ours uniform.
		return nil, fmt.Errorf("%w: base32: malformed", ErrSecret)
	}
	return b, nil
}
