package otp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"time"
)

// Code lengths that HOTP and TOTP accept. RFC 4226 asks for at least 6
// digits; hardware tokens use 6 or 8.
const (
	MinDigits = 6
	MaxDigits = 8
)

var pow10 = [MaxDigits + 1]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

func validDigits(digits int) bool { return digits >= MinDigits && digits <= MaxDigits }

// generator computes HOTP values for one secret, reusing one HMAC state.
type generator struct {
	mac hash.Hash
	msg [8]byte
	sum []byte
}

func newGenerator(secret []byte) *generator {
	return &generator{mac: hmac.New(sha1.New, secret), sum: make([]byte, 0, sha1.Size)}
}

// code writes the zero-padded code for counter into dst (len(dst) == digits).
func (g *generator) code(dst []byte, counter uint64) {
	binary.BigEndian.PutUint64(g.msg[:], counter)
	g.mac.Reset()
	g.mac.Write(g.msg[:])
	g.sum = g.mac.Sum(g.sum[:0])
	off := g.sum[len(g.sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(g.sum[off:]) & 0x7fffffff
	v %= pow10[len(dst)]
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// HOTP returns the RFC 4226 code for counter (HMAC-SHA1, dynamic
// truncation), zero-padded to digits. It panics if digits is outside
// MinDigits..MaxDigits, a programming error; the Verify functions instead
// refuse such a length.
func HOTP(secret []byte, counter uint64, digits int) string {
	if !validDigits(digits) {
		panic(fmt.Sprintf("otp: HOTP digits %d outside %d..%d", digits, MinDigits, MaxDigits))
	}
	var buf [MaxDigits]byte
	newGenerator(secret).code(buf[:digits], counter)
	return string(buf[:digits])
}

// TOTP returns the RFC 6238 code (HMAC-SHA1, T0 = 0) at t for a time step of
// stepSeconds. It panics if digits is outside MinDigits..MaxDigits or
// stepSeconds is not positive.
func TOTP(secret []byte, t time.Time, stepSeconds int, digits int) string {
	return HOTP(secret, uint64(Step(t, stepSeconds)), digits)
}

// Step returns the RFC 6238 time step number of t: floor(unix(t) /
// stepSeconds). It panics if stepSeconds is not positive.
func Step(t time.Time, stepSeconds int) int64 {
	if stepSeconds <= 0 {
		panic(fmt.Sprintf("otp: step of %d seconds", stepSeconds))
	}
	u, s := t.Unix(), int64(stepSeconds)
	q := u / s
	if u%s != 0 && u < 0 {
		q--
	}
	return q
}

// wellFormed reports whether code is exactly digits ASCII digits. The
// length and alphabet of a code are not secret, so this may exit early.
func wellFormed(code string, digits int) bool {
	return len(code) == digits && allDigits(code)
}

// VerifyHOTP looks for code among the counters [next, next+window) and
// returns the matched counter; the caller stores counter+1 as the next
// counter to accept, with a conditional update so that two requests cannot
// both consume the same counter. Every candidate in the window is computed
// and compared in constant time; if several match, the lowest counter wins.
//
// It refuses (ok == false) an empty secret, a window below 1, a digits
// value outside MinDigits..MaxDigits and a code that is not exactly digits
// decimal digits. The counter math.MaxUint64 is never matched, so
// counter+1 cannot wrap.
func VerifyHOTP(secret []byte, code string, next uint64, window int, digits int) (counter uint64, ok bool) {
	if len(secret) == 0 || window < 1 || !validDigits(digits) || !wellFormed(code, digits) {
		return 0, false
	}
	g := newGenerator(secret)
	var buf [MaxDigits]byte
	want := []byte(code)
	for i := 0; i < window; i++ {
		c := next + uint64(i)
		if c < next || c == math.MaxUint64 {
			break
		}
		g.code(buf[:digits], c)
		if subtle.ConstantTimeCompare(buf[:digits], want) == 1 && !ok {
			counter, ok = c, true
		}
	}
	return counter, ok
}

// VerifyTOTP accepts code for the time steps Step(t)-skew .. Step(t)+skew
// and returns the matched step. The caller must refuse a step at or below
// the last one it accepted for this secret (replay) and then record the new
// one. Every candidate is compared in constant time; if several match, the
// lowest step wins. Negative steps (before 1970) are never matched.
//
// It refuses an empty secret, stepSeconds below 1, a negative skew, a digits
// value outside MinDigits..MaxDigits and a malformed code.
func VerifyTOTP(secret []byte, code string, t time.Time, stepSeconds, skew, digits int) (step int64, ok bool) {
	if len(secret) == 0 || stepSeconds < 1 || skew < 0 || !validDigits(digits) || !wellFormed(code, digits) {
		return 0, false
	}
	g := newGenerator(secret)
	var buf [MaxDigits]byte
	want := []byte(code)
	now := Step(t, stepSeconds)
	for s := now - int64(skew); s <= now+int64(skew); s++ {
		if s < 0 {
			continue
		}
		g.code(buf[:digits], uint64(s))
		if subtle.ConstantTimeCompare(buf[:digits], want) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// ResyncHOTP finds three consecutive codes (codes[0] at c, codes[1] at c+1,
// codes[2] at c+2) for c in [from, from+scan) and returns c+3, the next
// counter to accept. It is the resynchronisation an administrator runs for
// a hardware token whose counter ran ahead of the server's window; the
// Admin API scans at least 1000 counters. If several c match, the lowest
// wins.
//
// It refuses an empty secret, scan below 1, a digits value outside
// MinDigits..MaxDigits and malformed codes.
func ResyncHOTP(secret []byte, codes [3]string, from uint64, scan int, digits int) (next uint64, ok bool) {
	if len(secret) == 0 || scan < 1 || !validDigits(digits) {
		return 0, false
	}
	var want [3][]byte
	for i, code := range codes {
		if !wellFormed(code, digits) {
			return 0, false
		}
		want[i] = []byte(code)
	}
	g := newGenerator(secret)
	var buf [MaxDigits]byte
	// Rolling match flags: first1 and first2 tell whether codes[0] matched
	// at c-1 and c-2, second1 whether codes[1] matched at c-1.
	var first1, first2, second1 bool
	for i := 0; i < scan+2; i++ {
		c := from + uint64(i)
		if c < from || c == math.MaxUint64 {
			break
		}
		g.code(buf[:digits], c)
		m0 := subtle.ConstantTimeCompare(buf[:digits], want[0]) == 1
		m1 := subtle.ConstantTimeCompare(buf[:digits], want[1]) == 1
		m2 := subtle.ConstantTimeCompare(buf[:digits], want[2]) == 1
		if i >= 2 && first2 && second1 && m2 && !ok {
			next, ok = c+1, true
		}
		first2, first1, second1 = first1, m0, m1
	}
	return next, ok
}
