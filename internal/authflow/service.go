package authflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Service decides preauth and auth requests against a store.
type Service struct {
	store  mfa.Store
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	byUser *limiter // passcode attempts per user; nil = off
	byIP   *limiter // passcode attempts per client IP; nil = off
	bySMS  *limiter // SMS batch sends per user; nil = off
	byOOB  *limiter // pushes and calls per user; nil = off
	durOOB DurableLimit
	// Durable passcode attempt limits, counted in the store across nodes;
	// zero = off.
	durUser, durIP DurableLimit

	notifier mfa.Notifier // delivers SMS passcodes, calls and fraud emails; nil = those are Unavailable
	recheck  time.Duration
	customer string
	// enrollPortal is preauth's enroll_portal_url (WithEnrollPortal).
	enrollPortal string
	// callPrompt is what a phone call says (WithCallPrompt).
	callPrompt string

	// ff is the first factor (password.go); nil until first used without
	// WithFirstFactor, then the defaults.
	ff     *firstFactor
	ffOnce sync.Once

	// keys is the WebAuthn protocol (WithWebAuthn); nil: security keys
	// are off.
	keys mfa.WebAuthnVerifier

	installPolls *pollGate // waiting device long polls per install
	statusPolls  *pollGate // waiting auth_status polls per integration
}

// Limit is a token bucket: Burst attempts at once, then one more every
// Every. A zero Burst turns the limit off.
type Limit struct {
	Burst int
	Every time.Duration
}

// Default attempt limits. They are a cheap first line against a burst of
// guesses on one node; the durable protection is the lockout counter in the
// store (Settings.LockoutThreshold), which holds across nodes.
var (
	DefaultUserLimit = Limit{Burst: 20, Every: 3 * time.Second}
	DefaultIPLimit   = Limit{Burst: 100, Every: 100 * time.Millisecond}
)

// Option configures a Service beyond its required dependencies.
type Option func(*Service)

// WithLimits sets the per-user and per-IP passcode attempt limits (a zero
// Limit turns one off). The defaults are DefaultUserLimit and
// DefaultIPLimit.
func WithLimits(perUser, perIP Limit) Option {
	return func(s *Service) {
		s.byUser = newLimiter(perUser, s.now)
		s.byIP = newLimiter(perIP, s.now)
	}
}

// New makes a Service. now, random (for transaction ids; crypto/rand.Reader
// in production) and logger are required.
func New(store mfa.Store, now func() time.Time, random io.Reader, logger *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, now: now, rand: random, log: logger}
	s.byUser = newLimiter(DefaultUserLimit, now)
	s.byIP = newLimiter(DefaultIPLimit, now)
	s.bySMS = newLimiter(DefaultSMSLimit(), now)
	s.byOOB = newLimiter(DefaultPushLimit(), now)
	s.installPolls = newPollGate(DefaultInstallPolls)
	s.statusPolls = newPollGate(DefaultIntegrationPolls)
	for _, o := range opts {
		o(s)
	}
	return s
}

// Who names the user a request is about: exactly one of Username (or an
// alias) and UserID.
type Who struct {
	Username string
	UserID   string
}

func (w Who) check() error {
	switch {
	case w.Username == "" && w.UserID == "":
		return mfa.InvalidField("username", "username or user_id is required")
	case w.Username != "" && w.UserID != "":
		return mfa.InvalidField("user_id", "give username or user_id, not both")
	}
	return nil
}

// account is what one request knows about its user.
type account struct {
	user     mfa.User
	known    bool
	phones   []mfa.Phone // only phones with at least one capability
	tokens   []mfa.Token
	groups   []mfa.Group
	auths    []mfa.Authenticator // active app installs
	revoked  []mfa.Authenticator // recently revoked installs, when load was asked for them
	smsNext  map[string]int      // next unused SMS passcode per phone, when load was asked
	settings mfa.Settings
	hasKeys  bool // read only when the user has no phone or token
}

func (a account) enrolled() bool { return len(a.phones)+len(a.tokens) > 0 || a.hasKeys }

// status is the status the user logs in with: their own, overridden by
// their groups' (mfa.EffectiveStatus).
func (a account) status() mfa.UserStatus { return mfa.EffectiveStatus(a.user, a.groups) }

// permitted reports whether the integration admits the user: it names no
// groups, or the user is a known member of one of them (Duo's
// groups_allowed; an unknown user is in no group).
func (a account) permitted(in mfa.Integration) bool {
	return len(in.GroupsAllowed) == 0 || a.known && mfa.InAnyGroup(a.groups, in.GroupsAllowed)
}

// load finds the user, unlocks them first if their lockout expired, and
// reads their devices, all in one store read (LoginAccount, which q asks
// for more). An unknown
// username is not an error (known is false: the enroll policy decides); an
// unknown user_id is Invalid, since nothing can be enrolled for an id we
// never issued.
func (s *Service) load(ctx context.Context, who Who, q mfa.AccountQuery) (account, error) {
	var a account
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return a, fmt.Errorf("get settings: %w", err)
	}
	a.settings = st
	q.UserID, q.Name = who.UserID, strings.TrimSpace(who.Username)
	acc, err := s.store.LoginAccount(ctx, q)
	if errors.Is(err, mfa.ErrNotFound) {
		if who.UserID != "" {
			return a, mfa.InvalidField("user_id", "unknown user_id")
		}
		return a, nil
	}
	if err != nil {
		return a, fmt.Errorf("get user: %w", err)
	}
	if u := acc.User; u.Status == mfa.StatusLockedOut && st.LockoutExpire > 0 && !u.LockedAt.IsZero() &&
		!u.LockedAt.Add(st.LockoutExpire).After(s.now()) {
		if _, err := s.store.UnlockExpired(ctx, s.now().Add(-st.LockoutExpire)); err != nil {
			return a, fmt.Errorf("unlock expired: %w", err)
		}
		q.UserID = u.ID
		if acc, err = s.store.LoginAccount(ctx, q); err != nil {
			return a, fmt.Errorf("get user: %w", err)
		}
	}
	a.known = true
	a.user, a.tokens, a.groups, a.auths = acc.User, acc.Tokens, acc.Groups, acc.Authenticators
	a.revoked, a.smsNext = acc.Revoked, acc.SMSNext
	for _, p := range acc.Phones {
		if len(p.Capabilities()) > 0 {
			a.phones = append(a.phones, p)
		}
	}
	if s.keys != nil && len(a.phones)+len(a.tokens) == 0 {
		keys, err := s.store.UserWebAuthnCredentials(ctx, a.user.ID)
		if err != nil {
			return a, fmt.Errorf("user security keys: %w", err)
		}
		a.hasKeys = len(keys) > 0
	}
	return a, nil
}

// Status messages shared by preauth and auth.
const (
	MsgEnroll       = "Enroll an authentication device to proceed"
	MsgAllowUnknown = "Allowing unknown user"
	MsgDenyUnknown  = "Unknown user"
	MsgBypassUser   = "Allowing user in bypass mode"
	MsgDisabled     = "Your account is disabled."
	MsgLockedOut    = "Your account has been locked out due to excessive authentication failures."
	// MsgNotPermitted answers a user outside an integration's
	// groups_allowed.
	MsgNotPermitted = "Access denied. You are not permitted to use this application."
)

// ReasonNotPermitted is the auth log reason of a user outside an
// integration's groups_allowed (Duo's word).
const ReasonNotPermitted = "user_not_in_permitted_group"

// newTxID returns a random UUID (version 4), Duo's txid shape.
func (s *Service) newTxID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("new txid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
