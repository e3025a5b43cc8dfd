package mfa

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// UserPassword is a user's twostep password: only its argon2id hash, in
// PHC string form ($argon2id$v=19$m=..,t=..,p=..$salt$key).
type UserPassword struct {
	UserID string
	Hash   string
	Set    time.Time
}

// MaxPasswordHashLen bounds a stored hash (a PHC string is ~100 bytes).
const MaxPasswordHashLen = 512

// UserPasswordStore keeps twostep passwords (the first factor for users
// whose password twostep keeps, not a directory). Hashing is the caller's
// job, outside any write transaction.
type UserPasswordStore interface {
	// SetUserPassword stores (or replaces) the user's password hash, set
	// at at. NotFound for an unknown user; Invalid for an empty hash, one
	// that is not argon2id PHC or longer than MaxPasswordHashLen.
	SetUserPassword(ctx context.Context, userID, hash string, at time.Time) error
	// GetUserPassword returns the user's password; NotFound if the user
	// has none (or does not exist).
	GetUserPassword(ctx context.Context, userID string) (UserPassword, error)
	// DeleteUserPassword removes the user's password; NotFound if there
	// was none. Deleting the user deletes it too.
	DeleteUserPassword(ctx context.Context, userID string) error
}

// CheckPasswordHash reports an Invalid error for a hash that
// SetUserPassword refuses, for stores to share.
func CheckPasswordHash(hash string) error {
	switch {
	case hash == "":
		return InvalidField("password", "a password hash is required")
	case len(hash) > MaxPasswordHashLen:
		return InvalidField("password", "the password hash is too long")
	case len(hash) < 10 || hash[:10] != "$argon2id$":
		return InvalidField("password", "the password hash must be argon2id in PHC form")
	}
	return nil
}

// Directory checks first-factor passwords against an outside directory
// (LDAP, Active Directory). internal/ldapdir implements it.
type Directory interface {
	// Authenticate checks username's password by binding as the user.
	// It answers ErrBadCredentials for an unknown user and for a wrong
	// password alike, taking about the same time for both, and an
	// Unavailable error when the directory cannot be asked (down,
	// timeout, TLS failure): never an acceptance.
	Authenticate(ctx context.Context, username, password string) (DirectoryUser, error)
}

// DirectoryUser is what a directory says about a user whose password it
// accepted.
type DirectoryUser struct {
	DN       string
	Username string // the directory's spelling of the name that was looked up
	Email    string
	RealName string
	Groups   []string
}

// ErrBadCredentials is a directory's answer to an unknown user or a wrong
// password: the two are never told apart.
var ErrBadCredentials = E(Unauthorized, "wrong username or password")

// Password policy bounds.
const (
	DefaultMinPasswordLen = 12
	MaxPasswordLen        = 1024 // bytes: longer ones are refused before hashing
)

// CheckPasswordPolicy reports, as an Invalid error on field "password"
// saying how to fix it, why pw cannot be u's password: shorter than
// minLen characters, longer than MaxPasswordLen bytes, or containing the
// user's username, an alias, their email address (or its part before the
// @) or a word of their name (compared case-insensitively; parts shorter
// than 4 characters are ignored).
func CheckPasswordPolicy(pw string, u User, minLen int) error {
	if minLen <= 0 {
		minLen = DefaultMinPasswordLen
	}
	switch {
	case len(pw) > MaxPasswordLen:
		return InvalidField("password", fmt.Sprintf("must be at most %d bytes", MaxPasswordLen))
	case utf8.RuneCountInString(pw) < minLen:
		return InvalidField("password", fmt.Sprintf("must be at least %d characters long", minLen))
	case strings.TrimSpace(pw) == "":
		return InvalidField("password", "must not be only spaces")
	}
	lower := strings.ToLower(pw)
	parts := []string{u.Username, u.Email, u.RealName, u.FirstName, u.LastName}
	parts = append(parts, u.Aliases...)
	if local, _, ok := strings.Cut(u.Email, "@"); ok {
		parts = append(parts, local)
	}
	parts = append(parts, strings.Fields(u.RealName)...)
	for _, p := range parts {
		p = strings.ToLower(strings.TrimSpace(p))
		if utf8.RuneCountInString(p) >= 4 && strings.Contains(lower, p) {
			return InvalidField("password", "must not contain your username, name or email address")
		}
	}
	return nil
}
