package sqlstore

import (
	"context"
	"math"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// authUnit is one AuthWrite made ready to apply: its passcode hashed and
// its times settled, so that applying it inside a transaction does nothing
// but SQL. Units are self-contained, which lets the group committer
// (groupcommit.go) apply several in one transaction, each inside its own
// SAVEPOINT.
type authUnit struct {
	w    mfa.AuthWrite
	hash []byte    // GuardBypassCode, GuardSMSCode: the keyed hash of Guard.Code
	now  time.Time // Guard.Now, else At, else the store's clock
	at   time.Time // At, else now
}

func (s *Store) prepareAuth(ctx context.Context, w mfa.AuthWrite) (authUnit, error) {
	u := authUnit{w: w, now: w.Guard.Now, at: w.At}
	if u.at.IsZero() {
		u.at = s.now()
	}
	if u.now.IsZero() {
		u.now = u.at
	}
	if w.Success && w.CountFailure {
		return u, mfa.E(mfa.Invalid, "an authentication cannot both succeed and count a failure")
	}
	if err := w.CheckClaims(); err != nil {
		return u, err
	}
	switch w.Guard.Kind {
	case mfa.GuardNone, mfa.GuardAuthenticatorStep, mfa.GuardTokenStep:
	case mfa.GuardAuthenticatorCounter, mfa.GuardTokenCounter, mfa.GuardYubiKeyCounter, mfa.GuardWebAuthnCounter:
		if w.Guard.Counter >= math.MaxInt64 || (w.Guard.Kind == mfa.GuardWebAuthnCounter && w.Guard.Counter > math.MaxUint32) {
			return u, mfa.E(mfa.Invalid, "counter out of range")
		}
	case mfa.GuardBypassCode, mfa.GuardSMSCode:
		key, err := s.codeKeyFor(ctx)
		if err != nil {
			return u, err
		}
		purpose := hashBypass
		if w.Guard.Kind == mfa.GuardSMSCode {
			purpose = hashSMS
		}
		u.hash = codeHash(key, purpose, w.Guard.Code)
	default:
		return u, mfa.Errorf(mfa.Invalid, "unknown guard kind %d", w.Guard.Kind)
	}
	return u, nil
}

// ApplyAuth applies one authentication decision atomically: the guarded
// counter move, and only if it won, the user's failure count or success
// reset and the auth log record. Of concurrent writes with the same guard
// value exactly one wins; the others get Conflict (or NotFound for a spent
// bypass code) and change nothing.
func (s *Store) ApplyAuth(ctx context.Context, w mfa.AuthWrite) (mfa.AuthOutcome, error) {
	u, err := s.prepareAuth(ctx, w)
	if err != nil {
		return mfa.AuthOutcome{}, err
	}
	if s.txFrom(ctx) == nil {
		if s.gc != nil {
			return s.gc.apply(ctx, u)
		}
		if s.d == postgresDialect {
			if q, ok := pgAuthStatement(u); ok {
				return s.applyAuthStatement(ctx, u, q)
			}
		}
	}
	var (
		out  mfa.AuthOutcome
		kept error
	)
	err = s.writeTx(ctx, "apply auth", func(c dbtx) error {
		var err error
		out, err = s.applyAuth(ctx, c, u)
		if k, ok := asKept(err); ok {
			kept, err = k, nil // commit what the unit wrote before it
		}
		return err
	})
	if err != nil {
		return mfa.AuthOutcome{}, err
	}
	if kept != nil {
		return mfa.AuthOutcome{}, kept
	}
	return out, nil
}

// keptErr is the error of a unit whose writes so far must be committed
// all the same: a claimed signature, a rate-limit hit over its limit, or a
// guard that lost (see mfa.AuthWrite.Hits). Nothing after its cause ran.
type keptErr struct{ err error }

func (e *keptErr) Error() string { return e.err.Error() }
func (e *keptErr) Unwrap() error { return e.err }

// asKept reports whether err is a keptErr, returning its cause.
func asKept(err error) (error, bool) {
	if k, ok := err.(*keptErr); ok {
		return k.err, true
	}
	return nil, false
}

// claimAndHit runs a unit's signature claim and rate-limit hits, the
// first statements of its write. A keptErr reports a claimed signature or
// a hit over its limit.
func (s *Store) claimAndHit(ctx context.Context, c dbtx, w mfa.AuthWrite) error {
	if cl := w.Claim; cl != nil {
		n, err := c.execN(ctx, claimSignature, cl.Key, cl.Expires.Truncate(time.Microsecond), cl.Now.Truncate(time.Microsecond))
		if err != nil {
			return s.dbErr(ctx, "claim signature", err)
		}
		if n == 0 {
			return &keptErr{errSignatureClaimed}
		}
	}
	for _, h := range w.Hits {
		now := h.Now.Truncate(time.Microsecond)
		var (
			end   time.Time
			count int
		)
		err := c.row(ctx, hitRateLimit, mfa.RateLimitKey(h.Key), now, now.Add(h.Window)).Scan(scanTime{&end}, &count)
		if err != nil {
			return s.dbErr(ctx, "hit rate limit", err)
		}
		if count > h.Limit {
			return &keptErr{mfa.RetryLater(h.Msg, max(end.Sub(now), time.Microsecond))}
		}
	}
	return nil
}

// errSignatureClaimed answers a claim of a signature claimed already.
var errSignatureClaimed = &mfa.Error{Kind: mfa.Conflict, Field: "signature", Msg: "request already used"}

// applyAuth applies one unit inside the caller's transaction. When it
// returns an error the caller must undo the unit's partial effects: roll
// back the transaction, or the unit's savepoint.
func (s *Store) applyAuth(ctx context.Context, c dbtx, u authUnit) (mfa.AuthOutcome, error) {
	const op = "apply auth"
	var out mfa.AuthOutcome
	if err := s.claimAndHit(ctx, c, u.w); err != nil {
		return out, err
	}
	g := u.w.Guard
	var err error
	switch g.Kind {
	case mfa.GuardAuthenticatorCounter:
		err = s.guard(ctx, c, "authenticators", g.ID, "authenticator not found",
			`UPDATE authenticators SET hotp_counter = ? WHERE id = ? AND hotp_counter <= ?`, g.Counter+1, g.ID, g.Counter)
	case mfa.GuardAuthenticatorStep:
		err = s.guard(ctx, c, "authenticators", g.ID, "authenticator not found",
			`UPDATE authenticators SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, g.Step, g.ID, g.Step)
	case mfa.GuardTokenCounter:
		err = s.guard(ctx, c, "tokens", g.ID, "token not found",
			`UPDATE tokens SET counter = ? WHERE id = ? AND counter <= ?`, g.Counter+1, g.ID, g.Counter)
	case mfa.GuardTokenStep:
		err = s.guard(ctx, c, "tokens", g.ID, "token not found",
			`UPDATE tokens SET last_step = ? WHERE id = ? AND last_step < ?`, g.Step, g.ID, g.Step)
	case mfa.GuardYubiKeyCounter:
		err = s.guard(ctx, c, "tokens", g.ID, "token not found",
			`UPDATE tokens SET yk_counter = ? WHERE id = ? AND yk_counter < ?`, g.Counter, g.ID, g.Counter)
	case mfa.GuardWebAuthnCounter:
		// A counter of 0 means the authenticator keeps none: accepted
		// only while the stored one is 0 too. Single use of an assertion
		// is then the challenge's (claimed once by authflow).
		err = s.guard(ctx, c, "webauthn_credentials", g.ID, "security key not found",
			`UPDATE webauthn_credentials SET sign_count = ?, last_used = ? WHERE id = ? AND cloned = ?
			AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`, g.Counter, u.now, g.ID, false, g.Counter, int64(g.Counter))
	case mfa.GuardBypassCode:
		out.BypassUsesLeft, out.BypassUnlimited, err = s.spendBypass(ctx, c, u.w.UserID, u.hash, u.now)
	case mfa.GuardSMSCode:
		out.SMS, err = s.spendSMS(ctx, c, u.w.UserID, u.hash, u.now)
	}
	if err != nil {
		if k := mfa.KindOf(err); k == mfa.Conflict || k == mfa.NotFound {
			// The guard lost, and wrote nothing: keep the claim and hits.
			return mfa.AuthOutcome{}, &keptErr{err}
		}
		return mfa.AuthOutcome{}, err
	}
	if u.w.UserID != "" {
		switch {
		case u.w.CountFailure:
			out.Failure, err = s.recordFailure(ctx, c, u.w.UserID, u.w.Threshold, u.at)
		case u.w.Success:
			var n int64
			n, err = c.execN(ctx, `UPDATE users SET failed_attempts = 0, last_login = ? WHERE id = ?`, u.at, u.w.UserID)
			err = s.affected(ctx, op, n, err, "user not found")
		}
		if err != nil {
			return mfa.AuthOutcome{}, err
		}
	}
	if u.w.Log != nil {
		e := *u.w.Log
		if e.Time.IsZero() {
			e.Time = u.at
		}
		if err := s.insertAuthLog(ctx, c, e); err != nil {
			return mfa.AuthOutcome{}, err
		}
	}
	return out, nil
}

// guard runs one conditional counter UPDATE on the row id of table. No row
// changed means the value was already used (Conflict), or there is no such
// row (NotFound with notFoundMsg).
func (s *Store) guard(ctx context.Context, c dbtx, table, id, notFoundMsg, update string, args ...any) error {
	const op = "guard"
	n, err := c.execN(ctx, update, args...)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if n > 0 {
		return nil
	}
	ok, err := c.exists(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if !ok {
		return notFoundErr(notFoundMsg)
	}
	return conflictErr("passcode already used")
}
