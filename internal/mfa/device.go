package mfa

import (
	"context"
	"strings"
	"time"
)

// PhoneType is what kind of phone a number belongs to.
type PhoneType string

// Phone types.
const (
	PhoneUnknown  PhoneType = "unknown"
	PhoneMobile   PhoneType = "mobile"
	PhoneLandline PhoneType = "landline"
	PhoneTablet   PhoneType = "tablet"
)

// Valid reports whether t is a known phone type.
func (t PhoneType) Valid() bool {
	switch t {
	case PhoneUnknown, PhoneMobile, PhoneLandline, PhoneTablet:
		return true
	}
	return false
}

// Capability is something a device can do for authentication. The strings
// are Duo's.
type Capability string

// Capabilities.
const (
	CapAuto      Capability = "auto"
	CapPush      Capability = "push"
	CapSMS       Capability = "sms"
	CapPhone     Capability = "phone"
	CapMobileOTP Capability = "mobile_otp"
)

// Phone is a phone number (and, once activated, the authenticator app on it).
type Phone struct {
	ID        string
	Number    string // E.164, may be empty for a tablet
	Extension string
	// PreDelay and PostDelay are Duo's predelay/postdelay (whole seconds):
	// waited after a call is answered before dialling Extension, and after
	// dialling it before speaking. nil: not set, the carrier's configured
	// delay applies.
	PreDelay, PostDelay *time.Duration
	Name                string
	Type                PhoneType
	Platform            string // "generic smartphone", "google android", "apple ios", ...
	Model               string
	Activated           bool // an authenticator install is active on it
	SMSPasscodesSent    bool
	Created             time.Time
	LastSeen            time.Time // last contact from its authenticator; zero if never
	// PushMutedUntil: no push is sent to this phone before this instant
	// (set when its user reports a push as fraud). Written only by
	// PhoneMuteStore.MutePush, never by UpdatePhone.
	PushMutedUntil time.Time
}

// PushMuted reports whether pushes to the phone are muted at now.
func (p Phone) PushMuted(now time.Time) bool { return now.Before(p.PushMutedUntil) }

// PhoneMuteStore mutes pushes to a phone.
type PhoneMuteStore interface {
	// MutePush sets the phone's PushMutedUntil (a zero until unmutes).
	// NotFound if the phone does not exist.
	MutePush(ctx context.Context, phoneID string, until time.Time) error
}

// Capabilities derives what the phone can do from its type, its number and
// whether an authenticator is activated on it.
func (p Phone) Capabilities() []Capability {
	var caps []Capability
	if p.Activated {
		caps = append(caps, CapAuto, CapPush)
	}
	hasNumber := p.Number != ""
	switch p.Type {
	case PhoneMobile, PhoneUnknown:
		if hasNumber {
			if !p.Activated {
				caps = append(caps, CapAuto)
			}
			caps = append(caps, CapSMS, CapPhone)
		}
	case PhoneLandline:
		if hasNumber {
			if !p.Activated {
				caps = append(caps, CapAuto)
			}
			caps = append(caps, CapPhone)
		}
	}
	if p.Activated {
		caps = append(caps, CapMobileOTP)
	}
	return caps
}

// Can reports whether the phone has capability c.
func (p Phone) Can(c Capability) bool {
	for _, have := range p.Capabilities() {
		if have == c {
			return true
		}
	}
	return false
}

// AuthenticatorStatus is the life cycle of an authenticator install.
type AuthenticatorStatus string

// Authenticator statuses: an install is Active until a newer install on the
// same phone activates, which makes it Revoked at once.
const (
	AuthenticatorActive  AuthenticatorStatus = "active"
	AuthenticatorRevoked AuthenticatorStatus = "revoked"
)

// Authenticator is one install of the twostep app bound to a phone: the
// device's public key (it signs device API calls), the HOTP secret the app
// computes offline passcodes from, and the counter state.
type Authenticator struct {
	ID           string // also the device's pkey in the device API
	PhoneID      string
	UserID       string
	Status       AuthenticatorStatus
	PublicKey    Secret // PEM of the device's public key; sealed at rest
	HOTPSecret   Secret // sealed at rest
	HOTPCounter  uint64 // next acceptable counter value
	TOTP         bool   // the app shows TOTP instead of HOTP codes
	TOTPLastStep int64  // last accepted time step; each step is usable once
	Platform     string
	Model        string
	AppVersion   string
	Created      time.Time
	LastSeen     time.Time
}

// TokenType is a hardware token's kind. The strings are Duo's.
type TokenType string

// Token types.
const (
	TokenH6 TokenType = "h6" // HOTP, 6 digits
	TokenH8 TokenType = "h8" // HOTP, 8 digits
	TokenT6 TokenType = "t6" // TOTP, 6 digits
	TokenT8 TokenType = "t8" // TOTP, 8 digits
	TokenYK TokenType = "yk" // YubiKey OTP (AES)
)

// Valid reports whether t is a known token type.
func (t TokenType) Valid() bool {
	switch t {
	case TokenH6, TokenH8, TokenT6, TokenT8, TokenYK:
		return true
	}
	return false
}

// Digits is the passcode length of an OATH token type (0 for YubiKey).
func (t TokenType) Digits() int {
	switch t {
	case TokenH6, TokenT6:
		return 6
	case TokenH8, TokenT8:
		return 8
	}
	return 0
}

// Token is a hardware token.
type Token struct {
	ID        string
	Type      TokenType
	Serial    string // unique per type
	Secret    Secret // OATH seed; sealed at rest
	Counter   uint64 // HOTP: next acceptable counter
	TOTPStep  int    // TOTP: seconds per step (default 30)
	LastStep  int64  // TOTP: last accepted step
	PrivateID Secret // YubiKey: 6-byte private identity; sealed at rest
	AESKey    Secret // YubiKey: 16-byte AES key; sealed at rest
	YKCounter uint32 // YubiKey: last accepted (usage<<8 | session) counter
	Created   time.Time
}

// UserAppSerialSep separates the owner's username from the name the user
// gave an authenticator app they added at the portal, in its token's
// serial ("alice: Aegis"): such an app is a TOTP token (t6) owned by the
// user, and its serial is unique per type like any token's.
const UserAppSerialSep = ": "

// UserAppSerial is the token serial of an authenticator app named name by
// user username.
func UserAppSerial(username, name string) string { return username + UserAppSerialSep + name }

// UserAppName is the name user username gave t, when t is an
// authenticator app they added at the portal.
func UserAppName(username string, t Token) (string, bool) {
	if t.Type != TokenT6 || username == "" {
		return "", false
	}
	name, ok := strings.CutPrefix(t.Serial, username+UserAppSerialSep)
	return name, ok && name != ""
}

// RevokedAuthenticatorStore finds replaced installs, so that a passcode
// from an app that was reactivated elsewhere is answered with "reactivate
// the app" rather than "incorrect passcode".
type RevokedAuthenticatorStore interface {
	// RevokedAuthenticators returns up to limit revoked installs that
	// belonged to the user, newest first.
	RevokedAuthenticators(ctx context.Context, userID string, limit int) ([]Authenticator, error)
}
