package mfa

import (
	"context"
	"errors"
	"time"
)

// The storage contracts. Every method takes ctx first. Conventions that the
// conformance suite (mfatest.RunStoreTests) proves for every backend:
//   - a missing object is an error of Kind NotFound, never a zero value and nil;
//   - a unique value already taken (username, alias, email, serial, ikey) is Conflict;
//   - times round-trip as the same instant (compare with time.Time.Equal), at
//     microsecond precision, whatever their location;
//   - secrets (Secret fields) are sealed at rest and come back unsealed;
//     passcodes (bypass, SMS) are stored only as keyed hashes and never come back;
//   - list methods return a stable order (creation order, then id) and the
//     total count of matching objects ignoring the page.

// UserStore stores users.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByName finds a user by username or alias, case-insensitively.
	GetUserByName(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]User, int, error)
	// UpdateUser writes the profile fields, status and aliases. It does not
	// touch FailedAttempts, Created or LastLogin; LockedAt is cleared when the
	// new status is not locked out. (Unlocking also needs ResetAuthFailures,
	// or the next failure locks the user again.)
	UpdateUser(ctx context.Context, u User) error
	// SetUserDefaults sets the user's DefaultDevice and DefaultMethod
	// (UpdateUser leaves them); NotFound for an unknown user.
	SetUserDefaults(ctx context.Context, userID, device, method string) error
	// DeleteUser deletes the user with their bypass codes, SMS batches and
	// phone/token associations (phones and tokens themselves stay).
	DeleteUser(ctx context.Context, id string) error
	// ResetAuthFailures clears the failure count; if the user is locked out
	// it also makes them active again.
	ResetAuthFailures(ctx context.Context, userID string) error
	// LockUser, inside Atomic, holds the user against every other LockUser
	// of them (and their profile's updates) until the transaction ends, so
	// that a check of what the user has followed by an add (one phone per
	// number, at most MaxWebAuthnPerUser keys) cannot interleave with
	// another transaction's: PostgreSQL runs READ COMMITTED, where two
	// transactions would both find nothing and both add. NotFound for an
	// unknown user. Outside Atomic it only checks that the user exists.
	LockUser(ctx context.Context, userID string) error
	// UnlockExpired makes active, with a zero failure count, every
	// locked-out user locked at or before lockedBefore, returning how many.
	UnlockExpired(ctx context.Context, lockedBefore time.Time) (int, error)
	// LoginAccount reads what a login needs about one user, found by
	// q.UserID when it is not empty, else by q.Name (username or alias,
	// case-insensitively), in one consistent read: the user, their phones,
	// tokens and groups (as UserPhones, UserTokens, UserGroups), their
	// active authenticators (UserAuthenticators), and what q asks for
	// besides. NotFound for no such user. Backends make it one database
	// round trip where they can.
	LoginAccount(ctx context.Context, q AccountQuery) (Account, error)
}

// AccountQuery names the user LoginAccount reads and what else it reads.
type AccountQuery struct {
	UserID string
	Name   string
	// Revoked asks for the user's most recently revoked app installs, as
	// RevokedAuthenticators(UserID, RevokedLimit).
	Revoked bool
	// SMSAt, when not zero, asks for the next unused SMS passcode of each
	// of the user's phones with a live batch at SMSAt, as SMSBatchState.
	SMSAt time.Time
}

// RevokedLimit is how many revoked installs LoginAccount reads.
const RevokedLimit = 5

// Account is what LoginAccount reads.
type Account struct {
	User           User
	Phones         []Phone
	Tokens         []Token
	Groups         []Group
	Authenticators []Authenticator
	Revoked        []Authenticator // with AccountQuery.Revoked
	// SMSNext maps a phone id to the index of the next unused SMS
	// passcode of its live batch (with AccountQuery.SMSAt; phones with no
	// unused code are absent).
	SMSNext map[string]int
}

// PhoneFilter selects phones.
type PhoneFilter struct {
	Number    string
	Extension string
	Page
}

// PhoneStore stores phones and their association with users.
type PhoneStore interface {
	CreatePhone(ctx context.Context, p Phone) error
	GetPhone(ctx context.Context, id string) (Phone, error)
	ListPhones(ctx context.Context, f PhoneFilter) ([]Phone, int, error)
	// UpdatePhone writes every field but ID, Created and Activated (which
	// follows the phone's authenticators).
	UpdatePhone(ctx context.Context, p Phone) error
	// DeletePhone deletes the phone, its authenticators, SMS batches and
	// associations.
	DeletePhone(ctx context.Context, id string) error
	// AttachPhone associates a phone with a user; attaching twice is not an
	// error. NotFound if either does not exist.
	AttachPhone(ctx context.Context, userID, phoneID string) error
	// DetachPhone removes the association; NotFound if there was none.
	DetachPhone(ctx context.Context, userID, phoneID string) error
	UserPhones(ctx context.Context, userID string) ([]Phone, error)
	PhoneUsers(ctx context.Context, phoneID string) ([]User, error)
}

