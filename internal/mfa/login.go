package mfa

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"time"
)

// LoginResult is how a browser login's second factor ended.
type LoginResult string

// Login results.
const (
	LoginAllow LoginResult = "allow"
	LoginDeny  LoginResult = "deny"
)

// Valid reports whether r is allow or deny.
func (r LoginResult) Valid() bool { return r == LoginAllow || r == LoginDeny }

// LoginRequest is a pending browser login: an application (a websdk
// integration, the OIDC client) sent a person to twostep for the second
// factor. internal/oidc creates it at /oauth/v1/authorize; the prompt shows
// it, runs the second factor through authflow and completes it
// (CompleteLoginRequest); oidc then hands the browser back to the
// application with a single-use code (IssueLoginCode), which the
// application exchanges (RedeemLoginCode).
//
// The browser that started the login holds a binding secret in a cookie;
// only its SHA-256 (BindingHash) is stored, and every page of the login
// checks the cookie with BoundTo, so that a login's id alone (it appears in
// URLs) lets nobody else complete or finish it.
type LoginRequest struct {
	ID          string // random, >= 128 bits, URL-safe (NewLoginRequestID)
	IKey        string // the websdk integration (OIDC client_id)
	Username    string // duo_uname, as the application sent it
	RedirectURI string // registered on the integration; checked again at the exchange
	State       string // returned to the application unchanged
	Nonce       string // copied into the id_token; may be empty
	UseDuoCode  bool   // answer duo_code= (true) or code= (false)
	ReturnPath  string // where the prompt sends the browser when done (owned by oidc)
	BindingHash string // hex SHA-256 of the browser-binding secret (BindingHash func)
	Created     time.Time
	Expires     time.Time // the person has until then to finish

	// Set by CompleteLoginRequest.
	Result   LoginResult // "" while pending
	AuthTxID string      // the authentication-log record of the decision; may be empty
	Factor   string      // Duo's log word (passcode, duo_push, ...)
	AuthTime time.Time   // when the decision was made

	// Standard OpenID Connect logins (Protocol LoginOIDC): twostep checks
	// the first factor itself, so Username is empty until SetLoginUser.
	Protocol      LoginProtocol
	Scope         string // the scopes asked for, space-separated
	CodeChallenge string // PKCE S256 challenge (base64url SHA-256 of the verifier); "" without PKCE
	ForceLogin    bool   // prompt=login or max_age=0: no single sign-on
	MaxAge        int    // seconds; > 0: a single sign-on older than this is not reused
	Continue      string // where the first-factor pages send the browser when done (owned by oidc)

	// Set by SetLoginUser (OIDC logins).
	UserID      string // the twostep user
	FirstFactor string // FirstFactorPassword or FirstFactorDirectory

	// Set by IssueLoginCode and RedeemLoginCode.
	CodeHash    string    // hex SHA-256 of the single-use code; "" before one is issued
	CodeExpires time.Time // zero before a code is issued
	CodeUsed    time.Time // zero until redeemed
}

// LoginProtocol is which protocol started a browser login.
type LoginProtocol string

// Login protocols.
const (
	LoginUniversalPrompt LoginProtocol = ""     // Duo's Universal Prompt: the application checked the first factor
	LoginOIDC            LoginProtocol = "oidc" // standard OpenID Connect: twostep checks the first factor
	// LoginPortal is a login to twostep's own self-service portal: the
	// portal checks the first factor, then hands the person to the prompt
	// like an OIDC login, for the built-in portal integration (PortalIKey).
	LoginPortal LoginProtocol = "portal"
)

// PortalIKey is the integration key of the built-in "Self-service portal"
// application: the auth log names it for every portal login.
const PortalIKey = "DIPORTAL0SELFSERVICE"

// PortalName is the built-in portal application's name.
const PortalName = "Self-service portal"

// First factors a login may record (LoginRequest.FirstFactor).
const (
	FirstFactorPassword  = "password" // a twostep password
	FirstFactorDirectory = "ldap"     // a bind to the LDAP / Active Directory directory
)

// LoginUser is who passed a login's first factor.
type LoginUser struct {
	UserID      string
	Username    string
	FirstFactor string
}

// NeedsFirstFactor reports whether the login still waits for its first
// factor (an OIDC login before SetLoginUser): the prompt must not run.
func (r LoginRequest) NeedsFirstFactor() bool { return r.Username == "" }

