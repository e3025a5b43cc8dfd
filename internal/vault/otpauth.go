package vault

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/otp"
)

// ErrKeyURI is wrapped by every error of ParseKeyURI. The messages name
// the part of the URI that is wrong and never echo the secret.
var ErrKeyURI = errors.New("bad otpauth URI")

func keyURIError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrKeyURI}, args...)...)
}

// ParseKeyURI reads a key URI in the Google Authenticator format,
//
//	otpauth://totp/Issuer:alice@example.com?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//	otpauth://hotp/Issuer:alice?secret=BASE32&counter=0
//
// into a third-party account named "Issuer:account" (or the label alone
// when there is no issuer). secret is required (base32, case and padding
// free); algorithm SHA1/SHA256/SHA512 (default SHA1), digits 6 to 8
// (default 6), period in seconds for totp (default 30) and counter for
// hotp (default 0). Unknown parameters (image, ...) are ignored.
func ParseKeyURI(s string, now time.Time) (Account, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return Account{}, keyURIError("not a URI")
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "otpauth":
	case "otpauth-migration":
		return Account{}, keyURIError("otpauth-migration:// (a Google Authenticator export) holds several accounts in a private format; export each account's own otpauth:// link instead")
	case "":
		return Account{}, keyURIError("no scheme: want otpauth://totp/... or otpauth://hotp/...")
	default:
		return Account{}, keyURIError("scheme %q: want otpauth", scheme)
	}
	a := Account{Kind: KindOTPAuth, Algorithm: SHA1, Digits: DefaultDigits, Created: now.UTC()}
	switch typ := strings.ToLower(u.Host); typ {
	case "totp":
		a.UseTOTP, a.Period = true, DefaultPeriod
	case "hotp":
	case "":
		return Account{}, keyURIError("no type: want otpauth://totp/... or otpauth://hotp/...")
	default:
		return Account{}, keyURIError("type %q: want totp or hotp", typ)
	}

	label := strings.TrimPrefix(u.Path, "/")
	labelIssuer, account, found := strings.Cut(label, ":")
	if !found {
		labelIssuer, account = "", label
	}
	labelIssuer, account = strings.TrimSpace(labelIssuer), strings.TrimSpace(account)

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Account{}, keyURIError("query string is malformed")
	}
	secret := q.Get("secret")
	if secret == "" {
		return Account{}, keyURIError("secret: missing")
	}
	a.Secret, err = otp.ParseBase32Secret(secret)
	if err != nil {
		return Account{}, keyURIError("secret: %s", strings.TrimPrefix(err.Error(), otp.ErrSecret.Error()+": "))
	}
	a.Issuer = strings.TrimSpace(q.Get("issuer"))
	if a.Issuer == "" {
		a.Issuer = labelIssuer
	}
	a.Label = account
	// An issuer may hold a colon itself ("Example: Corp"): a label that
	// begins with the issuer parameter and a colon is the account after it.
	if p := q.Get("issuer"); p != "" {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(label), a.Issuer+":"); ok {
			a.Label = strings.TrimSpace(rest)
		}
	}
	if a.Label == "" && a.Issuer == "" {
		return Account{}, keyURIError("label: missing (want otpauth://totp/Issuer:account?...)")
	}
	if v := q.Get("algorithm"); v != "" {
		if a.Algorithm, err = ParseAlgorithm(v); err != nil {
			return Account{}, keyURIError("%v", err)
		}
	}
	if v := q.Get("digits"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinDigits || n > MaxDigits {
			return Account{}, keyURIError("digits %q: want 6 or 8", v)
		}
		a.Digits = n
	}
	if v := q.Get("period"); v != "" && a.UseTOTP {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPeriod {
			return Account{}, keyURIError("period %q: want a number of seconds from 1 to %d", v, MaxPeriod)
		}
		a.Period = n
	}
	if v := q.Get("counter"); v != "" && !a.UseTOTP {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Account{}, keyURIError("counter %q: want a non-negative whole number", v)
		}
		a.Counter = n
	}
	switch {
	case a.Issuer != "" && a.Label != "":
		a.Name = cleanName(a.Issuer + ":" + a.Label)
	case a.Issuer != "":
		a.Name = cleanName(a.Issuer)
	default:
		a.Name = cleanName(a.Label)
	}
	if a.Name == "" {
		return Account{}, keyURIError("label: no usable account name")
	}
	return a, nil
}

// KeyURI returns the account as an otpauth:// key URI, which other
// authenticator apps import. Only third-party accounts have one: a twostep
// install is bound to its device key and moves with an export bundle.
func (a *Account) KeyURI() (string, error) {
	if a.Kind != KindOTPAuth {
		return "", fmt.Errorf("account %q is a twostep install, not an otpauth account: move it with an export bundle", a.Name)
	}
	if err := a.Validate(); err != nil {
		return "", err
	}
	typ := "hotp"
	if a.UseTOTP {
		typ = "totp"
	}
	label := a.Label
	if a.Issuer != "" {
		label = a.Issuer + ":" + a.Label
	}
	q := url.Values{}
	q.Set("secret", base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(a.Secret))
	if a.Issuer != "" {
		q.Set("issuer", a.Issuer)
	}
	q.Set("algorithm", string(a.Algorithm))
	q.Set("digits", strconv.Itoa(a.Digits))
	if a.UseTOTP {
		q.Set("period", strconv.Itoa(a.Period))
	} else {
		q.Set("counter", strconv.FormatUint(a.Counter, 10))
	}
	u := url.URL{Scheme: "otpauth", Host: typ, Path: "/" + label, RawQuery: q.Encode()}
	return u.String(), nil
}
