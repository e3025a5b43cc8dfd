package oidc

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// MaxJWTLen bounds every JWT a client sends (request objects and client
// assertions are a few hundred bytes).
const MaxJWTLen = 8 << 10

// hs512Key signs and verifies HS512 with an integration's secret key.
// go-jose refuses HMAC keys shorter than the hash (RFC 7518 3.2: 64 bytes
// for HS512), but Duo's secrets, which every Universal SDK uses as the key,
// are 40 characters; so the MAC is computed here, behind go-jose's opaque
// signer and verifier interfaces, and only for HS512.
type hs512Key []byte

var (
	_ jose.OpaqueSigner   = hs512Key(nil)
	_ jose.OpaqueVerifier = hs512Key(nil)
)

func (k hs512Key) Public() *jose.JSONWebKey        { return nil }
func (k hs512Key) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.HS512} }

func (k hs512Key) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != jose.HS512 || len(k) == 0 {
		return nil, jose.ErrUnsupportedAlgorithm
	}
	m := hmac.New(sha512.New, k)
	m.Write(payload)
	return m.Sum(nil), nil
}

func (k hs512Key) VerifyPayload(payload, sig []byte, alg jose.SignatureAlgorithm) error {
	want, err := k.SignPayload(payload, alg)
	if err != nil {
		return err
	}
	if !hmac.Equal(sig, want) {
		return errors.New("invalid signature")
	}
	return nil
}

// parseHS512 parses a compact JWT that must be HS512 (any other alg,
// "none" included, is refused before any key is used) and at most
// MaxJWTLen long. Its claims are not verified yet.
func parseHS512(raw string) (*jwt.JSONWebToken, error) {
	if raw == "" {
		return nil, errors.New("missing")
	}
	if len(raw) > MaxJWTLen {
		return nil, fmt.Errorf("longer than %d bytes", MaxJWTLen)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.HS512})
	if err != nil {
		return nil, errors.New("not an HS512 JWT")
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("not a single-signature JWT")
	}
	return tok, nil
}

// signHS512 serializes claims as a compact HS512 JWT under secret.
func signHS512(secret []byte, claims any) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS512, Key: hs512Key(secret)},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// numericDate is a JWT NumericDate that accepts integers and floats.
type numericDate struct{ time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f json.Number
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("not a number")
	}
	v, err := f.Float64()
	if err != nil {
		return errors.New("not a number")
	}
	d.Time = time.Unix(int64(v), 0)
	return nil
}

// checkExp enforces the lifetime rules shared by request objects and
// client assertions: an exp, not past (with Leeway), at most MaxJWTLife
// ahead (with Leeway).
func checkExp(exp *numericDate, now time.Time) error {
	switch {
	case exp == nil || exp.IsZero():
		return errors.New("exp is missing")
	case !exp.After(now.Add(-Leeway)):
		return errors.New("expired")
	case exp.After(now.Add(MaxJWTLife + Leeway)):
		return fmt.Errorf("exp is more than %v ahead", MaxJWTLife)
	}
	return nil
}

// hostAllowed reports whether u is https://<host>[:port]<path> for one of
// the configured public host names (any port), with exactly path, no query,
// fragment or user.
func (h *Handler) hostAllowed(raw, path string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	if u.Path != path && !(path == "" && u.Path == "/") {
		return false
	}
	for _, host := range h.hosts {
		if name, _, err := net.SplitHostPort(host); err == nil {
			host = name
		}
		if strings.EqualFold(u.Hostname(), strings.Trim(host, "[]")) {
			return true
		}
	}
	return false
}
