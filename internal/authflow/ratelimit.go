package authflow

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/ratelimit"
)

// limiter is a set of in-memory token buckets keyed by user or IP
// (internal/ratelimit). It is per node, so it only slows guessing down;
// correctness never depends on it (the durable lockout is in the store).
type limiter = ratelimit.Buckets

// newLimiter returns nil (no limit) when l is off.
func newLimiter(l Limit, now func() time.Time) *limiter {
	return ratelimit.New(l.Burst, l.Every, now)
}

// DurableLimit is a fixed-window ceiling kept in the store
// (mfa.RateLimitStore): at most Limit attempts per Window, counted across
// every node that shares the database. A zero Limit or Window turns it off.
type DurableLimit struct {
	Limit  int
	Window time.Duration
}

func (l DurableLimit) on() bool { return l.Limit > 0 && l.Window > 0 }

// Default durable limits. The in-memory limiters are the cheap first line
// on each node; these are the ceiling that holds however many nodes there
// are. The per-user one sits above what one node's DefaultUserLimit lets
// through in a minute (a burst of 20 plus 20 refills), so it never changes
// what a single node answers and bites only when several nodes together
// let more through. The per-IP one caps passcode guesses from one address
// (NAT included) at 5 a second across the cluster, where each node alone
// would allow bursts of 100 and 10 a second.
var (
	DefaultDurableUserLimit = DurableLimit{Limit: 60, Window: time.Minute}
	DefaultDurableIPLimit   = DurableLimit{Limit: 300, Window: time.Minute}
)

// WithDurableLimits turns on the durable per-user and per-IP passcode
// attempt limits, counted in the store so that they hold across nodes (a
// zero DurableLimit leaves one off; both are off by default). They apply
// after the in-memory limits let an attempt through, and only to passcode
// attempts: SMS sends, pushes and calls have limits of their own. Both
// hits are counted in the attempt's decision write (mfa.AuthWrite.Hits):
// the per-IP one for every passcode attempt, the per-user one for an
// attempt that reaches the passcode check. So they cost no store write of
// their own (on PostgreSQL the decision, its log record and both counters
// are one statement). An attempt over a limit is RateLimited with the time
// until the window ends, and decides nothing.
//
// A failure to count (the write with the hits erring) is logged as a
// warning and the decision written again without them: a bookkeeping
// failure must not lock every user out. What guards a user's passcodes is
// the lockout counter, which is part of the decision's own store write and
// fails closed; the limits only slow guessing down.
func WithDurableLimits(perUser, perIP DurableLimit) Option {
	return func(s *Service) {
		s.durUser, s.durIP = perUser, perIP
	}
}

// hitDurable counts one attempt on key against l in the store, returning a
// RateLimited error carrying the retry time when it is over the limit.
// attrs name the user or address in a log record.
func (s *Service) hitDurable(ctx context.Context, l DurableLimit, key, msg string, attrs ...any) error {
	if !l.on() {
		return nil
	}
	r, err := s.store.HitRateLimit(ctx, key, l.Limit, l.Window, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "durable rate limit not counted; allowing the attempt",
				append(attrs, "error", err)...)
		}
		return nil
	}
	if !r.Allowed {
		s.log.DebugContext(ctx, "durable rate limit", append(attrs, "count", r.Count, "retry_after", r.RetryAfter)...)
		return mfa.RetryLater(msg, r.RetryAfter)
	}
	return nil
}

// passcodeAttempt reports whether req guesses a passcode, rather than
// asking for another factor (including "push", "phone" or "sms" typed in
// the passcode box).
func passcodeAttempt(req AuthRequest) bool {
	if req.Factor != mfa.FactorPasscode {
		return false
	}
	kind, _, _, _ := otp.Classify(string(req.Passcode))
	return kind != otp.KindKeyword
}
