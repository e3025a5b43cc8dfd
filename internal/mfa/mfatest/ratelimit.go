package mfatest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func rateLimitTests() []storeTest {
	return []storeTest{
		{"Count", testRateLimitCount},
		{"RetryAfter", testRateLimitRetryAfter},
		{"WindowReset", testRateLimitWindowReset},
		{"SeparateKeys", testRateLimitSeparateKeys},
		{"LongKeys", testRateLimitLongKeys},
		{"Invalid", testRateLimitInvalid},
		{"Concurrent", testRateLimitConcurrent},
		{"DeleteExpired", testRateLimitDeleteExpired},
	}
}

// hit calls HitRateLimit and fails t at once on an error.
func hit(t *testing.T, s mfa.Store, key string, limit int, window time.Duration, now time.Time) mfa.RateLimitResult {
	t.Helper()
	r, err := s.HitRateLimit(t.Context(), key, limit, window, now)
	check(t, fmt.Sprintf("HitRateLimit(%.20q, %d, %v, %v)", key, limit, window, now), err)
	return r
}

func testRateLimitCount(t *testing.T, s mfa.Store) {
	const limit = 3
	var got []mfa.RateLimitResult
	for range 5 {
		got = append(got, hit(t, s, "user:DUCOUNT", limit, time.Minute, at(0)))
	}
	want := []mfa.RateLimitResult{
		{Allowed: true, Count: 1},
		{Allowed: true, Count: 2},
		{Allowed: true, Count: 3},
		{Allowed: false, Count: 4, RetryAfter: time.Minute},
		{Allowed: false, Count: 5, RetryAfter: time.Minute},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("five hits at one instant with limit %d (-want +got):\n%s", limit, diff)
	}
}

func testRateLimitRetryAfter(t *testing.T, s mfa.Store) {
	const key = "ip:198.51.100.7"
	hit(t, s, key, 1, time.Minute, at(0))
	tests := []struct {
		give time.Time
		want time.Duration
	}{
		{at(10 * time.Second), 50 * time.Second},
		{at(59*time.Second + 999*time.Millisecond), time.Millisecond},
		{at(time.Minute - time.Microsecond), time.Microsecond},
	}
	for _, tt := range tests {
		r := hit(t, s, key, 1, time.Minute, tt.give)
		if r.Allowed || r.RetryAfter != tt.want {
			t.Errorf("HitRateLimit(%s) at +%v = %+v, want refused with RetryAfter %v",
				key, tt.give.Sub(at(0)), r, tt.want)
		}
	}
	// A limit reached in a window that started earlier answers the time to
	// that window's end, not a full window.
	hit(t, s, "user:DURETRY", 2, time.Hour, at(0))
	hit(t, s, "user:DURETRY", 2, time.Hour, at(20*time.Minute))
	if r := hit(t, s, "user:DURETRY", 2, time.Hour, at(45*time.Minute)); r.Allowed || r.RetryAfter != 15*time.Minute {
		t.Errorf("third hit at +45m of a 1h window = %+v, want refused with RetryAfter 15m", r)
	}
}

