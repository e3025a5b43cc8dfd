package mfa

import (
	"fmt"
	"io"
)

// ID prefixes, following Duo's shapes: two letters and 18 of A-Z0-9.
const (
	PrefixUser          = "DU"
	PrefixPhone         = "DP"
	PrefixToken         = "DH"
	PrefixAdmin         = "DE"
	PrefixIntegration   = "DI"
	PrefixBypassCode    = "DB"
	PrefixAuthenticator = "DA"
	PrefixSMSBatch      = "DS"
	PrefixActivation    = "DV"
	PrefixTrustedDevice = "DT"
	PrefixGroup         = "DG"
	// PrefixAdminActivation names an administrator activation link.
	PrefixAdminActivation = "DY"
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// NewID returns prefix followed by 18 uniformly random characters of A-Z0-9,
// read from r (crypto/rand.Reader in production).
func NewID(prefix string, r io.Reader) (string, error) {
	s, err := RandomString(r, idAlphabet, 18)
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return prefix + s, nil
}

// RandomString returns n characters drawn uniformly from alphabet (at most
// 256 characters) using rejection sampling over bytes read from r.
func RandomString(r io.Reader, alphabet string, n int) (string, error) {
	if len(alphabet) == 0 || len(alphabet) > 256 {
		return "", fmt.Errorf("random string: alphabet of %d characters", len(alphabet))
	}
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("random string: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit {
				out = append(out, alphabet[int(b)%len(alphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out), nil
}

// RandomDigits returns n uniformly random decimal digits (leading zeros kept).
func RandomDigits(r io.Reader, n int) (string, error) {
	return RandomString(r, "0123456789", n)
}
