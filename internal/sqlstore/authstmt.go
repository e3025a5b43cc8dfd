package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// On PostgreSQL an authentication write is one statement: a chain of
// data-modifying CTEs, each conditional on the ones before it, that
// claims the request's signature, counts its rate-limit hits, moves the
// guard, updates the user and inserts the auth log record, then reports
// what each step did. One statement is one round trip and one commit
// (autocommit), where the same steps as a transaction took a round trip
// each plus BEGIN and COMMIT, and the claim and the hits were transactions
// of their own. The steps and their conditions are those of applyAuth
// (auth.go), which SQLite, the group committer, Atomic transactions and
// the bypass-code and SMS guards still use:
//
//   - the hits run only if the claim won (a replay counts nothing), each
//     only if the hits before it were within their limits;
//   - the guard only if the claim won and every hit is within its limit;
//   - the user update only if the guard won (or there is no guard);
//   - the log record only if the user update found the user (or there is
//     no user).
//
// READ COMMITTED makes each conditional write exact under concurrency, as
// for the single statements: a concurrent UPDATE of the same row waits for
// the other and re-checks its condition against the committed row.

// pgAuth is one unit's statement.
type pgAuth struct {
	sql   string
	args  []any
	hits  int
	guard bool
	user  bool
	table string // the guard's table, for its NotFound message
}

// pgAuthStatement builds u's statement, or reports false for the guards it
// does not cover (bypass and SMS codes, which take several statements).
func pgAuthStatement(u authUnit) (pgAuth, bool) {
	w := u.w
	g := w.Guard
	var q pgAuth
	var b strings.Builder
	var args []any
	arg := func(a ...any) { args = append(args, a...) }
	ctes := []string{}

	// A write for a user who does not exist must leave no trace (as the
	// transaction of applyAuth rolls back): every step waits for the user.
	q.user = w.UserID != "" && (w.Success || w.CountFailure)
	userOK := "TRUE"
	if q.user {
		ctes = append(ctes, `ux AS (SELECT EXISTS (SELECT 1 FROM users WHERE id = ?) AS v)`)
		arg(w.UserID)
		userOK = "(SELECT v FROM ux)"
	}
	claimOK := "TRUE"
	if cl := w.Claim; cl != nil {
		ctes = append(ctes, `cl AS (INSERT INTO used_signatures (key, expires) SELECT ?::text, ?::timestamptz WHERE `+userOK+`
	ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE used_signatures.expires <= ? RETURNING 1)`)
		arg(cl.Key, cl.Expires.Truncate(time.Microsecond), cl.Now.Truncate(time.Microsecond))
		claimOK = "EXISTS (SELECT 1 FROM cl)"
	}
	within := []string{userOK, claimOK}
	for i, h := range w.Hits {
		name := "h" + strconv.Itoa(i)
		now := h.Now.Truncate(time.Microsecond)
		ctes = append(ctes, name+` AS (INSERT INTO rate_limits (key, window_start, window_end, count)
	SELECT ?::text, ?::timestamptz, ?::timestamptz, 1 WHERE `+strings.Join(within, " AND ")+`
	ON CONFLICT (key) DO UPDATE SET
		count = CASE WHEN rate_limits.window_end > excluded.window_start
			THEN rate_limits.count + 1 ELSE 1 END,
		window_start = CASE WHEN rate_limits.window_end > excluded.window_start
			THEN rate_limits.window_start ELSE excluded.window_start END,
		window_end = CASE WHEN rate_limits.window_end > excluded.window_start
			THEN rate_limits.window_end ELSE excluded.window_end END
	RETURNING window_end, count)`)
		arg(mfa.RateLimitKey(h.Key), now, now.Add(h.Window))
		within = append(within, "COALESCE((SELECT count FROM "+name+") <= "+strconv.Itoa(h.Limit)+", FALSE)")
	}
	q.hits = len(w.Hits)
	ctes = append(ctes, `ok AS (SELECT `+strings.Join(within, " AND ")+` AS v)`)

	var update string
	switch g.Kind {
	case mfa.GuardNone:
	case mfa.GuardAuthenticatorCounter:
		q.table, update = "authenticators", `UPDATE authenticators SET hotp_counter = ? WHERE id = ? AND hotp_counter <= ?`
		arg(g.Counter+1, g.ID, g.Counter)
	case mfa.GuardAuthenticatorStep:
		q.table, update = "authenticators", `UPDATE authenticators SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`
		arg(g.Step, g.ID, g.Step)
	case mfa.GuardTokenCounter:
		q.table, update = "tokens", `UPDATE tokens SET counter = ? WHERE id = ? AND counter <= ?`
		arg(g.Counter+1, g.ID, g.Counter)
	case mfa.GuardTokenStep:
		q.table, update = "tokens", `UPDATE tokens SET last_step = ? WHERE id = ? AND last_step < ?`
		arg(g.Step, g.ID, g.Step)
	case mfa.GuardYubiKeyCounter:
		q.table, update = "tokens", `UPDATE tokens SET yk_counter = ? WHERE id = ? AND yk_counter < ?`
		arg(g.Counter, g.ID, g.Counter)
	default:
		return pgAuth{}, false
	}
	if update != "" {
		q.guard = true
		ctes = append(ctes, `g AS (`+update+` AND (SELECT v FROM ok) RETURNING 1)`,
			`gk AS (SELECT EXISTS (SELECT 1 FROM g) AS v)`)
	} else {
		ctes = append(ctes, `gk AS (SELECT v FROM ok)`)
	}

	done := "(SELECT v FROM gk)"
	if q.user {
		if w.Success {
			ctes = append(ctes, `u AS (UPDATE users SET failed_attempts = 0, last_login = ?
	WHERE id = ? AND (SELECT v FROM gk) RETURNING failed_attempts, status, lockout_failure)`)
			arg(u.at, w.UserID)
		} else {
			const lock = `status = 'active' AND ?::bigint > 0 AND failed_attempts + 1 >= ?::bigint`
			t := w.Threshold
			ctes = append(ctes, `u AS (UPDATE users SET failed_attempts = failed_attempts + 1,
		lockout_failure = CASE WHEN `+lock+` THEN failed_attempts + 1 ELSE lockout_failure END,
		locked_at = CASE WHEN `+lock+` THEN ?::timestamptz ELSE locked_at END,
		status = CASE WHEN `+lock+` THEN 'locked out' ELSE status END
	WHERE id = ? AND (SELECT v FROM gk) RETURNING failed_attempts, status, lockout_failure)`)
			arg(t, t, t, t, u.at, t, t, w.UserID)
		}
		done = "EXISTS (SELECT 1 FROM u)"
	}
	if w.Log != nil {
		e := *w.Log
		if e.Time.IsZero() {
			e.Time = u.at
		}
		ctes = append(ctes, `l AS (INSERT INTO auth_log (`+authLogCols+`)
	SELECT ?::timestamptz, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text,
		?::text, ?::text, ?::text, ?::text WHERE `+done+`)`)
		arg(e.Time, e.TxID, e.EventType, e.UserID, e.Username, e.IKey, e.IntegrationName, e.Factor, string(e.Result), e.Reason,
			e.IP, e.Hostname, e.DeviceID, e.DeviceName)
	}

	b.WriteString("WITH ")
	b.WriteString(strings.Join(ctes, ",\n"))
	b.WriteString("\nSELECT " + userOK + ", " + claimOK)
	for i := range w.Hits {
		h := "h" + strconv.Itoa(i)
		b.WriteString(", (SELECT window_end FROM " + h + "), (SELECT count FROM " + h + ")")
	}
	b.WriteString(", (SELECT v FROM gk)")
	if q.guard {
		b.WriteString(", EXISTS (SELECT 1 FROM " + q.table + " WHERE id = ?)")
		arg(g.ID)
	}
	if q.user {
		b.WriteString(", (SELECT failed_attempts FROM u), (SELECT status FROM u), (SELECT lockout_failure FROM u), " + done)
	}
	q.sql, q.args = b.String(), args
	return q, true
}

