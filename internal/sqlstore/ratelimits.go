package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

var _ mfa.RateLimitStore = (*Store)(nil)

// hitRateLimit is the whole of a hit: one conditional upsert. The first hit
// on a key inserts (now, now+window, 1); a later hit whose window is still
// live (window_end > now) adds one to the count; a hit that finds the
// window ended starts a new one at now with a count of 1. SET expressions
// read the row as it was before the statement (both dialects), so each
// CASE sees the old window_end. On PostgreSQL a conflicting concurrent
// insert waits for the other and then updates the committed row (READ
// COMMITTED is enough); on SQLite the single writer serializes hits.
// RETURNING gives the row as this hit left it.
const hitRateLimit = `INSERT INTO rate_limits (key, window_start, window_end, count) VALUES (?, ?, ?, 1)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN rate_limits.window_end > excluded.window_start
		THEN rate_limits.count + 1 ELSE 1 END,
	window_start = CASE WHEN rate_limits.window_end > excluded.window_start
		THEN rate_limits.window_start ELSE excluded.window_start END,
	window_end = CASE WHEN rate_limits.window_end > excluded.window_start
		THEN rate_limits.window_end ELSE excluded.window_end END
RETURNING window_end, count`

// HitRateLimit counts one hit on key at now against limit per window (see
// mfa.RateLimitStore), in one statement.
func (s *Store) HitRateLimit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (mfa.RateLimitResult, error) {
	if err := mfa.CheckRateLimitArgs(key, limit, window); err != nil {
		return mfa.RateLimitResult{}, err
	}
	// Times are stored at microsecond precision: compute with what is
	// stored, so that RetryAfter is exactly the stored window's rest.
	now = now.Truncate(time.Microsecond)
	var (
		end   time.Time
		count int
	)
	err := s.writer().row(ctx, hitRateLimit, mfa.RateLimitKey(key), now, now.Add(window)).Scan(scanTime{&end}, &count)
	if err != nil {
		return mfa.RateLimitResult{}, s.dbErr(ctx, "hit rate limit", err)
	}
	r := mfa.RateLimitResult{Allowed: count <= limit, Count: count}
	if !r.Allowed {
		r.RetryAfter = max(end.Sub(now), time.Microsecond)
	}
	return r, nil
}

// DeleteExpiredRateLimits deletes the counters whose window ended at or
// before now, returning how many.
func (s *Store) DeleteExpiredRateLimits(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM rate_limits WHERE window_end <= ?`, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete expired rate limits", err)
	}
	return int(n), nil
}
