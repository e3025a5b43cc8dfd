package vault

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Passcode parameters accepted for accounts.
const (
	MinDigits     = 6
	MaxDigits     = 8
	DefaultDigits = 6
	DefaultPeriod = 30
	// MaxPeriod bounds a TOTP step (one day).
	MaxPeriod = 24 * 60 * 60
)

// Algorithm is the HMAC hash of an account's passcodes.
type Algorithm string

// Algorithms of the key URI format.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

// ParseAlgorithm accepts SHA1, SHA256 and SHA512 in any case, with or
// without a dash ("sha-256").
func ParseAlgorithm(s string) (Algorithm, error) {
	a := Algorithm(strings.ReplaceAll(strings.ToUpper(s), "-", ""))
	if _, err := a.hash(); err != nil {
		return "", err
	}
	return a, nil
}

func (a Algorithm) hash() (func() hash.Hash, error) {
	switch a {
	case SHA1:
		return sha1.New, nil
	case SHA256:
		return sha256.New, nil
	case SHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("algorithm %q: want SHA1, SHA256 or SHA512", string(a))
}

// Passcode is what an account shows now.
type Passcode struct {
	Code string // zero-padded digits
	// Counter is the HOTP counter the code belongs to; for TOTP, the time
	// step.
	Counter uint64
	// Expires is when a TOTP code stops being current; zero for HOTP, whose
	// code stays valid until used.
	Expires time.Time
}

// Passcode returns the account's current passcode at now: HOTP at the
// stored counter (showing it does not advance the counter), or TOTP for
// the time step holding now.
func (a *Account) Passcode(now time.Time) (Passcode, error) {
	if err := a.Validate(); err != nil {
		return Passcode{}, err
	}
	h, _ := a.Algorithm.hash()
	if !a.UseTOTP {
		return Passcode{Code: hotp(h, a.Secret, a.Counter, a.Digits), Counter: a.Counter}, nil
	}
	u, p := now.Unix(), int64(a.Period)
	step := u / p
	if u%p != 0 && u < 0 {
		step--
	}
	if step < 0 {
		return Passcode{}, fmt.Errorf("account %q: the clock is before 1970", a.Name)
	}
	return Passcode{
		Code:    hotp(h, a.Secret, uint64(step), a.Digits),
		Counter: uint64(step),
		Expires: time.Unix((step+1)*p, 0),
	}, nil
}

// Next advances an HOTP account to its next code, the app's refresh
// button. It refuses a time-based account, whose codes move by themselves.
func (a *Account) Next() error {
	if a.UseTOTP {
		return fmt.Errorf("account %q has time-based codes: they change by themselves every %d seconds", a.Name, a.Period)
	}
	if a.Counter == ^uint64(0) {
		return fmt.Errorf("account %q: the HOTP counter is exhausted", a.Name)
	}
	a.Counter++
	return nil
}

// hotp is RFC 4226 with a choice of hash (RFC 6238 section 1.2 allows
// SHA-256 and SHA-512 for TOTP; key URIs allow them for HOTP too).
func hotp(h func() hash.Hash, key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(h, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}