// AuthenticatorStore stores authenticator app installs.
type AuthenticatorStore interface {
	// ActivateAuthenticator stores a new active install for a.PhoneID and, in
	// the same transaction, revokes every other active install on that
	// phone and marks the phone activated (reactivation).
	ActivateAuthenticator(ctx context.Context, a Authenticator) error
	GetAuthenticator(ctx context.Context, id string) (Authenticator, error)
	// PhoneAuthenticator returns the phone's active install.
	PhoneAuthenticator(ctx context.Context, phoneID string) (Authenticator, error)
	// UserAuthenticators returns the active installs on the user's phones.
	UserAuthenticators(ctx context.Context, userID string) ([]Authenticator, error)
	// RevokeAuthenticator revokes an install; the phone is no longer
	// activated if that was its active install.
	RevokeAuthenticator(ctx context.Context, id string) error
	// TouchAuthenticator records contact from an install at at; the
	// phone's LastSeen follows.
	TouchAuthenticator(ctx context.Context, id string, at time.Time) error
}

// TokenFilter selects tokens.
type TokenFilter struct {
	Type   TokenType
	Serial string
	Page
}

// TokenStore stores hardware tokens and their association with users.
type TokenStore interface {
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, id string) (Token, error)
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, int, error)
	// UpdateToken writes TOTPStep, Counter, LastStep and YKCounter (an
	// administrator's resync or step change). Counter and YKCounter only
	// move forward: a lower value leaves the stored one, atomically.
	UpdateToken(ctx context.Context, t Token) error
	// RenameToken sets the token's serial (a user renaming an
	// authenticator app they added): NotFound for an unknown id, Conflict
	// if another token of the same type has that serial.
	RenameToken(ctx context.Context, id, serial string) error
	DeleteToken(ctx context.Context, id string) error
	AttachToken(ctx context.Context, userID, tokenID string) error
	DetachToken(ctx context.Context, userID, tokenID string) error
	UserTokens(ctx context.Context, userID string) ([]Token, error)
	TokenUsers(ctx context.Context, tokenID string) ([]User, error)
}

// BypassCodeStore stores bypass codes as keyed hashes.
type BypassCodeStore interface {
	// CreateBypassCodes adds codes for one user in one transaction: unless
	// PreserveExisting, the user's existing codes are deleted first; if the
	// user would then hold more than MaxActive unspent codes at now, it
	// fails with Invalid (Field "count") and changes nothing. A code equal
	// to one the user already holds is Conflict (Field "codes").
	CreateBypassCodes(ctx context.Context, req NewBypassCodes, now time.Time) error
	GetBypassCode(ctx context.Context, id string) (BypassCode, error)
	ListBypassCodes(ctx context.Context, f BypassFilter) ([]BypassCode, int, error)
	DeleteBypassCode(ctx context.Context, id string) error
	// DeleteSpentBypassCodes deletes used-up and expired codes (the reaper).
	DeleteSpentBypassCodes(ctx context.Context, now time.Time) (int, error)
}

// SMSStore stores SMS passcode batches as keyed hashes.
type SMSStore interface {
	// ReplaceSMSBatch stores a batch and voids the previous batch of the
	// same user and phone, atomically.
	ReplaceSMSBatch(ctx context.Context, b SMSBatch) error
	// SMSBatchState reports the index of the next unused code of the user's
	// current batch on the phone and how many remain. NotFound when there is
	// no unexpired batch with unused codes.
	SMSBatchState(ctx context.Context, userID, phoneID string, now time.Time) (next, remaining int, err error)
}

// GuardKind selects the security counter an AuthWrite must move.
type GuardKind int

