package mfa

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// IntegrationType is which API an integration's keys may call.
type IntegrationType string

// Integration types. Auth API keys call /auth and /rest; "unix" is an Auth
// API integration for duo_unix (login_duo, pam_duo), which may sign with the
// legacy timestamp-less v1 scheme; Admin API keys call /admin. Web SDK
// ("websdk") keys are the client id and secret of an application using the
// Universal Prompt (/oauth/v1); they call neither signed API.
const (
	IntegrationAuthAPI  IntegrationType = "authapi"
	IntegrationAdminAPI IntegrationType = "adminapi"
	IntegrationUnix     IntegrationType = "unix"
	IntegrationWebSDK   IntegrationType = "websdk"
	// IntegrationRadius is a RADIUS client of twostepd's RADIUS front end
	// ([[radius.clients]]): twostepd keeps one per client so that its auth
	// log records and pushes name the client. Its keys call no API.
	IntegrationRadius IntegrationType = "radius"
	// IntegrationOIDC is a standard OpenID Connect client of twostep's
	// provider (/oidc/*): client_id is the ikey, client_secret the skey
	// (none for a public client, which must use PKCE). twostep checks the
	// first factor itself.
	IntegrationOIDC IntegrationType = "oidc"
)

// Valid reports whether t is a known integration type.
func (t IntegrationType) Valid() bool {
	switch t {
	case IntegrationAuthAPI, IntegrationAdminAPI, IntegrationUnix, IntegrationWebSDK, IntegrationRadius, IntegrationOIDC:
		return true
	}
	return false
}

// IsAuth reports whether the type calls the Auth API.
func (t IntegrationType) IsAuth() bool { return t == IntegrationAuthAPI || t == IntegrationUnix }

// EnrollPolicy is what happens to a user the integration does not know.
type EnrollPolicy string

// Enroll policies.
const (
	EnrollPolicyEnroll EnrollPolicy = "enroll" // offer enrollment
	EnrollPolicyAllow  EnrollPolicy = "allow"  // let them in without 2FA
	EnrollPolicyDeny   EnrollPolicy = "deny"   // refuse
)

// Valid reports whether p is a known policy.
func (p EnrollPolicy) Valid() bool {
	switch p {
	case EnrollPolicyEnroll, EnrollPolicyAllow, EnrollPolicyDeny:
		return true
	}
	return false
}

// AdminPermissions are the adminapi_* flags of an Admin API integration.
type AdminPermissions struct {
	Admins        bool `json:"adminapi_admins"`
	Info          bool `json:"adminapi_info"`
	Integrations  bool `json:"adminapi_integrations"`
	ReadLog       bool `json:"adminapi_read_log"`
	ReadResource  bool `json:"adminapi_read_resource"`
	Settings      bool `json:"adminapi_settings"`
	WriteResource bool `json:"adminapi_write_resource"`
}

// AllAdminPermissions grants every Admin API permission.
func AllAdminPermissions() AdminPermissions {
	return AdminPermissions{true, true, true, true, true, true, true}
}

// Integration is an application's credentials and policy.
type Integration struct {
	IKey              string // "DI" + 18 of A-Z0-9
	SKey              Secret // 40 characters; sealed at rest
	Name              string
	Type              IntegrationType
	Permissions       AdminPermissions // Admin API only
	EnrollPolicy      EnrollPolicy
	AllowV1Signatures bool // accept legacy signatures without a timestamp (replayable)
	RefuseBypassCodes bool // users of this application cannot log in with a bypass code
	TrustedDeviceDays int  // 0 = remembered devices off
	Greeting          string
	Notes             string
	RedirectURIs      []string // websdk and oidc: where the browser may be sent back
	// GroupsAllowed (Duo's groups_allowed), when not empty, admits only
	// members of one of these groups: everyone else is denied at preauth
	// and auth.
	GroupsAllowed []string
	// OIDC clients only.
	PublicClient           bool     // no client secret: PKCE (S256) required
	PostLogoutRedirectURIs []string // where end_session may send the browser
	Created                time.Time
}

// Role is an administrator's role. The strings are Duo's, case-sensitive.
type Role string

// Roles.
const (
	RoleOwner         Role = "Owner"
	RoleAdministrator Role = "Administrator"
	RoleUserManager   Role = "User Manager"
	RoleHelpDesk      Role = "Help Desk"
	RoleReadOnly      Role = "Read-only"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdministrator, RoleUserManager, RoleHelpDesk, RoleReadOnly:
		return true
	}
	return false
}

// Admin is a person who runs twostep from the console. Administrators are
// not users: they cannot be given bypass codes.
type Admin struct {
	ID           string
	Email        string // unique, case-insensitive
	Name         string
	Role         Role
	PasswordHash string // argon2id in PHC string form
	Created      time.Time
	LastLogin    time.Time
	// Disabled is Duo's administrator status "Disabled" (false: "Active"):
	// a disabled administrator may not sign in and does not count as an
	// Owner for the last-Owner rule.
	Disabled bool
	// PasswordChangeRequired makes the administrator choose a new password
	// at the next console sign-in (the bootstrap Owner's generated one).
	PasswordChangeRequired bool
	// FailedLogins counts failed console sign-in attempts (password or
	// second factor) since the last successful sign-in or reset; only
	// AdminStore.CountAdminFailure and ClearAdminFailures change it.
	FailedLogins int
	// LockedAt is when the failures reached the lockout threshold (zero:
	// not locked out).
	LockedAt time.Time
}

