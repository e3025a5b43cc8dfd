package mfa

import (
	"context"
	"time"
)

// IdentityCheck is how a user proves who they are to get a self-service
// bypass code (seed 003): a PIN they set, or their date of birth with the
// last four digits of an ID number. Administrators choose one for the
// whole account (Settings.SelfBypassCheck).
type IdentityCheck string

// Identity checks.
const (
	IdentityPIN   IdentityCheck = "pin"
	IdentityDOBID IdentityCheck = "dob_id"
)

// Valid reports whether c is a known check.
func (c IdentityCheck) Valid() bool { return c == IdentityPIN || c == IdentityDOBID }

// IdentityStatus says which identity answers a user has, and when each was
// set (zero: not set). It never holds an answer.
type IdentityStatus struct {
	PINSet   time.Time
	DOBIDSet time.Time
}

// Has reports whether the user has an answer for check c.
func (s IdentityStatus) Has(c IdentityCheck) bool {
	switch c {
	case IdentityPIN:
		return !s.PINSet.IsZero()
	case IdentityDOBID:
		return !s.DOBIDSet.IsZero()
	}
	return false
}

// IdentityStore keeps users' identity answers as keyed hashes
// (HMAC-SHA256 under the server's code key, bound to the user and the
// check), never the answers themselves. Callers normalise answers first
// (the admin service does).
type IdentityStore interface {
	// SetUserIdentity stores answer as the user's answer to check c,
	// replacing any earlier one, or removes it when answer is empty.
	// NotFound for an unknown user; Invalid for an unknown check.
	// Deleting the user deletes their answers.
	SetUserIdentity(ctx context.Context, userID string, c IdentityCheck, answer Passcode, at time.Time) error
	// UserIdentity reports which answers the user has. NotFound for an
	// unknown user.
	UserIdentity(ctx context.Context, userID string) (IdentityStatus, error)
	// CheckUserIdentity reports whether answer is the user's answer to
	// check c (keyed hashes compared in constant time); false when the
	// user has none. Invalid for an unknown check.
	CheckUserIdentity(ctx context.Context, userID string, c IdentityCheck, answer Passcode) (bool, error)
}
