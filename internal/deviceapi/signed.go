package deviceapi

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Key sizes accepted for device keys.
const (
	minKeyBits = 2048
	maxKeyBits = 4096
)

// ParsePublicKey reads a device's RSA public key: PEM "PUBLIC KEY" (PKIX)
// or "RSA PUBLIC KEY" (PKCS #1), 2048 to 4096 bits.
func ParsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, errors.New("not a PEM public key")
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("bad PKIX public key: %w", err)
		}
		var ok bool
		if pub, ok = k.(*rsa.PublicKey); !ok {
			return nil, errors.New("not an RSA key")
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("bad PKCS #1 public key: %w", err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
	}
	if n := pub.N.BitLen(); n < minKeyBits || n > maxKeyBits {
		return nil, fmt.Errorf("RSA key of %d bits: must be %d to %d", n, minKeyBits, maxKeyBits)
	}
	return pub, nil
}

// device is a verified device request.
type device struct {
	install mfa.Authenticator
	params  url.Values
}

type signedFunc func(w http.ResponseWriter, r *http.Request, d *device) error

// signed adapts fn: it checks the request's date and its RSA-SHA512
// signature by the install named in Authorization (docs/device-api.md).
func (h *Handler) signed(fn signedFunc) http.Handler {
	return h.handle(func(w http.ResponseWriter, r *http.Request) error {
		d, err := h.verify(r)
		if err != nil {
			return err
		}
		h.flow.Touch(context.WithoutCancel(r.Context()), d.install)
		return fn(w, r, d)
	})
}

func (h *Handler) verify(r *http.Request) (*device, error) {
	pkey, sig, ok := parseBasic(r.Header.Get("Authorization"))
	if !ok {
		return nil, duoproto.ErrMissingCredentials
	}
	date := r.Header.Get("X-Duo-Date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	if date == "" {
		return nil, duoproto.ErrMissingTimestamp
	}
	t, ok := duoproto.ParseDate(date)
	skew := h.skew
	if skew <= 0 {
		skew = duoproto.DefaultSkew
	}
	if d := h.now().Sub(t); !ok || d > skew || d < -skew {
		return nil, duoproto.ErrBadTimestamp
	}
	params, err := requestParams(r)
	if err != nil {
		return nil, err
	}
	au, err := h.flow.Install(r.Context(), pkey)
	revoked := errors.Is(err, authflow.ErrInstallRevoked)
	switch {
	case errors.Is(err, mfa.ErrNotFound):
		return nil, errUnknownInstall
	case err != nil && !revoked:
		return nil, err
	}
	pub, err := ParsePublicKey(string(au.PublicKey.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("install %s: stored key: %w", au.ID, err)
	}
	for _, host := range hostCandidates(r.Host) {
		canon := duoproto.CanonV2(date, r.Method, host, r.URL.Path, params)
		sum := sha512.Sum512([]byte(canon))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA512, sum[:], sig) == nil {
			if revoked { // told only to the holder of the install's key
				return nil, authflow.ErrInstallRevoked
			}
			return &device{install: au, params: params}, nil
		}
	}
	return nil, duoproto.ErrInvalidSignature
}

// parseBasic reads "Basic base64(pkey:base64(signature))".
func parseBasic(h string) (pkey string, sig []byte, ok bool) {
	scheme, b64, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") || len(b64) > 8192 {
		return "", nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return "", nil, false
	}
	pkey, s64, found := strings.Cut(string(raw), ":")
	if !found || pkey == "" {
		return "", nil, false
	}
	sig, err = base64.StdEncoding.DecodeString(s64)
	if err != nil || len(sig) == 0 {
		return "", nil, false
	}
	return pkey, sig, true
}

// requestParams returns the query parameters merged with a form body.
func requestParams(r *http.Request) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, duoproto.BadParam("query string: not URL-encoded")
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return params, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, api.MaxBodyBytes))
	if err != nil {
		return nil, duoproto.BadParam("body: too large or unreadable")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, duoproto.BadParam("body: not a URL-encoded form")
	}
	for k, vs := range form {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

// hostCandidates are the spellings of the request's host a client may
// have signed: as sent, and without a default or explicit port.
func hostCandidates(host string) []string {
	host = strings.ToLower(host)
	out := []string{host}
	if h, _, err := net.SplitHostPort(host); err == nil && h != host {
		out = append(out, h)
	}
	return out
}

// unixTime is a time in whole seconds, as Duo's JSON carries it.
func unixTime(t time.Time) int64 { return t.Unix() }
