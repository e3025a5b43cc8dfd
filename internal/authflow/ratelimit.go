package authflow

import (
	"sync"
	"time"
)

// maxBuckets bounds a limiter's memory; past it, buckets that have refilled
// completely (and so hold no information) are dropped.
const maxBuckets = 10000

// limiter is a set of token buckets keyed by user or IP. It is per node and
// in memory, so it only slows guessing down; correctness never depends on
// it (the durable lockout is in the store).
type limiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(l Limit, now func() time.Time) *limiter {
	if l.Burst <= 0 || l.Every <= 0 {
		return nil
	}
	return &limiter{burst: float64(l.Burst), every: l.Every, now: now, buckets: make(map[string]*bucket)}
}

// allow takes one token for key, reporting false when none is left. A nil
// limiter or an empty key always allows.
func (l *limiter) allow(key string) bool {
	if l == nil || key == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		// Still full (many keys mid-attack): forget an arbitrary one, so
		// memory stays bounded whatever keys a client invents.
		for k := range l.buckets {
			if len(l.buckets) < maxBuckets {
				break
			}
			delete(l.buckets, k)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.refill(now, l)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time, l *limiter) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now, l)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
