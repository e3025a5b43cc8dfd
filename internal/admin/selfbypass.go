package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/ratelimit"
)

// Self-service bypass codes (seed 003): a user who has passed their
// password (the web page runs authflow.CheckPassword first) answers the
// account's identity check and gets ONE single-use bypass code, valid for
// Settings.SelfBypassLifetime, made through the same code path and rules
// as an administrator's (at most mfa.MaxActiveBypassCodes active, never
// extended, logged), with the self-service actor. Wrong answers are rate
// limited per user and per address (in memory, then durably across
// nodes) and count in the same atomic lockout counter as passcodes;
// every success and failure is in the admin log with the source address.

// Messages the self-service pages show.
const (
	MsgSelfBypassOff      = "Self-service bypass codes are not available. Ask your help desk for a bypass code."
	MsgSelfBypassNoDevice = "A bypass code only works for an account with a device enrolled (a phone, tablet or hardware token), and yours has none. Ask your help desk to set one up."
	MsgSelfBypassNoPIN    = "You have not set a self-service PIN, so we cannot check who you are here. Ask your help desk for a bypass code, and set a PIN once you are logged in."
	MsgSelfBypassNoDOBID  = "We do not have the details we need to check who you are (your date of birth and ID number). Ask your help desk for a bypass code."
	MsgSelfBypassWrong    = "Those details do not match what we have. Check them and try again."
	MsgSelfBypassLocked   = "Your account is locked because of too many failed attempts."
	MsgSelfBypassDisabled = "Your account is disabled. Contact your help desk."
	MsgSelfBypassUsed     = "This check was already used to make a bypass code. Start again to get another."
	msgSelfBypassIPLimit  = "too many identity checks from this address"
	msgSelfBypassUserLim  = "too many identity checks for this user"
)

// SelfBypassLimits are the attempt limits of identity checks: in memory
// per node (a burst, then one attempt per Every), and durable across
// nodes (Limit per Window). Zero values take the defaults; a negative
// Burst or Limit turns one off.
type SelfBypassLimits struct {
	UserBurst, IPBurst     int
	UserEvery, IPEvery     time.Duration
	DurableUser, DurableIP int
	DurableWindow          time.Duration
}

// DefaultSelfBypassLimits: a person mistyping gets a few tries at once
// and one a minute after; an address (NAT included) twenty, then one
// every 6 seconds; across nodes at most 10 per user and 100 per address
// in 15 minutes. The lockout threshold (10 by default) ends guessing
// sooner.
var DefaultSelfBypassLimits = SelfBypassLimits{UserBurst: 5, UserEvery: time.Minute, IPBurst: 20, IPEvery: 6 * time.Second,
	DurableUser: 10, DurableIP: 100, DurableWindow: 15 * time.Minute}

// WithSelfBypassLimits sets the identity checks' attempt limits.
func WithSelfBypassLimits(l SelfBypassLimits) Option {
	return func(s *Service) { s.sbLimits = l }
}

// selfBypass is the Service's self-service state: the in-memory limiters.
type selfBypass struct {
	once         sync.Once
	byUser, byIP *ratelimit.Buckets
	lim          SelfBypassLimits
}

func (s *Service) selfBypassState() *selfBypass {
	sb := &s.sb
	sb.once.Do(func() {
		l, d := s.sbLimits, DefaultSelfBypassLimits
		pick := func(v, def int) int {
			if v == 0 {
				return def
			}
			return v
		}
		pickD := func(v, def time.Duration) time.Duration {
			if v == 0 {
				return def
			}
			return v
		}
		sb.lim = SelfBypassLimits{UserBurst: pick(l.UserBurst, d.UserBurst), IPBurst: pick(l.IPBurst, d.IPBurst),
			UserEvery: pickD(l.UserEvery, d.UserEvery), IPEvery: pickD(l.IPEvery, d.IPEvery),
			DurableUser: pick(l.DurableUser, d.DurableUser), DurableIP: pick(l.DurableIP, d.DurableIP),
			DurableWindow: pickD(l.DurableWindow, d.DurableWindow)}
		sb.byUser = ratelimit.New(sb.lim.UserBurst, sb.lim.UserEvery, s.now)
		sb.byIP = ratelimit.New(sb.lim.IPBurst, sb.lim.IPEvery, s.now)
	})
	return sb
}

// SelfBypassPolicy is what the self-service page needs of the settings.
type SelfBypassPolicy struct {
	On       bool
	Check    mfa.IdentityCheck
	Lifetime time.Duration
}

