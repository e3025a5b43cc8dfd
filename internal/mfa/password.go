package mfa

import (
	"context"
	"time"
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