// Guards. Each is a single conditional update: of N concurrent writes with
// the same value, exactly one wins and the others get Conflict.
const (
	GuardNone GuardKind = iota
	// GuardAuthenticatorCounter accepts HOTP counter Counter of install ID if
	// the stored next counter is <= Counter; the stored counter becomes
	// Counter+1. Otherwise Conflict (already used).
	GuardAuthenticatorCounter
	// GuardAuthenticatorStep accepts TOTP step Step of install ID if the
	// stored last step is < Step; it becomes Step. Otherwise Conflict.
	GuardAuthenticatorStep
	// GuardTokenCounter is GuardAuthenticatorCounter for token ID.
	GuardTokenCounter
	// GuardTokenStep is GuardAuthenticatorStep for token ID.
	GuardTokenStep
	// GuardYubiKeyCounter accepts YubiKey counter Counter of token ID if the
	// stored counter is < Counter; it becomes Counter. Otherwise Conflict.
	GuardYubiKeyCounter
	// GuardBypassCode spends one use of the user's unspent bypass code Code
	// at Now (deleting it when none are left). NotFound if the user holds no
	// such usable code.
	GuardBypassCode
	// GuardSMSCode spends the user's SMS passcode Code from an unexpired
	// batch at Now. Conflict if it was already used, NotFound if unknown.
	GuardSMSCode
	// GuardWebAuthnCounter accepts signature counter Counter of WebAuthn
	// credential ID if the credential is not Cloned and the stored
	// counter is < Counter, or both are 0 (an authenticator without a
	// counter); the stored counter becomes Counter and LastUsed becomes
	// Now. Otherwise Conflict: of N concurrent assertions with one
	// non-zero counter exactly one wins.
	GuardWebAuthnCounter
)

// Guard names one security counter move.
type Guard struct {
	Kind    GuardKind
	ID      string
	Counter uint64
	Step    int64
	Code    Passcode
	Now     time.Time
}

// AuthWrite is one authentication decision's whole write, applied
// atomically: the guarded counter move (if any) and then, only if it won,
// the user's failure-count change and the auth log record. Backends may
// batch several AuthWrites into one database transaction (group commit) as
// long as each one's effects are all-or-nothing.
type AuthWrite struct {
	UserID string // may be empty for decisions about unknown users
	Guard  Guard
	// Success resets the user's failure count and sets LastLogin to At.
	Success bool
	// CountFailure adds one failure; at Threshold (> 0) consecutive failures
	// an active user becomes locked out.
	CountFailure bool
	Threshold    int
	At           time.Time
	Log          *AuthLogEntry
	// Claim, when set, claims a signed request's signature (as
	// ReplayStore.ClaimSignature) in the same write, before anything else:
	// when it is claimed already the write is Conflict with Field
	// "signature" and changes nothing.
	Claim *SignatureClaim
	// Hits are durable rate-limit hits (as RateLimitStore.HitRateLimit)
	// counted in the same write, after the claim and before the guard. When
	// one is over its limit the write is RateLimited (the hit's Msg, with
	// RetryAfter until its window ends), the claim and the hits stay
	// counted, and nothing else is written.
	//
	// A write that loses its guard (Conflict or NotFound from the guard)
	// keeps its claim and hits too: they belong to the request, which is
	// decided by the caller's next write, carrying neither.
	Hits []RateHit
}

// SignatureClaim is one ReplayStore claim carried by an AuthWrite.
type SignatureClaim struct {
	Key          string // a SignatureKey
	Now, Expires time.Time
}

// RateHit is one RateLimitStore hit carried by an AuthWrite.
type RateHit struct {
	Key    string
	Limit  int
	Window time.Duration
	Now    time.Time
	Msg    string // the RateLimited error's message when over the limit
}

// IsSignatureConflict reports whether err is the Conflict of a claimed
// signature (AuthWrite.Claim).
func IsSignatureConflict(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Conflict && e.Field == "signature"
}

// CheckClaims reports an Invalid error for an AuthWrite's Claim or Hits
// that ClaimSignature or HitRateLimit would refuse, for stores to share.
func (w AuthWrite) CheckClaims() error {
	if c := w.Claim; c != nil {
		if err := CheckClaimArgs(c.Key, c.Now, c.Expires); err != nil {
			return err
		}
	}
	for _, h := range w.Hits {
		if err := CheckRateLimitArgs(h.Key, h.Limit, h.Window); err != nil {
			return err
		}
	}
	return nil
}

// AuthOutcome reports what an AuthWrite changed.
type AuthOutcome struct {
	Failure         FailureResult // when CountFailure
	BypassUsesLeft  int           // GuardBypassCode
	BypassUnlimited bool          // GuardBypassCode
	SMS             SMSCodeUse    // GuardSMSCode
}