// SelfBypassPolicy returns the account's self-service bypass settings
// (public: the page shows whether it is available).
func (s *Service) SelfBypassPolicy(ctx context.Context) (SelfBypassPolicy, error) {
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return SelfBypassPolicy{}, fmt.Errorf("self-service bypass: %w", err)
	}
	return policyOf(st), nil
}

func policyOf(st mfa.Settings) SelfBypassPolicy {
	p := SelfBypassPolicy{On: st.SelfBypass, Check: st.SelfBypassCheck, Lifetime: st.SelfBypassLifetime}
	if !p.Check.Valid() {
		p.Check = mfa.IdentityPIN
	}
	if p.Lifetime <= 0 {
		p.Lifetime = mfa.DefaultSettings().SelfBypassLifetime
	}
	return p
}

// selfAccount is a self-service user's state, loaded and judged once.
type selfAccount struct {
	user     mfa.User
	settings mfa.Settings
	policy   SelfBypassPolicy
}

// loadSelf loads the self-service actor's user and decides whether they
// may try at all: the feature on, the user active (a lockout past its
// expiry is lifted, as at login), holding a device (seed 004), and having
// an answer for the account's check. A refusal is logged (reason and
// address) and returned as the page's message.
func (s *Service) loadSelf(ctx context.Context, a Actor) (selfAccount, error) {
	var sa selfAccount
	if a.Kind != ActorSelfService || a.ID == "" {
		return sa, mfa.E(mfa.Denied, "only a user at the self-service pages may do this")
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return sa, fmt.Errorf("self-service bypass: %w", err)
	}
	sa.settings, sa.policy = st, policyOf(st)
	if !sa.policy.On {
		return sa, mfa.E(mfa.Unavailable, MsgSelfBypassOff)
	}
	if sa.user, err = s.store.GetUser(ctx, a.ID); err != nil {
		return sa, fmt.Errorf("self-service bypass: %w", err)
	}
	u := sa.user
	if u.Status == mfa.StatusLockedOut && st.LockoutExpire > 0 && !u.LockedAt.IsZero() && !u.LockedAt.Add(st.LockoutExpire).After(s.now()) {
		if _, err := s.store.UnlockExpired(ctx, s.now().Add(-st.LockoutExpire)); err != nil {
			return sa, fmt.Errorf("self-service bypass: %w", err)
		}
		if sa.user, err = s.store.GetUser(ctx, a.ID); err != nil {
			return sa, fmt.Errorf("self-service bypass: %w", err)
		}
	}
	refuse := func(reason string, err error) (selfAccount, error) {
		if lerr := s.logSelf(ctx, a, "self_bypass_refused", map[string]any{"reason": reason}); lerr != nil {
			return sa, lerr
		}
		return sa, err
	}
	switch sa.user.Status {
	case mfa.StatusActive:
	case mfa.StatusLockedOut:
		return refuse("locked_out", mfa.E(mfa.Denied, MsgSelfBypassLocked))
	default:
		// Disabled, and any status that is not plainly active (bypass
		// users need no code).
		return refuse("user_"+strings.ReplaceAll(string(sa.user.Status), " ", "_"), mfa.E(mfa.Denied, MsgSelfBypassDisabled))
	}
	phones, err := s.store.UserPhones(ctx, u.ID)
	if err != nil {
		return sa, fmt.Errorf("self-service bypass: %w", err)
	}
	devices := 0
	for _, p := range phones {
		if len(p.Capabilities()) > 0 {
			devices++
		}
	}
	tokens, err := s.store.UserTokens(ctx, u.ID)
	if err != nil {
		return sa, fmt.Errorf("self-service bypass: %w", err)
	}
	if devices+len(tokens) == 0 {
		return refuse("no_device", mfa.E(mfa.Denied, MsgSelfBypassNoDevice))
	}
	idst, err := s.store.UserIdentity(ctx, u.ID)
	if err != nil {
		return sa, fmt.Errorf("self-service bypass: %w", err)
	}
	if !idst.Has(sa.policy.Check) {
		msg := MsgSelfBypassNoPIN
		if sa.policy.Check == mfa.IdentityDOBID {
			msg = MsgSelfBypassNoDOBID
		}
		return refuse("no_identity_"+string(sa.policy.Check), mfa.E(mfa.Denied, msg))
	}
	return sa, nil
}

// logSelf writes one self-service admin log record with the address.
func (s *Service) logSelf(ctx context.Context, a Actor, action string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	return s.logChange(ctx, a, action, "user", a.ID, changeDetails(details))
}

// StartSelfBypass is the step after the password: it returns the identity
// check the user must answer, or why they cannot get a code (Unavailable
// when the feature is off; Denied with the page's message for a locked
// out or disabled user, one with no device, or one with no answer on
// record; each logged).
func (s *Service) StartSelfBypass(ctx context.Context, a Actor) (SelfBypassPolicy, error) {
	sa, err := s.loadSelf(ctx, a)
	return sa.policy, err
}

