package admin

import (
	"net/netip"
	"sync"
	"time"
)

// maxBuckets bounds a limiter's memory; past it, full buckets are
// forgotten first, then arbitrary ones.
const maxBuckets = 10000

// bucketLimiter is a set of token buckets keyed by user or address, per
// node and in memory: it only slows guessing down (the durable counters
// and the lockout are in the store).
type bucketLimiter struct {
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

// newBucketLimiter returns nil (no limit) for a non-positive burst or
// period.
func newBucketLimiter(burst int, every time.Duration, now func() time.Time) *bucketLimiter {
	if burst <= 0 || every <= 0 {
		return nil
	}
	return &bucketLimiter{burst: float64(burst), every: every, now: now, buckets: map[string]*bucket{}}
}

// take takes a token for key, or reports how long until the next one. A
// nil limiter or an empty key always allows.
func (l *bucketLimiter) take(key string) (bool, time.Duration) {
	if l == nil || key == "" {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			for k, b := range l.buckets {
				b.refill(now, l)
				if b.tokens >= l.burst {
					delete(l.buckets, k)
				}
			}
			for k := range l.buckets {
				if len(l.buckets) < maxBuckets {
					break
				}
				delete(l.buckets, k)
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.refill(now, l)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return true, 0
}

func (b *bucket) refill(now time.Time, l *bucketLimiter) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

// addressKey is the key an address is limited by: IPv6 by its /64 (one
// subscriber usually holds a whole /64), IPv4 as it is.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
