package authflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/ratelimit"
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
	// Claim is the signed request's signature claim, from an edge that
	// leaves claiming to Auth (nil: the edge claimed, or nothing is
	// claimed). A passcode attempt carries it in its decision's write, so
	// that it costs no write of its own; any other request claims it
	// first. Auth sets Claimed once a write kept it; a claim already taken
	// is a Conflict on the field "signature" (mfa.IsSignatureConflict),
	// and nothing is done.
	Claim *mfa.PendingClaim
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
	// A passcode attempt's durable hits (and claim) ride in its decision's
	// write; anything else claims its request first.
	var pend pending
	if addr := ratelimit.AddressKey(req.IP); passcodeAttempt(req) {
		if ok, wait := s.byIP.Take(addr); !ok {
			return AuthResult{}, mfa.RetryLater(msgIPLimited, wait)
		}
		pend.claim = req.Claim
		if addr != "" && s.durIP.on() {
			pend.hits = append(pend.hits, mfa.RateHit{Key: "ip:" + addr, Limit: s.durIP.Limit, Window: s.durIP.Window,
				Now: s.now(), Msg: msgIPLimited})
		}
	} else if c := req.Claim; c != nil && !c.Claimed {
		if err := s.store.ClaimSignature(ctx, c.Key, c.Now, c.Expires); err != nil {
			return AuthResult{}, err
		}
		c.Claimed = true
	}
	// A 6-digit passcode that no install accepts is compared with the
	// user's recently replaced installs (revokedMatch): read them with the
	// account rather than after.
	var q mfa.AccountQuery
	if kind, digits, _, _ := otp.Classify(strings.TrimSpace(string(req.Passcode))); req.Factor == mfa.FactorPasscode &&
		kind == otp.KindDigits && digits == 6 {
		q.Revoked = true
	}
	a, err := s.load(ctx, req.Who, q)
	if err != nil {
		return AuthResult{}, fmt.Errorf("auth: %w", err)
	}
	res, err := s.auth(ctx, req, a, pend)
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

func (s *Service) auth(ctx context.Context, req AuthRequest, a account, pend pending) (AuthResult, error) {
	d := &decision{s: s, req: req, a: a, factor: string(req.Factor), pend: pend}
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
	if ok, wait := s.byUser.Take(a.user.ID); !ok {
		return AuthResult{}, mfa.RetryLater(msgUserLimited, wait)
	}
	if s.durUser.on() {
		d.pend.hits = append(d.pend.hits, mfa.RateHit{Key: "user:" + a.user.ID, Limit: s.durUser.Limit,
			Window: s.durUser.Window, Now: s.now(), Msg: msgUserLimited})
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
	pend   pending
}

// pending is what a passcode attempt's first store write carries besides
// its decision: the request's signature claim and its durable rate-limit
// hits (mfa.AuthWrite.Claim and Hits). The first write that keeps them
// (decided, lost its guard, or over a limit) consumes them.
type pending struct {
	claim *mfa.PendingClaim
	hits  []mfa.RateHit
}

// apply writes w with what is pending. A write that fails outright with
// hits is written again without them: a failure to count must not fail
// the attempt (WithDurableLimits); the decision's own write fails closed.
func (d *decision) apply(ctx context.Context, w mfa.AuthWrite) (mfa.AuthOutcome, error) {
	if c := d.pend.claim; c != nil && !c.Claimed {
		w.Claim = &c.SignatureClaim
	}
	w.Hits = d.pend.hits
	out, err := d.s.store.ApplyAuth(ctx, w)
	switch k := mfa.KindOf(err); {
	case err == nil, k == mfa.RateLimited, k == mfa.NotFound, k == mfa.Conflict && !mfa.IsSignatureConflict(err):
		if w.Claim != nil {
			d.pend.claim.Claimed = true
		}
		d.pend.hits = nil
		if k == mfa.RateLimited {
			d.s.log.DebugContext(ctx, "durable rate limit", "user_id", w.UserID, "remote_ip", d.req.IP, "error", err)
		}
	case len(w.Hits) > 0 && !mfa.IsSignatureConflict(err) && ctx.Err() == nil:
		d.s.log.WarnContext(ctx, "durable rate limit not counted; allowing the attempt",
			"user_id", w.UserID, "remote_ip", d.req.IP, "error", err)
		d.pend.hits = nil
		return d.apply(ctx, w)
	}
	return out, err
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
	return d.apply(ctx, w)
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