// AuthStore applies authentication decisions and keeps transactions and the
// authentication log.
type AuthStore interface {
	ApplyAuth(ctx context.Context, w AuthWrite) (AuthOutcome, error)

	CreateTransaction(ctx context.Context, tx Transaction) error
	GetTransaction(ctx context.Context, id string) (Transaction, error)
	// SetTransactionStatus changes the status words of a pending
	// transaction; Conflict if it is no longer pending.
	SetTransactionStatus(ctx context.Context, id, status, msg string) error
	// CompleteTransaction moves a pending transaction to its final state
	// and appends log (if non-nil) in the same transaction. Conflict if it
	// was no longer pending (exactly one of concurrent completions wins).
	CompleteTransaction(ctx context.Context, id string, out TxOutcome, log *AuthLogEntry) (Transaction, error)
	// PendingTransactions lists unexpired pending transactions for a phone.
	PendingTransactions(ctx context.Context, phoneID string, now time.Time) ([]Transaction, error)
	// ExpiredTransactions lists pending transactions whose Expires <= now.
	ExpiredTransactions(ctx context.Context, now time.Time, limit int) ([]Transaction, error)
	// DeleteFinishedTransactions deletes transactions that are no longer
	// pending and whose Expires is before before (pending ones are left for
	// the timeout path), returning how many.
	DeleteFinishedTransactions(ctx context.Context, before time.Time) (int, error)

	AppendAuthLog(ctx context.Context, e AuthLogEntry) error
	// ListAuthLog returns records matching f in (Time, TxID) order
	// (descending if f.Descending), after the cursor, at most f.Limit, and
	// the total number matching f ignoring the cursor and limit.
	ListAuthLog(ctx context.Context, f AuthLogFilter) ([]AuthLogEntry, int, error)
}

// IntegrationStore stores integrations.
type IntegrationStore interface {
	CreateIntegration(ctx context.Context, in Integration) error
	GetIntegration(ctx context.Context, ikey string) (Integration, error)
	ListIntegrations(ctx context.Context, p Page) ([]Integration, int, error)
	// UpdateIntegration writes every field but IKey and Created.
	UpdateIntegration(ctx context.Context, in Integration) error
	DeleteIntegration(ctx context.Context, ikey string) error
}

// AdminStore stores administrators.
type AdminStore interface {
	CreateAdmin(ctx context.Context, a Admin) error
	GetAdmin(ctx context.Context, id string) (Admin, error)
	GetAdminByEmail(ctx context.Context, email string) (Admin, error)
	ListAdmins(ctx context.Context, p Page) ([]Admin, int, error)
	// UpdateAdmin writes every field but ID and Created. UpdateAdmin and
	// DeleteAdmin never leave the account without an Owner: demoting or
	// deleting the last Owner is Conflict (Field "role" or "admin_id"),
	// checked atomically, so of two concurrent demotions of the last two
	// Owners one fails.
	UpdateAdmin(ctx context.Context, a Admin) error
	DeleteAdmin(ctx context.Context, id string) error
	// LockAdmin is LockUser for an administrator (a check of their
	// security keys followed by an add). NotFound for an unknown id.
	LockAdmin(ctx context.Context, id string) error
	// CountAdminFailure adds one failed sign-in to the administrator's
	// FailedLogins in one conditional write and, when the count reaches
	// threshold (> 0), sets LockedAt to at if it is not set; it returns
	// the administrator as written. NotFound for an unknown id.
	CountAdminFailure(ctx context.Context, id string, threshold int, at time.Time) (Admin, error)
	// ClearAdminFailures sets FailedLogins to 0 and clears LockedAt; a
	// non-zero signedIn becomes LastLogin (a successful sign-in), in the
	// same write.
	ClearAdminFailures(ctx context.Context, id string, signedIn time.Time) error
	// SetAdminTOTP gives the administrator a new, unconfirmed TOTP
	// secret (LastStep 0). Conflict when the administrator has a confirmed
	// one (it must be deleted first); NotFound for an unknown id.
	SetAdminTOTP(ctx context.Context, id string, secret Secret) error
	// GetAdminTOTP returns the administrator's TOTP secret; NotFound if
	// there is none.
	GetAdminTOTP(ctx context.Context, id string) (AdminTOTP, error)
	// UseAdminTOTPStep records step as used and the secret as confirmed,
	// in one conditional write that succeeds only if step is later than
	// LastStep: of two requests with the same code exactly one gets true.
	UseAdminTOTPStep(ctx context.Context, id string, step int64) (bool, error)
	// DeleteAdminTOTP removes the administrator's TOTP secret (the next
	// sign-in enrols a new one); not an error when there is none.
	DeleteAdminTOTP(ctx context.Context, id string) error
	// Administrators' security keys (a second factor for the console
	// sign-in), WebAuthnCredentials whose UserID is the administrator's
	// id. CreateAdminWebAuthnCredential: NotFound for an unknown
	// administrator, Conflict when the credential id is already
	// registered to an administrator, Invalid for an empty CredentialID or
	// PublicKey.
	CreateAdminWebAuthnCredential(ctx context.Context, c WebAuthnCredential) error
	// AdminWebAuthnCredentials lists the administrator's keys in creation
	// order.
	AdminWebAuthnCredentials(ctx context.Context, adminID string) ([]WebAuthnCredential, error)
	// DeleteAdminWebAuthnCredential removes the administrator's key id;
	// NotFound unless it is one of adminID's.
	DeleteAdminWebAuthnCredential(ctx context.Context, adminID, id string) error
	// UseAdminWebAuthnCounter accepts signature counter counter of the
	// administrator's key id, in one conditional write, if the key is not
	// Cloned and its stored counter is < counter, or both are 0: the
	// counter becomes counter and LastUsed at. Otherwise it marks the key
	// Cloned and answers Conflict (of concurrent uses of one non-zero
	// counter exactly one wins); NotFound unless it is one of adminID's.
	UseAdminWebAuthnCounter(ctx context.Context, adminID, id string, counter uint32, at time.Time) error
	// CountAdmins returns how many administrators exist (bootstrap checks 0).
	CountAdmins(ctx context.Context) (int, error)
	// Bootstrap creates owner and integrations in one transaction if no
	// administrator exists yet; otherwise it is Conflict and changes
	// nothing. Of several concurrent calls exactly one wins.
	Bootstrap(ctx context.Context, owner Admin, integrations []Integration) error
}