// LoginOutcome is what the prompt reports when the second factor is done.
type LoginOutcome struct {
	Result   LoginResult
	AuthTxID string
	Factor   string
	AuthTime time.Time // when the decision was made; must be before the request expires
}

// LoginCodeRedemption is one exchange of a code at the token endpoint. The
// code is consumed only if every field matches the stored request.
type LoginCodeRedemption struct {
	CodeHash    string // hex SHA-256 of the presented code
	IKey        string // the authenticated client
	RedirectURI string // as presented; must equal the authorize request's
	Now         time.Time
}

// LoginRequestStore keeps pending browser logins.
type LoginRequestStore interface {
	// CreateLoginRequest stores a new pending request. Invalid for an empty
	// ID, IKey, Username, RedirectURI or BindingHash, a zero Expires, or an
	// outcome or code already set; NotFound if the integration does not
	// exist; Conflict for an ID already stored.
	CreateLoginRequest(ctx context.Context, r LoginRequest) error
	// GetLoginRequest returns the request, completed or expired alike
	// (until the reaper deletes it). NotFound for an unknown id.
	GetLoginRequest(ctx context.Context, id string) (LoginRequest, error)
	// CompleteLoginRequest records the outcome of a pending request, in one
	// conditional update: Conflict if it was already completed or expired
	// at out.AuthTime (of concurrent completions exactly one wins);
	// NotFound for an unknown id; Invalid for a Result other than allow or
	// deny or a zero AuthTime. It returns the updated request.
	CompleteLoginRequest(ctx context.Context, id string, out LoginOutcome) (LoginRequest, error)
	// IssueLoginCode attaches the single-use code (its hash) to a request
	// completed with allow and not expired at now, once: Conflict if the
	// request is pending, denied, expired or already has a code; NotFound
	// for an unknown id; Invalid for an empty hash or an expiry not after
	// now.
	IssueLoginCode(ctx context.Context, id, codeHash string, now, expires time.Time) error
	// RedeemLoginCode consumes the code whose hash is r.CodeHash, in one
	// conditional update that also requires the code unused and unexpired
	// at r.Now, issued to r.IKey for r.RedirectURI: of concurrent
	// redemptions exactly one wins, and a redemption that does not match
	// consumes nothing. Every refusal (unknown, used, expired, another
	// client, another redirect URI) is the same NotFound. It returns the
	// request with CodeUsed set.
	RedeemLoginCode(ctx context.Context, r LoginCodeRedemption) (LoginRequest, error)
	// SetLoginUser records who passed the first factor of a pending OIDC
	// login, once, in one conditional update: Conflict if the login
	// already has a user, was completed or has expired at now; NotFound
	// for an unknown id; Invalid for an empty UserID or Username. It
	// returns the updated request.
	SetLoginUser(ctx context.Context, id string, u LoginUser, now time.Time) (LoginRequest, error)
	// DeleteExpiredLoginRequests deletes requests that expired at or before
	// now and whose code, if any, expired at or before now too (the
	// reaper), returning how many.
	DeleteExpiredLoginRequests(ctx context.Context, now time.Time) (int, error)
}

// NewLoginRequestID returns a login request id: 32 random bytes from r,
// base64url without padding (43 characters, URL-safe).
func NewLoginRequestID(r io.Reader) (string, error) { return randomToken(r, 32) }

// NewBindingSecret returns a browser-binding secret for a login request's
// cookie: 32 random bytes from r, base64url without padding.
func NewBindingSecret(r io.Reader) (string, error) { return randomToken(r, 32) }

func randomToken(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// BindingHash is the hex SHA-256 of a binding secret, as LoginRequest
// stores it. Codes are hashed the same way (CodeHash).
func BindingHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CodeHash is the hex SHA-256 of a single-use login code. The codes carry
// 256 random bits, so a plain hash is enough: nobody can search for a
// preimage.
func CodeHash(code string) string { return BindingHash(code) }

// BoundTo reports, in constant time, whether secret (the browser's binding
// cookie) is the one the request was created with. An empty secret or
// request hash never matches.
func (r LoginRequest) BoundTo(secret string) bool {
	if secret == "" || len(r.BindingHash) != 2*sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(BindingHash(secret)), []byte(r.BindingHash)) == 1
}

