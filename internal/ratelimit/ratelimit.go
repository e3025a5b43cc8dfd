package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// MaxBuckets bounds a limiter's memory; past it, buckets that have refilled
// completely (and so hold no information) are dropped, and then, if many
// keys are mid-attack, arbitrary ones.
const MaxBuckets = 10000

// Buckets is a set of token buckets keyed by user, administrator or
// address. A nil *Buckets allows everything.
type Buckets struct {
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

// New returns buckets holding burst tokens each, refilled one per every,
// on the clock now (time.Now when nil). It returns nil (no limit) for a
// non-positive burst or period.
func New(burst int, every time.Duration, now func() time.Time) *Buckets {
	if burst <= 0 || every <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Buckets{burst: float64(burst), every: every, now: now, buckets: make(map[string]*bucket)}
}

// Take takes one token for key, reporting false and how long until the
// next token when none is left. A nil *Buckets or an empty key always
// allows.
func (l *Buckets) Take(key string) (ok bool, wait time.Duration) {
	if l == nil || key == "" {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= MaxBuckets {
			l.prune(now)
		}
		// Still full (many keys mid-attack): forget an arbitrary one, so
		// memory stays bounded whatever keys a client invents.
		for k := range l.buckets {
			if len(l.buckets) < MaxBuckets {
				break
			}
			delete(l.buckets, k)
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

// Len is how many keys are tracked.
func (l *Buckets) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (b *bucket) refill(now time.Time, l *Buckets) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

func (l *Buckets) prune(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now, l)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// AddressKey is the key a client address is limited by: IPv6 addresses by
// their /64, since one subscriber usually holds a whole /64 and could
// otherwise rotate through it; IPv4 (and IPv4-mapped IPv6) addresses as
// they are; anything unparseable as given.
func AddressKey(ip string) string {
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