// IdentityAnswer is what a user typed for the identity check.
type IdentityAnswer struct {
	PIN     string
	DOB     string // YYYY-MM-DD
	IDLast4 string
}

// SelfBypassCode is a self-service bypass code: shown once.
type SelfBypassCode struct {
	Code    mfa.Passcode
	Expires time.Time
}

// SelfBypass checks the identity answer of the self-service actor's user
// and, when it is right, makes one single-use bypass code valid for the
// configured lifetime. proof identifies the password check this answer
// follows (the page's random id for it): one proof yields at most one
// code, even from two concurrent requests on two nodes (one conditional
// write in the store). It answers:
//   - the code, logged as bypass_create by the self-service actor with the
//     address;
//   - Invalid (field pin, dob or id_last4) for an answer that cannot be
//     right (letters, a date that does not exist): nothing counted;
//   - RateLimited when the user or the address made too many checks;
//   - Unauthorized MsgSelfBypassWrong for a wrong answer: one failure
//     counted in the user's lockout counter (atomically, with the log
//     record); Denied MsgSelfBypassLocked when that failure locked the
//     account;
//   - Conflict MsgSelfBypassUsed when proof already made a code;
//   - what StartSelfBypass answers when the user may not try at all;
//   - Invalid (field count) when the user already holds the most active
//     bypass codes: nothing created.
func (s *Service) SelfBypass(ctx context.Context, a Actor, ans IdentityAnswer, proof string) (SelfBypassCode, error) {
	sb := s.selfBypassState()
	if a.Kind != ActorSelfService || a.ID == "" {
		return SelfBypassCode{}, mfa.E(mfa.Denied, "only a user at the self-service pages may do this")
	}
	if proof == "" {
		return SelfBypassCode{}, mfa.E(mfa.Conflict, MsgSelfBypassUsed)
	}
	limited := func(reason string, err error) (SelfBypassCode, error) {
		if lerr := s.logSelf(ctx, a, "self_bypass_failure", map[string]any{"reason": reason}); lerr != nil {
			return SelfBypassCode{}, lerr
		}
		return SelfBypassCode{}, err
	}
	ip := ratelimit.AddressKey(a.IP)
	if ok, wait := sb.byIP.Take(ip); !ok {
		return limited("rate_limited_address", mfa.RetryLater(msgSelfBypassIPLimit, wait))
	}
	if ok, wait := sb.byUser.Take(a.ID); !ok {
		return limited("rate_limited_user", mfa.RetryLater(msgSelfBypassUserLim, wait))
	}
	if ip != "" {
		if err := s.hitDurable(ctx, sb.lim.DurableIP, sb.lim.DurableWindow, "sb-ip:"+ip, msgSelfBypassIPLimit); err != nil {
			return limited("rate_limited_address", err)
		}
	}
	if err := s.hitDurable(ctx, sb.lim.DurableUser, sb.lim.DurableWindow, "sb-user:"+a.ID, msgSelfBypassUserLim); err != nil {
		return limited("rate_limited_user", err)
	}
	sa, err := s.loadSelf(ctx, a)
	if err != nil {
		return SelfBypassCode{}, err
	}
	var answer mfa.Passcode
	switch sa.policy.Check {
	case mfa.IdentityPIN:
		pin := strings.TrimSpace(ans.PIN)
		switch {
		case pin == "":
			return SelfBypassCode{}, mfa.InvalidField(FieldPIN, "Enter your PIN.")
		case len(pin) > MaxPINLen || strings.Trim(pin, "0123456789") != "":
			return SelfBypassCode{}, mfa.InvalidField(FieldPIN, fmt.Sprintf("Your PIN is %d to %d digits.", MinPINLen, MaxPINLen))
		}
		answer = mfa.Passcode(pin)
	case mfa.IdentityDOBID:
		if answer, err = DOBIDAnswer(ans.DOB, ans.IDLast4, s.now()); err != nil {
			return SelfBypassCode{}, err
		}
	}
	ok, err := s.store.CheckUserIdentity(ctx, sa.user.ID, sa.policy.Check, answer)
	if err != nil {
		return SelfBypassCode{}, fmt.Errorf("self-service bypass: %w", err)
	}
	if !ok {
		var out mfa.AuthOutcome
		err := s.store.Atomic(ctx, func(ctx context.Context) error {
			var err error
			out, err = s.store.ApplyAuth(ctx, mfa.AuthWrite{UserID: sa.user.ID, CountFailure: true,
				Threshold: sa.settings.LockoutThreshold, At: s.now()})
			if err != nil {
				return fmt.Errorf("self-service bypass: %w", err)
			}
			return s.logSelf(ctx, a, "self_bypass_failure", map[string]any{"reason": "wrong_identity",
				"identity_check": string(sa.policy.Check), "locked_out": out.Failure.LockedOut})
		})
		if err != nil {
			return SelfBypassCode{}, err
		}
		if out.Failure.LockedOut {
			return SelfBypassCode{}, mfa.E(mfa.Denied, MsgSelfBypassLocked)
		}
		return SelfBypassCode{}, mfa.E(mfa.Unauthorized, MsgSelfBypassWrong)
	}
	// The proof is spent by one conditional write shared by every node: of
	// two right answers after one password check, one gets a code.
	r, err := s.store.HitRateLimit(ctx, "sb-proof:"+proof, 1, 24*time.Hour, s.now())
	if err != nil {
		return SelfBypassCode{}, fmt.Errorf("self-service bypass: %w", err)
	}
	if !r.Allowed {
		return limited("check_already_used", mfa.E(mfa.Conflict, MsgSelfBypassUsed))
	}
	one, uses := 1, 1
	secs := int64(sa.policy.Lifetime / time.Second)
	codes, err := s.issueBypassCodes(ctx, a, sa.user.ID, BypassRequest{Count: &one, ReuseCount: &uses, ValidSecs: &secs,
		PreserveExisting: true}, map[string]any{"identity_check": string(sa.policy.Check)})
	if err != nil {
		var me *mfa.Error
		if errors.As(err, &me) && me.Kind == mfa.Invalid {
			if lerr := s.logSelf(ctx, a, "self_bypass_failure", map[string]any{"reason": "bypass_limit"}); lerr != nil {
				return SelfBypassCode{}, lerr
			}
			return SelfBypassCode{}, mfa.InvalidField(me.Field, fmt.Sprintf(
				"You already hold the most bypass codes an account can have (%d). Use one of them, or ask your help desk.",
				mfa.MaxActiveBypassCodes))
		}
		return SelfBypassCode{}, err
	}
	return SelfBypassCode{Code: mfa.Passcode(codes[0]), Expires: s.now().Add(sa.policy.Lifetime)}, nil
}