// applyAuthStatement runs u as its one statement and maps what it reports
// to ApplyAuth's answer (see mfa.AuthWrite for what a losing write keeps).
func (s *Store) applyAuthStatement(ctx context.Context, u authUnit, q pgAuth) (mfa.AuthOutcome, error) {
	const op = "apply auth"
	var (
		userFound, claimed, guarded, guardRow, userRow bool
		ends                                           = make([]sql.NullTime, q.hits)
		counts                                         = make([]sql.NullInt64, q.hits)
		failed, lockoutFailure                         sql.NullInt64
		status                                         sql.NullString
	)
	dest := []any{&userFound, &claimed}
	for i := range q.hits {
		dest = append(dest, &ends[i], &counts[i])
	}
	dest = append(dest, &guarded)
	if q.guard {
		dest = append(dest, &guardRow)
	}
	if q.user {
		dest = append(dest, &failed, &status, &lockoutFailure, &userRow)
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = s.writer().row(ctx, q.sql, q.args...).Scan(dest...)
		if err == nil || attempt == maxTxAttempts || !s.retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return mfa.AuthOutcome{}, s.dbErr(ctx, op, err)
	}
	if !userFound {
		return mfa.AuthOutcome{}, notFoundErr("user not found")
	}
	if !claimed {
		return mfa.AuthOutcome{}, errSignatureClaimed
	}
	for i, h := range u.w.Hits {
		if counts[i].Valid && counts[i].Int64 > int64(h.Limit) {
			now := h.Now.Truncate(time.Microsecond)
			return mfa.AuthOutcome{}, mfa.RetryLater(h.Msg, max(ends[i].Time.Sub(now), time.Microsecond))
		}
	}
	if !guarded {
		if q.guard && !guardRow {
			msg := "token not found"
			if q.table == "authenticators" {
				msg = "authenticator not found"
			}
			return mfa.AuthOutcome{}, notFoundErr(msg)
		}
		return mfa.AuthOutcome{}, conflictErr("passcode already used")
	}
	var out mfa.AuthOutcome
	if q.user {
		if !userRow {
			return mfa.AuthOutcome{}, notFoundErr("user not found")
		}
		if u.w.CountFailure {
			out.Failure = mfa.FailureResult{FailedAttempts: int(failed.Int64), Status: mfa.UserStatus(status.String)}
			out.Failure.LockedOut = out.Failure.Status == mfa.StatusLockedOut && lockoutFailure.Int64 == failed.Int64
		}
	}
	return out, nil
}
