package authflow

import (
	"context"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

// Auth status words (Duo's).
const (
	StatusAllow     = "allow"
	StatusDeny      = "deny"
	StatusBypass    = "bypass"
	StatusLockedOut = "locked_out"
)

// Auth status messages for passcodes (Duo's wording where Duo has one).
const (
	MsgSuccess       = "Success. Logging you in..."
	MsgIncorrect     = "Incorrect passcode. Please try again."
	MsgUsed          = "This passcode has already been used. Please generate a new passcode and try again."
	MsgBypassRefused = "Bypass codes are not accepted by this application."
	MsgLockedOutNow  = "Incorrect passcode. Your account has been locked out due to excessive authentication failures."
)

// Auth log factors (DUO-WIRE 3.6).
const (
	LogFactorPasscode       = "passcode" // a passcode no device produced
	LogFactorMobilePasscode = "duo_mobile_passcode"
	LogFactorHardwareToken  = "hardware_token"
	LogFactorYubiKey        = "yubikey_passcode"
	LogFactorSMS            = "sms_passcode"
	LogFactorBypassCode     = "bypass_code"
)

// Auth log reasons. Duo's where Duo has one; used_passcode,
// bypass_code_refused and user_not_enrolled are ours.
const (
	ReasonValidPasscode   = "valid_passcode"
	ReasonInvalidPasscode = "invalid_passcode"
	ReasonUsedPasscode    = "used_passcode"
	ReasonLockedOut       = "locked_out"
	ReasonUserDisabled    = "user_disabled"
	ReasonBypassUser      = "bypass_user"
	ReasonAllowUnenrolled = "allow_unenrolled_user"
	ReasonDenyUnenrolled  = "deny_unenrolled_user"
	ReasonNotEnrolled     = "user_not_enrolled"
	ReasonBypassRefused   = "bypass_code_refused"
)

// AuthRequest asks to authenticate a user with a factor.
type AuthRequest struct {
	Integration mfa.Integration
	Who
	Factor   mfa.Factor
	Passcode mfa.Passcode // factor passcode
	// Device is a phone id, or "auto" (or empty) for the first capable
	// phone (factors sms, push, phone, auto).
	Device   string
	IP       string
	Hostname string
	// Async: answer at once with a TxID to poll with AuthStatus, instead
	// of waiting for the outcome (push, phone, auto). An answer decided at
	// once (a passcode, an SMS request, a deny) is then kept as a
	// completed transaction that AuthStatus answers for
	// DecidedTxLifetime, and its TxID is returned with it (decided.go).
	Async bool
	// Push display: PushType replaces "Login" in "Login request";
	// DisplayUsername replaces the username; PushInfo is URL-encoded
	// key=value pairs shown in the app.
	PushType        string
	DisplayUsername string
	PushInfo        string
	// VerifiedPush: the client can show a verification code (Verified
	// Push applies when Settings.VerifiedPush is also on).
	VerifiedPush bool
	// AskRemember is set by a front end that asks the person whether to
	// remember this device (the browser prompt's "Remember me for N days"):
	// an allow then carries a TrustedDeviceToken only when Remember is set
	// too. Left unset (the Auth API), an allow carries one whenever the
	// integration remembers devices.
	AskRemember bool
	Remember    bool
}

// wantsToken reports whether an allow of req should issue a
// remembered-device token (when the integration remembers devices).
func (req AuthRequest) wantsToken() bool { return !req.AskRemember || req.Remember }

// AuthResult is Duo's synchronous auth answer.
type AuthResult struct {
	Result    string // ResultAllow or ResultDeny
	Status    string // StatusAllow, StatusDeny, StatusBypass, StatusLockedOut
	StatusMsg string
	// TxID identifies the transaction of a push or call, and of every
	// async answer. An async push or call still pending sets only TxID
	// (and VerificationCode); an async answer decided at once sets TxID
	// and the rest.
	TxID             string
	VerificationCode string
	// TrustedDeviceToken is set on allow when the integration remembers
	// devices (and, with AskRemember, the person asked).
	TrustedDeviceToken string
	// LogTxID is the txid of the authentication-log record of a decision
	// made by this call (an id_token's auth_context names it), and
	// LogFactor its factor word; both empty when no decision was logged
	// (a push or call still pending: its record will carry TxID).
	LogTxID   string
	LogFactor string
}

// Auth decides one authentication. Every decision it returns writes
// exactly one auth log record, in the same atomic store write as the state
// change it causes. Factor sms (or "sms"/"smsN" typed as the passcode)
// sends new SMS passcodes and answers deny/sent (see sms.go). Errors:
// Invalid (naming the field) for a bad request, RateLimited (with the
// time until a retry may succeed) when the user or IP made too many
// attempts or the user asked for too many SMS (nothing is written; see
// WithLimits and WithDurableLimits), Unavailable when the SMS could not be
// sent, and store failures.
func (s *Service) Auth(ctx context.Context, req AuthRequest) (AuthResult, error) {
	switch req.Factor {
	case mfa.FactorPasscode:
		if req.Passcode == "" {
			return AuthResult{}, mfa.InvalidField("passcode", "passcode is required with factor passcode")
		}
	case mfa.FactorSMS:
	case mfa.FactorAuto, mfa.FactorPush, mfa.FactorPhone:
		if err := validPushFields(req); err != nil {
			return AuthResult{}, err
		}
	case "":
		return AuthResult{}, mfa.InvalidField("factor", "factor is required")
	default:
		return AuthResult{}, mfa.InvalidField("factor", "unknown factor")
	}
	if err := req.Who.check(); err != nil {
		return AuthResult{}, err
	}
	// Only passcode attempts are guesses: pushes, calls and SMS requests
	// (and keywords typed in the passcode box) have limits of their own.
	if addr := addressKey(req.IP); passcodeAttempt(req) {
		if ok, wait := s.byIP.take(addr); !ok {
			return AuthResult{}, mfa.RetryLater(msgIPLimited, wait)
		}
		if addr != "" {
			if err := s.hitDurable(ctx, s.durIP, "ip:"+addr, msgIPLimited, "remote_ip", req.IP); err != nil {
				return AuthResult{}, err
			}
		}
	}
	a, err := s.load(ctx, req.Who)
	if err != nil {
		return AuthResult{}, fmt.Errorf("auth: %w", err)
	}
	res, err := s.auth(ctx, req, a)
	if err == nil && req.Async && res.TxID == "" {
		res, err = s.keepDecided(ctx, req, res)
	}
	if err != nil {
		return AuthResult{}, fmt.Errorf("auth: %w", err)
	}
	s.log.DebugContext(ctx, "auth", "user_id", a.user.ID, "integration", req.Integration.IKey,
		"factor", string(req.Factor), "result", res.Result, "remote_ip", req.IP)
	return res, nil
}

func (s *Service) auth(ctx context.Context, req AuthRequest, a account) (AuthResult, error) {
	d := &decision{s: s, req: req, a: a, factor: string(req.Factor)}
	if req.Factor == "" {
		d.factor = LogFactorNone // Settle
	}
	if !a.permitted(req.Integration) {
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonNotPermitted, StatusDeny, MsgNotPermitted)
	}
	if a.known {
		switch a.status() {
		case mfa.StatusDisabled:
			return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonUserDisabled, StatusDeny, MsgDisabled)
		case mfa.StatusLockedOut:
			// Attempts while locked out still count, so the failure count
			// is every consecutive failed attempt.
			w := mfa.AuthWrite{CountFailure: true, Threshold: a.settings.LockoutThreshold}
			return d.deny(ctx, w, mfa.ResultDenied, ReasonLockedOut, StatusLockedOut, MsgLockedOut)
		case mfa.StatusBypass:
			return d.allow(ctx, mfa.AuthWrite{Success: true}, ReasonBypassUser, StatusBypass, MsgBypassUser)
		}
	}
	if !a.known || !a.enrolled() {
		switch req.Integration.EnrollPolicy {
		case mfa.EnrollPolicyAllow:
			return d.allow(ctx, mfa.AuthWrite{}, ReasonAllowUnenrolled, StatusAllow, MsgAllowUnknown)
		case mfa.EnrollPolicyDeny:
			return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonDenyUnenrolled, StatusDeny, MsgDenyUnknown)
		default:
			return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonNotEnrolled, StatusDeny, MsgEnroll)
		}
	}
	switch req.Factor {
	case mfa.FactorSMS:
		return s.sms(ctx, d, req.Device, 0)
	case mfa.FactorPush, mfa.FactorPhone, mfa.FactorAuto:
		return s.oob(ctx, d, req.Factor, 0, false)
	}
	// A keyword typed where a passcode is expected ("sms", "sms2", "push").
	if kind, _, keyword, nth := otp.Classify(string(req.Passcode)); kind == otp.KindKeyword {
		d.req.Device = ""
		if m, ok := MethodByKeyword(keyword); ok {
			switch {
			case m.Factor == mfa.FactorSMS:
				return s.sms(ctx, d, "", nth)
			case m.Async:
				return s.oob(ctx, d, m.Factor, nth, true)
			}
		}
		d.factor = LogFactorPasscode
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonFactorUnavailable, StatusDeny, MsgFactorUnavailable)
	}
	if ok, wait := s.byUser.take(a.user.ID); !ok {
		return AuthResult{}, mfa.RetryLater(msgUserLimited, wait)
	}
	if err := s.hitDurable(ctx, s.durUser, "user:"+a.user.ID, msgUserLimited, "user_id", a.user.ID); err != nil {
		return AuthResult{}, err
	}
	return s.passcode(ctx, d)
}

