package mfa

import "time"

// Bypass code rules (seed 004: "How do I generate a bypass code?").
const (
	BypassCodeDigits     = 9
	MaxActiveBypassCodes = 100
	MaxBypassCodesPerReq = 10
)

// BypassCode is a code an administrator issued to a user who lost their
// devices. Only a keyed hash of the code is stored; Code is set only on a
// freshly created code, for the one response that shows it.
type BypassCode struct {
	ID        string
	UserID    string
	Code      Passcode  // plaintext; only on creation, never read back
	UsesLeft  int       // remaining uses; ignored when Unlimited
	Unlimited bool      // reuse_count 0
	Expires   time.Time // zero = never
	CreatedBy string    // the administrator's email or the integration's name
	Created   time.Time
}

// Spent reports whether the code can no longer be used at now.
func (b BypassCode) Spent(now time.Time) bool {
	if !b.Unlimited && b.UsesLeft <= 0 {
		return true
	}
	return !b.Expires.IsZero() && !now.Before(b.Expires)
}

// BypassFilter selects bypass codes in a list.
type BypassFilter struct {
	UserID string // empty = all users
	Page
}

// NewBypassCodes asks the store to add codes for one user atomically.
type NewBypassCodes struct {
	UserID           string
	Codes            []BypassCode // ID, Code, uses, expiry, creator and time set
	PreserveExisting bool         // false: the new codes replace the user's active ones
	MaxActive        int          // fail with Invalid (creating none) if the user would exceed it
}

// SMSBatch is a batch of one-time passcodes sent to a phone by SMS. A new
// batch voids the previous one of the same phone.
type SMSBatch struct {
	ID      string
	UserID  string
	PhoneID string
	Codes   []Passcode // plaintext on creation only; stored as keyed hashes
	Created time.Time
	Expires time.Time // zero = never
}

// SMSCodeUse reports a spent SMS passcode.
type SMSCodeUse struct {
	BatchID   string
	PhoneID   string
	Index     int // position of the code in its batch, from 0
	Remaining int // unused codes left in the batch after this one
}