// SettingsStore stores the account settings.
type SettingsStore interface {
	// GetSettings returns the stored settings, or DefaultSettings() if none
	// were ever stored.
	GetSettings(ctx context.Context) (Settings, error)
	PutSettings(ctx context.Context, s Settings) error
	// UpdateSettings reads the stored settings (DefaultSettings() if none),
	// lets fn change them, and stores the result, in one transaction that
	// excludes concurrent updates: two callers changing different fields
	// both keep their change. An error from fn changes nothing and is
	// returned as is. fn may run more than once (a backend may retry the
	// transaction), so it must have no other effects.
	UpdateSettings(ctx context.Context, fn func(*Settings) error) (Settings, error)
}

// LogStore stores the administrator and telephony logs.
type LogStore interface {
	AppendAdminLog(ctx context.Context, e AdminLogEntry) (int64, error)
	ListAdminLog(ctx context.Context, f LogFilter) ([]AdminLogEntry, error)
	AppendTelephonyLog(ctx context.Context, e TelephonyLogEntry) (int64, error)
	ListTelephonyLog(ctx context.Context, f LogFilter) ([]TelephonyLogEntry, error)
	// SetTelephonyStatus records a carrier's delivery status on the
	// telephony log records with carrierID, in one conditional write: the
	// status only moves forward in the lifecycle (TelephonyStatusRank), so a
	// late or repeated status never overwrites a later one ("sent" after
	// "delivered" changes nothing and is no error), and of two final
	// statuses the first stays. Unknown carrierID: NotFound; an empty one
	// or a status TelephonyStatusRank does not know: Invalid.
	SetTelephonyStatus(ctx context.Context, carrierID, status string) error
}

// Store is everything twostep keeps.
type Store interface {
	UserStore
	GroupStore
	PhoneStore
	AuthenticatorStore
	TokenStore
	BypassCodeStore
	SMSStore
	AuthStore
	IntegrationStore
	AdminStore
	AdminActivationStore
	SettingsStore
	LogStore
	ActivationStore
	ActivationDeviceStore
	TrustedDeviceStore
	PhoneMuteStore
	RevokedAuthenticatorStore
	RateLimitStore
	ReplayStore
	SessionStore
	LoginRequestStore
	UserPasswordStore
	IdentityStore
	SigningKeyStore
	WebAuthnStore
	Events
	// Atomic runs fn in one store transaction: every store method that fn
	// calls with the ctx it is given (or a context derived from it) joins
	// that transaction, and its reads see its writes. If fn returns an
	// error (returned as is) or panics (re-raised), nothing it wrote is
	// kept; otherwise all of it commits at once. Effects outside the data
	// (events to subscribers, cache invalidation) happen after the commit.
	// A nested Atomic that fails undoes only its own part, so fn may handle
	// its error and go on; a store method that fails should end fn with
	// that error, unless it is a read answering NotFound (on PostgreSQL a
	// failed statement leaves the transaction unusable). Keep fn short: no
	// network calls or slow hashing inside it, since on SQLite it holds the
	// single writer for its whole run. fn may run more than once (a backend
	// may retry a transaction the database aborted), so it must have no
	// effects outside the store.
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
	// Ping reports whether the database is reachable and migrated.
	Ping(ctx context.Context) error
}