// Messages of RateLimited passcode attempts.
const (
	msgIPLimited   = "too many passcode attempts from this address"
	msgUserLimited = "too many passcode attempts for this user"
)

// decision builds the one store write of one decision.
type decision struct {
	s      *Service
	req    AuthRequest
	a      account
	factor string // the auth log factor
	device string
	name   string
	logTx  string // the txid of the record written
}

func (d *decision) write(ctx context.Context, w mfa.AuthWrite, result mfa.AuthResult, reason string) (mfa.AuthOutcome, error) {
	txid, err := d.s.newTxID()
	if err != nil {
		return mfa.AuthOutcome{}, err
	}
	d.logTx = txid
	now := d.s.now()
	username := d.req.Username
	if d.a.known {
		w.UserID = d.a.user.ID
		username = d.a.user.Username
	}
	w.At = now
	if w.Guard.Kind != mfa.GuardNone {
		w.Guard.Now = now
	}
	w.Log = &mfa.AuthLogEntry{
		TxID: txid, Time: now, EventType: "authentication",
		UserID: w.UserID, Username: username,
		IKey: d.req.Integration.IKey, IntegrationName: d.req.Integration.Name,
		Factor: d.factor, Result: result, Reason: reason,
		IP: d.req.IP, Hostname: d.req.Hostname, DeviceID: d.device, DeviceName: d.name,
	}
	return d.s.store.ApplyAuth(ctx, w)
}

func (d *decision) deny(ctx context.Context, w mfa.AuthWrite, result mfa.AuthResult, reason, status, msg string) (AuthResult, error) {
	if _, err := d.write(ctx, w, result, reason); err != nil {
		return AuthResult{}, err
	}
	return AuthResult{Result: ResultDeny, Status: status, StatusMsg: msg, LogTxID: d.logTx, LogFactor: d.factor}, nil
}

func (d *decision) allow(ctx context.Context, w mfa.AuthWrite, reason, status, msg string) (AuthResult, error) {
	if _, err := d.write(ctx, w, mfa.ResultSuccess, reason); err != nil {
		return AuthResult{}, err
	}
	return AuthResult{Result: ResultAllow, Status: status, StatusMsg: msg, LogTxID: d.logTx, LogFactor: d.factor}, nil
}
