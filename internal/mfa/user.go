package mfa

import "time"

// UserStatus is a user's standing. The strings are Duo's.
type UserStatus string

// User statuses. LockedOut is set only by the system (too many failures)
// and cleared by an administrator setting the user Active again.
const (
	StatusActive    UserStatus = "active"
	StatusBypass    UserStatus = "bypass"
	StatusDisabled  UserStatus = "disabled"
	StatusLockedOut UserStatus = "locked out"
)

// Valid reports whether s is a known status.
func (s UserStatus) Valid() bool {
	switch s {
	case StatusActive, StatusBypass, StatusDisabled, StatusLockedOut:
		return true
	}
	return false
}

// MaxAliases is how many aliases a user may have.
const MaxAliases = 8

// User is a person who logs in with a second factor.
type User struct {
	ID        string
	Username  string // unique, case-insensitively
	RealName  string
	FirstName string
	LastName  string
	Email     string
	Status    UserStatus
	Aliases   []string // each unique across usernames and aliases
	Notes     string
	Created   time.Time
	LastLogin time.Time // zero if never

	// DefaultDevice and DefaultMethod are the device (a phone or token id
	// of the user) and method (a Factor: push, phone, sms, passcode) the
	// user chose at the portal, which the prompt preselects; "" for none.
	// A security key as the default is its credential id with
	// DefaultMethodKey. Written only by UserStore.SetUserDefaults.
	DefaultDevice string
	DefaultMethod string

	// Lockout state, maintained atomically by the store.
	FailedAttempts int
	LockedAt       time.Time // zero unless Status is LockedOut
}

// UserFilter selects users in a list. Empty fields do not filter.
type UserFilter struct {
	Username  string   // exact match on username or alias, case-insensitive
	Email     string   // exact, case-insensitive
	IDs       []string // any of
	Usernames []string // any of (username only)
	// Search finds users whose username, an alias, email or real name
	// contains it, case-insensitively, or, when it holds a digit, one of
	// whose phones' numbers contains its digits (the console's search).
	Search string
	Page
}

// SearchDigits is the digits of a search, for matching phone numbers
// ("+1 (555) 010" -> "1555010"); "" when it has none.
func SearchDigits(q string) string {
	var b []byte
	for i := 0; i < len(q); i++ {
		if q[i] >= '0' && q[i] <= '9' {
			b = append(b, q[i])
		}
	}
	return string(b)
}

// Page is an offset page of a list ordered by a stable key.
type Page struct {
	Limit  int // <= 0 means no limit
	Offset int
}

// FailureResult reports the user's state after a recorded failure.
type FailureResult struct {
	FailedAttempts int
	Status         UserStatus
	LockedOut      bool // true when this failure locked the user out
}