// hitDurable counts one attempt on key in the store (across nodes); over
// limit it is RateLimited with the time until the window ends. A store
// failure to count is logged and allows the attempt: the lockout counter,
// which fails closed, is what guards the account.
func (s *Service) hitDurable(ctx context.Context, limit int, window time.Duration, key, msg string) error {
	if limit <= 0 || window <= 0 {
		return nil
	}
	r, err := s.store.HitRateLimit(ctx, key, limit, window, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "durable rate limit not counted; allowing the attempt", "error", err)
		}
		return nil
	}
	if !r.Allowed {
		return mfa.RetryLater(msg, r.RetryAfter)
	}
	return nil
}

// SetOwnPIN sets the PIN of the self-service actor's own user (the
// signed-in portal page): CheckPIN, then one write with its admin log
// record (with the address, never the PIN).
func (s *Service) SetOwnPIN(ctx context.Context, a Actor, pin string) error {
	if a.Kind != ActorSelfService || a.ID == "" {
		return mfa.E(mfa.Denied, "only a signed-in user may set their own PIN")
	}
	if pin == "" {
		return mfa.InvalidField(FieldPIN, "Enter a PIN.")
	}
	return s.setPIN(ctx, a, a.ID, pin, map[string]any{})
}

// OwnIdentity reports whether the self-service actor's user has a PIN
// and the other answers (never the answers).
func (s *Service) OwnIdentity(ctx context.Context, a Actor) (mfa.IdentityStatus, error) {
	if a.Kind != ActorSelfService || a.ID == "" {
		return mfa.IdentityStatus{}, mfa.E(mfa.Denied, "only a signed-in user may see this")
	}
	st, err := s.store.UserIdentity(ctx, a.ID)
	if err != nil {
		return mfa.IdentityStatus{}, fmt.Errorf("identity: %w", err)
	}
	return st, nil
}

// SelfActor is the self-service actor of the user with userID (a
// signed-in portal user) at address ip: Unauthorized when no such user
// exists any more.
func (s *Service) SelfActor(ctx context.Context, userID, ip string) (Actor, error) {
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, mfa.ErrNotFound) {
		return Actor{}, mfa.E(mfa.Unauthorized, "Sign in again.")
	}
	if err != nil {
		return Actor{}, fmt.Errorf("self-service actor: %w", err)
	}
	return SelfServiceActor(u, ip), nil
}
