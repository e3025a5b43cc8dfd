// Package password hashes and checks passwords with argon2id, in the PHC
// string form ($argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>),
// for administrators (internal/admin) and users' twostep passwords
// (internal/authflow).
//
// The cost is sized for small machines (docs/first-factor.md records the
// measurements): a hash holds Memory KiB for its whole run, so a Limiter
// bounds how many run at once, and with them the memory a burst of logins
// can take. It imports only the standard library and x/crypto/argon2.
package password

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Hasher is an argon2id cost.
type Hasher struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8  // lanes
}

// Default is the administrators' cost: 64 MiB, 2 passes, 2 lanes.
func Default() Hasher { return Hasher{Time: 2, Memory: 64 * 1024, Threads: 2} }

// UserDefault is the cost of users' twostep passwords, checked at every
// login: 19 MiB, 2 passes, 1 lane (OWASP's argon2id minimum), about 25 ms
// per hash on these 2-core machines (BenchmarkHash), so that a burst of
// logins neither starves the CPU nor runs a small machine out of memory.
func UserDefault() Hasher { return Hasher{Time: 2, Memory: 19 * 1024, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
	// maxMemory bounds the cost a stored hash may ask for (4 GiB), so
	// that a tampered row cannot make a check allocate without bound.
	maxMemory = 4 * 1024 * 1024
)

// Hash returns the PHC string of password under a new random salt.
func (h Hasher) Hash(password string, random io.Reader) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.Time, h.Memory, h.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, h.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// ErrBadHash is Verify's error for a stored hash it cannot read.
var ErrBadHash = errors.New("stored password hash is malformed")

// Verify reports whether password matches the PHC string encoded, using
// the parameters recorded in it, in constant time.
func Verify(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > maxMemory || t > 64 {
		return false, ErrBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Limiter bounds how many hashes run at once.
type Limiter chan struct{}

// NewLimiter allows n hashes at once (at least 1).
func NewLimiter(n int) Limiter { return make(Limiter, max(n, 1)) }

// Do runs f when a slot is free, or returns ctx's error when ctx ends
// first. A nil Limiter runs f at once.
func (l Limiter) Do(ctx context.Context, f func()) error {
	if l == nil {
		f()
		return nil
	}
	select {
	case l <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l }()
	f()
	return nil
}