func testRateLimitWindowReset(t *testing.T, s mfa.Store) {
	const key = "user:DURESET"
	w := time.Minute
	tests := []struct {
		name string
		give time.Time
		want mfa.RateLimitResult
	}{
		{"first", at(0), mfa.RateLimitResult{Allowed: true, Count: 1}},
		{"second", at(30 * time.Second), mfa.RateLimitResult{Allowed: true, Count: 2}},
		{"over", at(w - time.Microsecond), mfa.RateLimitResult{Count: 3, RetryAfter: time.Microsecond}},
		// The window ends exactly w after its first hit.
		{"new window", at(w), mfa.RateLimitResult{Allowed: true, Count: 1}},
		{"new window second", at(w + 59*time.Second), mfa.RateLimitResult{Allowed: true, Count: 2}},
		{"new window over", at(w + 59*time.Second), mfa.RateLimitResult{Count: 3, RetryAfter: time.Second}},
		// A window starts at the hit that found none, not on a grid:
		// after a quiet spell the next window starts at +5m30s.
		{"after a pause", at(5*w + 30*time.Second), mfa.RateLimitResult{Allowed: true, Count: 1}},
		{"after a pause second", at(6*w + 29*time.Second), mfa.RateLimitResult{Allowed: true, Count: 2}},
		{"after a pause over", at(6*w + 29*time.Second), mfa.RateLimitResult{Count: 3, RetryAfter: time.Second}},
		{"after a pause ends", at(6*w + 30*time.Second), mfa.RateLimitResult{Allowed: true, Count: 1}},
	}
	for _, tt := range tests {
		if got := hit(t, s, key, 2, w, tt.give); got != tt.want {
			t.Errorf("%s: HitRateLimit(%s) at +%v = %+v, want %+v", tt.name, key, tt.give.Sub(at(0)), got, tt.want)
		}
	}
}

func testRateLimitSeparateKeys(t *testing.T, s mfa.Store) {
	keys := []string{"user:DUAAAA", "user:DUBBBB", "ip:198.51.100.7", "ip:2001:db8::1", "USER:DUAAAA"}
	for i, key := range keys {
		for n := range i + 1 {
			if r := hit(t, s, key, 10, time.Minute, at(time.Duration(n)*time.Second)); r.Count != n+1 {
				t.Errorf("hit %d on %q = %+v, want Count %d (keys count separately, case-sensitively)", n+1, key, r, n+1)
			}
		}
	}
	// One key at its limit leaves the others alone.
	for range 10 {
		hit(t, s, "user:DUFULL", 10, time.Minute, at(0))
	}
	if r := hit(t, s, "user:DUFULL", 10, time.Minute, at(0)); r.Allowed {
		t.Errorf("11th hit with limit 10 = %+v, want refused", r)
	}
	if r := hit(t, s, "user:DUAAAA", 10, time.Minute, at(0)); !r.Allowed || r.Count != 2 {
		t.Errorf("another key after one reached its limit = %+v, want allowed with Count 2", r)
	}
}

func testRateLimitLongKeys(t *testing.T, s mfa.Store) {
	prefix := "ip:" + strings.Repeat("a", mfa.MaxRateLimitKey)
	long1, long2 := prefix+"1", prefix+"2"
	exact := strings.Repeat("k", mfa.MaxRateLimitKey)
	huge := strings.Repeat("z", 64<<10)
	for _, key := range []string{long1, long1, long2, exact, exact, exact, huge, huge} {
		hit(t, s, key, 100, time.Minute, at(0))
	}
	tests := []struct {
		name string
		key  string
		want int
	}{
		{"long key", long1, 3},
		{"long key with the same prefix", long2, 2},
		{"key of exactly MaxRateLimitKey bytes", exact, 4},
		{"64 KiB key", huge, 3},
	}
	for _, tt := range tests {
		if r := hit(t, s, tt.key, 100, time.Minute, at(0)); r.Count != tt.want {
			t.Errorf("%s: Count = %d, want %d", tt.name, r.Count, tt.want)
		}
	}
	if got := mfa.RateLimitKey(long1); len(got) > mfa.MaxRateLimitKey || got == mfa.RateLimitKey(long2) {
		t.Errorf("RateLimitKey(long) = %q: want at most %d bytes, different for different keys", got, mfa.MaxRateLimitKey)
	}
	if got := mfa.RateLimitKey(exact); got != exact {
		t.Errorf("RateLimitKey(%d bytes) = %q, want the key itself", len(exact), got)
	}
}

