package mfa

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// PrefixWebAuthn starts a WebAuthn credential's id (Duo's "webauthnkey").
const PrefixWebAuthn = "WA"

// Authenticator attachments (WebAuthn's AuthenticatorAttachment).
const (
	AttachmentPlatform      = "platform"       // built into the device: Touch ID, Windows Hello, a phone's passkey
	AttachmentCrossPlatform = "cross-platform" // a roaming security key (USB, NFC, BLE)
)

// MaxWebAuthnNameLen bounds a credential's name (runes).
const MaxWebAuthnNameLen = 64

// MaxWebAuthnPerUser bounds how many security keys one user may register.
const MaxWebAuthnPerUser = 20

// WebAuthnCredential is a security key or passkey registered by a user:
// the public key an authenticator made for this relying party, and its
// signature counter. Several per user.
type WebAuthnCredential struct {
	ID           string // WA + 18 characters (Duo's webauthnkey)
	UserID       string
	Name         string // the user's name for it ("Blue YubiKey")
	CredentialID []byte // the authenticator's credential id (unique)
	PublicKey    []byte // COSE public key
	// SignCount is the last signature counter the authenticator sent.
	// Authenticators that keep no counter always send 0.
	SignCount  uint32
	AAGUID     []byte   // the authenticator model (16 bytes; zero for "none" attestation)
	Transports []string // usb, nfc, ble, internal, hybrid
	Attachment string   // AttachmentPlatform or AttachmentCrossPlatform ("" unknown)
	// BackupEligible and BackupState are the authenticator's flags: the
	// credential may be (is) synced to other devices (a passkey).
	BackupEligible bool
	BackupState    bool
	// Cloned is set when an assertion carried a counter lower than or
	// equal to the stored one: the key may have been copied. A cloned
	// credential is refused until an administrator removes it.
	Cloned   bool
	Created  time.Time
	LastUsed time.Time // zero if never used to log in
}

// Platform reports whether the credential lives on the device itself
// (Touch ID, Windows Hello, a phone's passkey) rather than a roaming key.
func (c WebAuthnCredential) Platform() bool { return c.Attachment == AttachmentPlatform }

// CheckWebAuthnName reports, as an Invalid error on field "name", why
// name cannot name a credential.
func CheckWebAuthnName(name string) error {
	switch n := strings.TrimSpace(name); {
	case n == "":
		return InvalidField("name", "give the security key a name")
	case utf8.RuneCountInString(n) > MaxWebAuthnNameLen:
		return InvalidField("name", "a security key's name can have at most 64 characters")
	case !utf8.ValidString(n) || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return InvalidField("name", "a security key's name cannot contain control characters")
	}
	return nil
}

// WebAuthnFilter selects WebAuthn credentials.
type WebAuthnFilter struct {
	UserID string // empty: every user's
	Page
}

// WebAuthnStore stores WebAuthn credentials. The signature counter moves
// only through ApplyAuth with GuardWebAuthnCounter.
type WebAuthnStore interface {
	// CreateWebAuthnCredential stores c. NotFound if the user does not
	// exist; Conflict if the credential id is already registered (to
	// anyone); Invalid for an empty CredentialID or PublicKey.
	CreateWebAuthnCredential(ctx context.Context, c WebAuthnCredential) error
	GetWebAuthnCredential(ctx context.Context, id string) (WebAuthnCredential, error)
	// WebAuthnCredentialByCredentialID finds a credential by the
	// authenticator's credential id.
	WebAuthnCredentialByCredentialID(ctx context.Context, credentialID []byte) (WebAuthnCredential, error)
	// ListWebAuthnCredentials lists in creation order with the total.
	ListWebAuthnCredentials(ctx context.Context, f WebAuthnFilter) ([]WebAuthnCredential, int, error)
	// UserWebAuthnCredentials lists the user's credentials in creation order.
	UserWebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error)
	// RenameWebAuthnCredential changes the name. NotFound if unknown.
	RenameWebAuthnCredential(ctx context.Context, id, name string) error
	// DeleteWebAuthnCredential removes a credential. NotFound if unknown.
	DeleteWebAuthnCredential(ctx context.Context, id string) error
	// MarkWebAuthnCloned sets Cloned. NotFound if unknown.
	MarkWebAuthnCloned(ctx context.Context, id string) error
}

// WebAuthn settings values.
const (
	AttestationNone     = "none"     // any authenticator; no attestation asked
	AttestationAllowed  = "allowed"  // only the AAGUIDs in WebAuthnAAGUIDs
	UserVerificationReq = "required" // PIN or biometrics every time
	UserVerificationPre = "preferred"
)

// WebAuthnUser is the person a ceremony is for, as the authenticator
// shows them.
type WebAuthnUser struct {
	ID          string // the user handle (the user's id)
	Name        string // username
	DisplayName string // real name, or username
}

// WebAuthnBegin is a ceremony begun: the options for the browser and the
// state the server keeps until it finishes.
type WebAuthnBegin struct {
	// Options is the JSON the page passes (base64url fields decoded) to
	// navigator.credentials.create or .get: {"publicKey": {...}}.
	Options []byte
	// Session is the server's state of the ceremony (its challenge, the
	// user, the allowed credentials); kept server-side, never sent.
	Session []byte
	// Challenge is the ceremony's challenge (base64url), which identifies
	// it: a ceremony finishes at most once.
	Challenge string
}

// WebAuthnAssertion is a verified login assertion.
type WebAuthnAssertion struct {
	CredentialID []byte
	Counter      uint32 // the authenticator's signature counter
	UserVerified bool
	BackupState  bool
}

// WebAuthnRegistration is what a registration ceremony asks for.
type WebAuthnRegistration struct {
	User     WebAuthnUser
	Existing []WebAuthnCredential // excluded: the same key cannot register twice
	// Platform asks for the device's own authenticator (Touch ID,
	// Windows Hello, a phone's passkey) instead of a roaming key.
	Platform         bool
	UserVerification string // UserVerificationReq or UserVerificationPre
	// Attestation asks the authenticator to prove its model (direct
	// attestation), for an AAGUID allow list.
	Attestation bool
}

// WebAuthnVerifier is the WebAuthn protocol: options, signatures, origins
// and relying-party id. It decides nothing about accounts; the engine
// (authflow) owns the rules. internal/fido implements it.
type WebAuthnVerifier interface {
	// RPID is the relying-party id credentials are bound to.
	RPID() string
	BeginRegistration(r WebAuthnRegistration) (WebAuthnBegin, error)
	// FinishRegistration verifies the browser's response (JSON of the
	// PublicKeyCredential) against session, returning the new credential
	// (without ID, UserID, Name or times). Invalid, naming the problem
	// (wrong origin, wrong relying party, bad signature), if it fails.
	FinishRegistration(u WebAuthnUser, session, response []byte) (WebAuthnCredential, error)
	BeginLogin(u WebAuthnUser, creds []WebAuthnCredential, userVerification string) (WebAuthnBegin, error)
	// AssertedCredentialID reads the credential id of a login response
	// without verifying anything. Invalid if it cannot be parsed.
	AssertedCredentialID(response []byte) ([]byte, error)
	// FinishLogin verifies a login response against session and the
	// user's credentials. It does not judge the counter: the engine does,
	// with one conditional write. Invalid, naming the problem, if it fails.
	FinishLogin(u WebAuthnUser, creds []WebAuthnCredential, session, response []byte) (WebAuthnAssertion, error)
}

// DefaultMethodKey is User.DefaultMethod when the user's default is a
// security key (User.DefaultDevice is then the credential's id).
const DefaultMethodKey = "webauthn"
