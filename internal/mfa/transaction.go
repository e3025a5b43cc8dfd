package mfa

import "time"

// Factor is how a user proves the second step.
type Factor string

// Factors requested by clients.
const (
	FactorAuto     Factor = "auto"
	FactorPush     Factor = "push"
	FactorPhone    Factor = "phone"
	FactorSMS      Factor = "sms"
	FactorPasscode Factor = "passcode"
)

// TxState is where an authentication transaction stands.
type TxState string

// Transaction states. Every transaction ends in Allow or Deny.
const (
	TxPending TxState = "pending"
	TxAllow   TxState = "allow"
	TxDeny    TxState = "deny"
)

// Transaction is one asynchronous authentication (a push, a phone call)
// that a client polls with auth_status.
type Transaction struct {
	ID               string // txid
	UserID           string
	IKey             string
	Factor           Factor
	PhoneID          string
	State            TxState
	Status           string // Duo's status word: pushed, calling, answered, allow, deny, timeout, fraud, sent
	StatusMsg        string
	PushInfo         string // url-encoded key/value pairs shown in the app
	Type             string // the request type shown in the app ("Login request")
	DisplayUsername  string
	IP               string
	Hostname         string
	VerificationCode string // verified push: the code the user must type in the app
	Created          time.Time
	Expires          time.Time
	Answered         time.Time // zero while pending
}

// TxOutcome is how a pending transaction ends.
type TxOutcome struct {
	State     TxState // TxAllow or TxDeny
	Status    string
	StatusMsg string
	At        time.Time
	// The user's side of the ending, written in the same database
	// transaction as the state change, so that a decision is never half
	// written: UserSuccess resets the transaction user's failure count
	// and sets their last login to At; UserFailure adds one failure,
	// locking the user out at Threshold (0: never), as AuthWrite does.
	UserSuccess bool
	UserFailure bool
	Threshold   int
}

// AuthResult is the result word of an auth log record.
type AuthResult string

// Auth log results (Duo's real payloads use lower case).
const (
	ResultSuccess AuthResult = "success"
	ResultFailure AuthResult = "failure"
	ResultDenied  AuthResult = "denied"
	ResultFraud   AuthResult = "fraud"
	ResultError   AuthResult = "error"
)

// AuthLogEntry is one authentication decision. It is domain data, written in
// the same transaction as the state change it records.
type AuthLogEntry struct {
	TxID            string
	Time            time.Time
	EventType       string // "authentication" or "enrollment"
	UserID          string
	Username        string
	IKey            string
	IntegrationName string
	Factor          string // Duo's log words: duo_push, passcode, bypass_code, sms_passcode, ...
	Result          AuthResult
	Reason          string // valid_passcode, invalid_passcode, locked_out, user_marked_fraud, ...
	IP              string
	Hostname        string
	DeviceID        string
	DeviceName      string
}

// AuthLogFilter selects auth log records. Records are ordered by (Time, TxID).
type AuthLogFilter struct {
	MinTime time.Time // inclusive
	MaxTime time.Time // inclusive; zero = no bound
	UserIDs []string
	IKeys   []string
	Results []AuthResult
	Factors []string
	Reasons []string
	TxIDs   []string
	// EventTypes ("authentication", "enrollment") and DeviceIDs (the phone
	// or token that answered) select like the lists above: any of them.
	EventTypes []string
	DeviceIDs  []string
	// After continues a listing after the record (AfterTime, AfterTxID) in
	// the listing's order; it applies only when AfterTime is set. Records
	// are identified by (Time, TxID), so each decision's txid is unique.
	AfterTime  time.Time
	AfterTxID  string
	Descending bool
	Limit      int
}

// AdminLogEntry records a change made by an administrator or an Admin API
// integration.
type AdminLogEntry struct {
	ID          int64 // assigned by the store
	Time        time.Time
	Actor       string // administrator email or integration ikey
	ActorKind   string // "admin", "integration" or "system"
	Action      string // "user_create", "bypass_create", ...
	ObjectType  string // "user", "phone", ...
	Object      string // the object's id or name
	Description string // JSON details; never secrets
}

// TelephonyLogEntry records an SMS or voice call sent on a user's behalf.
type TelephonyLogEntry struct {
	ID      int64 // assigned by the store
	Time    time.Time
	Type    string // "sms" or "phone"
	Context string // "authentication", "enrollment", "administrator"
	Phone   string
	UserID  string
	Credits int
	// Status is the carrier's latest reported delivery status, in
	// Twilio's words ("queued", "sent", "delivered", "completed",
	// "no-answer", ...; see TelephonyStatusRank); "" until one arrives.
	Status string
	// CarrierID is the carrier's id of the message or call (Twilio's
	// MessageSid or CallSid, the webhook's call id), "" when it gave none;
	// status callbacks find the record by it (SetTelephonyStatus).
	CarrierID string
}

// LogFilter selects administrator or telephony log records by time.
type LogFilter struct {
	MinTime time.Time // inclusive
	MaxTime time.Time // inclusive; zero = no bound
	// AfterID continues after this record id in the listing's order: ids
	// above it, or below it when Descending.
	AfterID    int64
	Descending bool // newest (highest id) first
	Limit      int
}
