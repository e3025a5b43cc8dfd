package mfa

import (
	"context"
	"time"
)

// Activation is a single-use code that binds a new authenticator install
// to a user: to an existing phone (Admin API activation_url, the portal's
// "reactivate") or to a phone created when the code is redeemed (Auth API
// enroll, Admin API users/enroll). Only a keyed hash of the code is stored.
type Activation struct {
	ID       string
	Code     Passcode // plaintext; only on creation, never read back
	UserID   string
	PhoneID  string // empty: redeeming creates a phone for the user
	Created  time.Time
	Expires  time.Time
	Redeemed time.Time // zero until used
}

// ActivationCodeLength is the length of the random part of an activation
// code (Duo's shape: 20 characters).
const ActivationCodeLength = 20

// ActivationStore stores activation codes as keyed hashes.
type ActivationStore interface {
	// CreateActivation stores a new code. NotFound if the user (or the
	// phone, when given) does not exist; Invalid for an empty Code or a zero
	// Expires (no code lives forever).
	CreateActivation(ctx context.Context, a Activation) error
	// GetActivation returns an activation by id (Code empty).
	GetActivation(ctx context.Context, id string) (Activation, error)
	// RedeemActivation marks the unexpired, unredeemed activation with this
	// code redeemed at now and returns it: exactly one of concurrent
	// redeemers wins. NotFound for an unknown, expired or used code.
	RedeemActivation(ctx context.Context, code Passcode, now time.Time) (Activation, error)
	// DeleteExpiredActivations deletes activations that expired at or
	// before now or were redeemed before now.
	DeleteExpiredActivations(ctx context.Context, now time.Time) (int, error)
}

// ActivationDeviceStore is the device side of activations.
type ActivationDeviceStore interface {
	// ActivationByCode returns the activation with this code whatever its
	// state (redeemed or expired, until the reaper deletes it), with Code
	// empty: enroll_status reports on it. NotFound for an unknown code.
	ActivationByCode(ctx context.Context, code Passcode) (Activation, error)
	// CompleteActivation is the device side of an activation, in one
	// transaction: it redeems the code at now as RedeemActivation does
	// (NotFound for an unknown, expired or used code; exactly one of
	// concurrent redeemers wins), creates newPhone and attaches it to the
	// activation's user when the activation has no phone (newPhone.ID must
	// then be set), and activates auth on the activation's (or the new)
	// phone as ActivateAuthenticator does, revoking the phone's other
	// installs, and voids (deletes) the spare codes: every other
	// unredeemed activation of the activation's phone and every
	// unredeemed activation of its user that names no phone (an
	// enrolment), so that a second code issued earlier can no longer
	// replace the install just made. auth.PhoneID and auth.UserID are
	// filled in from the activation. It returns the redeemed activation and the stored
	// install. Nothing is written when any step fails.
	CompleteActivation(ctx context.Context, code Passcode, now time.Time, newPhone Phone, auth Authenticator) (Activation, Authenticator, error)
}