// Completed reports whether the prompt recorded an outcome.
func (r LoginRequest) Completed() bool { return r.Result != "" }

// Expired reports whether the person's time to finish is up at now.
func (r LoginRequest) Expired(now time.Time) bool { return !now.Before(r.Expires) }

// CheckNewLoginRequest reports an Invalid error for a request that
// CreateLoginRequest refuses, for stores to share.
func CheckNewLoginRequest(r LoginRequest) error {
	switch {
	case r.ID == "":
		return InvalidField("id", "required")
	case r.IKey == "":
		return InvalidField("ikey", "required")
	case r.Username == "" && r.Protocol != LoginOIDC && r.Protocol != LoginPortal:
		return InvalidField("username", "required")
	case r.Protocol != LoginUniversalPrompt && r.Protocol != LoginOIDC && r.Protocol != LoginPortal:
		return InvalidField("protocol", "must be empty, oidc or portal")
	case r.UserID != "" || r.FirstFactor != "":
		return InvalidField("user_id", "a new login request has no first-factor user")
	case r.RedirectURI == "":
		return InvalidField("redirect_uri", "required")
	case len(r.BindingHash) != 2*sha256.Size:
		return InvalidField("binding_hash", "must be a hex SHA-256")
	case r.Expires.IsZero():
		return InvalidField("expires", "a login request must expire")
	case r.Result != "" || r.AuthTxID != "" || !r.AuthTime.IsZero():
		return InvalidField("result", "a new login request has no outcome")
	case r.CodeHash != "" || !r.CodeExpires.IsZero() || !r.CodeUsed.IsZero():
		return InvalidField("code", "a new login request has no code")
	}
	return nil
}

// CheckLoginUser reports an Invalid error for a LoginUser SetLoginUser
// refuses.
func CheckLoginUser(u LoginUser) error {
	switch {
	case u.UserID == "":
		return InvalidField("user_id", "required")
	case u.Username == "":
		return InvalidField("username", "required")
	}
	return nil
}

// CheckLoginOutcome reports an Invalid error for an outcome that
// CompleteLoginRequest refuses.
func CheckLoginOutcome(out LoginOutcome) error {
	switch {
	case !out.Result.Valid():
		return InvalidField("result", "must be allow or deny")
	case out.AuthTime.IsZero():
		return InvalidField("auth_time", "required")
	}
	return nil
}

// CheckLoginCode reports an Invalid error for IssueLoginCode arguments
// that the contract refuses.
func CheckLoginCode(codeHash string, now, expires time.Time) error {
	switch {
	case len(codeHash) != 2*sha256.Size:
		return InvalidField("code_hash", "must be a hex SHA-256")
	case !expires.After(now):
		return InvalidField("expires", "a code must expire after now")
	}
	return nil
}

// LoginPromptPath is the prompt page of login request id: where
// /oauth/v1/authorize sends the browser. The prompt package serves it; it
// lives here, in the domain, because edges may not import each other.
func LoginPromptPath(id string) string { return "/frame/prompt/" + url.PathEscape(id) }

// LoginPasswordPath is the first-factor page of OIDC login id (username
// and password), where the OIDC provider's authorize sends the browser;
// internal/web/login serves it. LoginDonePath is where the prompt returns
// the browser (the login's ReturnPath): it records single sign-on in the
// browser's session and continues to the login's Continue path.
func LoginPasswordPath(id string) string { return "/login/" + url.PathEscape(id) }

// LoginDonePath is the first-factor pages' return path of login id.
func LoginDonePath(id string) string { return "/login/" + url.PathEscape(id) + "/done" }

// LoginBindingCookiePrefix starts the name of every browser-binding cookie.
const LoginBindingCookiePrefix = "__Host-twostep-login-"

// LoginBindingCookie is the name of the cookie that binds login request id
// to the browser that started it: one cookie per login (so two logins in
// two tabs do not displace each other), set by /oauth/v1/authorize with
// Path=/, Secure, HttpOnly, SameSite=Lax and a Max-Age of the login's
// lifetime. Its value is the binding secret; check it with
// LoginRequest.BoundTo.
func LoginBindingCookie(id string) string {
	h := sha256.Sum256([]byte(id))
	return LoginBindingCookiePrefix + hex.EncodeToString(h[:8])
}