func testRateLimitInvalid(t *testing.T, s mfa.Store) {
	tests := []struct {
		name   string
		key    string
		limit  int
		window time.Duration
		field  string
	}{
		{"empty key", "", 1, time.Minute, "key"},
		{"zero limit", "user:DUX", 0, time.Minute, "limit"},
		{"negative limit", "user:DUX", -1, time.Minute, "limit"},
		{"zero window", "user:DUX", 1, 0, "window"},
		{"negative window", "user:DUX", 1, -time.Second, "window"},
	}
	for _, tt := range tests {
		_, err := s.HitRateLimit(t.Context(), tt.key, tt.limit, tt.window, at(0))
		wantField(t, fmt.Sprintf("HitRateLimit(%s)", tt.name), err, mfa.Invalid, tt.field)
	}
	// Refused calls counted nothing.
	if r := hit(t, s, "user:DUX", 1, time.Minute, at(0)); !r.Allowed || r.Count != 1 {
		t.Errorf("first valid hit after invalid ones = %+v, want allowed with Count 1", r)
	}
}

func testRateLimitConcurrent(t *testing.T, s mfa.Store) {
	const n, limit = 50, 10
	const key = "user:DURACE"
	results := make([]mfa.RateLimitResult, n)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		r, err := s.HitRateLimit(ctx, key, limit, time.Minute, at(0))
		results[i] = r
		return err
	})
	wantAllOK(t, "HitRateLimit", errs)
	if t.Failed() {
		return
	}
	allowed := 0
	counts := make([]int, 0, n)
	for _, r := range results {
		if r.Allowed {
			allowed++
			if r.Count > limit {
				t.Errorf("hit with Count %d allowed, limit %d", r.Count, limit)
			}
		} else if r.Count <= limit || r.RetryAfter != time.Minute {
			t.Errorf("refused hit %+v, want Count > %d and RetryAfter 1m", r, limit)
		}
		counts = append(counts, r.Count)
	}
	if allowed != limit {
		t.Errorf("%d concurrent hits with limit %d: %d allowed, want exactly %d", n, limit, allowed, limit)
	}
	// Every hit counted once: the counts are 1..n, each once.
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Errorf("%d concurrent hits returned the counts %v, want 1..%d each once", n, counts, n)
			break
		}
	}
	if r := hit(t, s, key, limit, time.Minute, at(time.Second)); r.Count != n+1 {
		t.Errorf("hit after %d concurrent ones = %+v, want Count %d", n, r, n+1)
	}
}

func testRateLimitDeleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	hit(t, s, "ended", 1, time.Minute, at(0))                    // ended at +1m
	hit(t, s, "ends now", 1, time.Minute, now.Add(-time.Minute)) // ends at now
	hit(t, s, "live", 1, time.Minute, now.Add(-time.Minute+time.Microsecond))
	hit(t, s, "live", 1, time.Minute, now.Add(-time.Second)) // refused: Count 2

	if n, err := s.DeleteExpiredRateLimits(ctx, now); err != nil || n != 2 {
		t.Errorf("DeleteExpiredRateLimits(now) = %d, %v, want 2, nil", n, err)
	}
	if n, err := s.DeleteExpiredRateLimits(ctx, now); err != nil || n != 0 {
		t.Errorf("DeleteExpiredRateLimits(now) again = %d, %v, want 0, nil", n, err)
	}
	// The live counter kept its count and window; a deleted one starts over.
	if r := hit(t, s, "live", 1, time.Minute, now); r.Allowed || r.Count != 3 || r.RetryAfter != time.Microsecond {
		t.Errorf("hit on the kept counter = %+v, want refused with Count 3 and RetryAfter 1µs", r)
	}
	if r := hit(t, s, "ended", 1, time.Minute, now); !r.Allowed || r.Count != 1 {
		t.Errorf("hit on a reaped counter = %+v, want allowed with Count 1", r)
	}
	if n, err := s.DeleteExpiredRateLimits(ctx, now.Add(time.Minute)); err != nil || n != 2 {
		t.Errorf("DeleteExpiredRateLimits(now+1m) = %d, %v, want 2 (live and ended), nil", n, err)
	}
}