// Administrator statuses, as Duo's Admin API spells them.
const (
	AdminStatusActive   = "Active"
	AdminStatusDisabled = "Disabled"
)

// Status is the administrator's status in Duo's words.
func (a Admin) Status() string {
	if a.Disabled {
		return AdminStatusDisabled
	}
	return AdminStatusActive
}

// CanSignIn reports whether the administrator may sign in (to the console
// or any other administrator surface): only an active one.
// A locked-out administrator cannot either, until an Owner resets the
// failures or the lockout expires (LockedOut).
func (a Admin) CanSignIn() bool { return !a.Disabled && a.LockedAt.IsZero() }

// LockedOut reports whether the administrator is locked out at now:
// locked, and the lockout not yet expired (expire 0: never expires).
func (a Admin) LockedOut(now time.Time, expire time.Duration) bool {
	if a.LockedAt.IsZero() {
		return false
	}
	return expire <= 0 || a.LockedAt.Add(expire).After(now)
}

// AdminTOTP is an administrator's own second factor: a TOTP secret
// (RFC 6238, 30-second steps, 6 digits, SHA-1, as authenticator apps
// expect), sealed at rest.
type AdminTOTP struct {
	Secret Secret
	// LastStep is the last time step whose code was accepted: a code of
	// this step or an earlier one is refused (replay).
	LastStep int64
	// Confirmed: a code of the secret was accepted once (enrolment is
	// complete). An unconfirmed secret may be replaced.
	Confirmed bool
}

// Settings are the account-wide policies.
type Settings struct {
	LockoutThreshold       int           // consecutive failures before lockout; 0 = never
	LockoutExpire          time.Duration // automatic unlock after; 0 = manual only
	SMSBatchSize           int           // passcodes per SMS, 1..10
	SMSExpire              time.Duration // 0 = never
	SMSRefresh             bool          // send a new batch when the last code is used
	SMSMessage             string        // text before the codes
	HelpDeskCanSendBypass  bool          // Help Desk may create bypass codes
	FraudEmail             string
	FraudEmailEnabled      bool
	PushTimeout            time.Duration
	PushMuteAfterFraud     time.Duration
	TrustedDeviceMaxDays   int
	VerifiedPush           bool
	VerifiedPushDigits     int
	InactiveUserExpiration int // days; 0 = never
	// TelephonyDailyUserLimit caps the SMS and phone calls sent for one
	// user per UTC day; TelephonyDailyLimit caps them for the whole
	// account (see HitTelephonyCaps). 0 = no cap.
	TelephonyDailyUserLimit int
	TelephonyDailyLimit     int
	// SelfBypass lets users get one bypass code for themselves at
	// /portal/bypass after their password and SelfBypassCheck (seed 003);
	// each code is valid for SelfBypassLifetime.
	SelfBypass         bool
	SelfBypassCheck    IdentityCheck
	SelfBypassLifetime time.Duration
	// WebAuthnAttestation is the security key attestation policy:
	// AttestationNone (any authenticator, the default) or
	// AttestationAllowed (only the models listed in WebAuthnAAGUIDs,
	// lower-case hyphenated UUIDs).
	WebAuthnAttestation string   `json:",omitempty"`
	WebAuthnAAGUIDs     []string `json:",omitempty"`
	// WebAuthnUserVerification is UserVerificationReq or
	// UserVerificationPre (the default): whether a security key must
	// check a PIN or biometrics.
	WebAuthnUserVerification string `json:",omitempty"`
}

// DefaultSettings are a new account's settings.
func DefaultSettings() Settings {
	return Settings{
		LockoutThreshold:      10,
		SMSBatchSize:          10,
		SMSMessage:            "twostep passcodes:",
		HelpDeskCanSendBypass: true,
		PushTimeout:           60 * time.Second,
		PushMuteAfterFraud:    20 * time.Minute,
		TrustedDeviceMaxDays:  90,
		VerifiedPushDigits:    3,
		// Twenty texts or calls a day is far more than a person needs and
		// stops one account from running up the telephony bill.
		TelephonyDailyUserLimit: 20,
		// Self-service bypass codes are off until an administrator turns
		// them on.
		SelfBypassCheck:    IdentityPIN,
		SelfBypassLifetime: 10 * time.Minute,
	}
}

// Redirect URI limits for websdk integrations.
const (
	MaxRedirectURIs   = 20
	MaxRedirectURILen = 1024
)

// CheckRedirectURI reports, as an Invalid error on field "redirect_uris"
// naming the URI, why uri cannot be a websdk integration's redirect URI:
// it must be an absolute https URL with a host, without fragment or user
// information, or an http URL on a loopback host (127.0.0.0/8, ::1,
// localhost) for development.
func CheckRedirectURI(uri string) error {
	bad := func(why string) error {
		return InvalidField("redirect_uris", fmt.Sprintf("%q %s", uri, why))
	}
	if len(uri) > MaxRedirectURILen {
		return InvalidField("redirect_uris", fmt.Sprintf("a redirect URI is longer than %d characters", MaxRedirectURILen))
	}
	for _, c := range uri {
		if c <= ' ' || c == 0x7f {
			return bad("contains a space or control character")
		}
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return bad("is not a URL")
	case !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return bad("is not an absolute URL with a host")
	case u.Fragment != "" || strings.Contains(uri, "#"):
		return bad("must not have a fragment")
	case u.User != nil:
		return bad("must not contain user information")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return bad("must use https (http only on a loopback host: 127.0.0.1, ::1 or localhost)")
	}
	return bad("must use https")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
