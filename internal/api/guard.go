package api

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

// guarded verifies r as verify does, and around it: answers 429 at once to
// a source that has failed authentication too often (before reading the
// body or computing any HMAC), counts each 401 against its source, and
// refuses a repeated parameter that the route does not take as a list
// (only once the signature is good: an unauthenticated caller learns only
// 401).
func (s *Surface) guarded(r *http.Request, lists []string) (*Caller, error) {
	src := sourceKey(r.RemoteAddr)
	if ok, wait := s.Failures.allow(src); !ok {
		return nil, duoproto.RateLimited(wait)
	}
	c, err := s.verify(r)
	if err != nil {
		var de *duoproto.Error
		if errors.As(err, &de) && de.Status == http.StatusUnauthorized {
			s.Failures.fail(src)
		}
		return nil, err
	}
	if err := repeated(c, lists); err != nil {
		return nil, err
	}
	return c, nil
}

// repeated refuses a parameter sent more than once (in the query and the
// body, twice in either, or as a JSON array) unless lists names it: the
// signature sorts the values while a handler reads the first, so which one
// wins must not be left to chance.
func repeated(c *Caller, lists []string) error {
	var names []string
	for name, vs := range c.Params.Params {
		if len(vs) > 1 && !slices.Contains(lists, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return duoproto.BadParam(names[0] + ": repeated parameter")
}

// sourceKey is the address a request's failures are counted against: the
// connection's remote IP (the same r.RemoteAddr the request log records as
// remote_ip), an IPv6 address by its /64, which one subscriber usually
// holds whole. Like authflow's per-IP limits, it does not read
// X-Forwarded-For: twostepd has no trusted-proxy setting, so behind a proxy
// every client shares the proxy's address.
func sourceKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return host
	}
	return p.String()
}

// FailureLimit is how many failed authentications (HTTP 401) one source
// may have: Burst at once, then one more every Every.
type FailureLimit struct {
	Burst int
	Every time.Duration
}

// DefaultFailureLimit lets a source fail 30 times, then once every 2
// seconds (30 a minute). A client with the right key never fails; one with
// a wrong key fails on every request anyway.
var DefaultFailureLimit = FailureLimit{Burst: 30, Every: 2 * time.Second}

// maxSources bounds a FailureLimiter's memory whatever addresses attackers
// use; past it, sources that have recovered completely are forgotten, and
// then arbitrary ones (an attacker who holds that many addresses gets some
// counts reset; each address is still slowed after Burst failures).
const maxSources = 10000

// FailureLimiter counts failed authentications per source address in
// memory, per node, as token buckets that hold failures rather than
// requests: a source whose bucket is empty gets 429 with Retry-After until
// it refills, however good its next signature. It only slows guessing and
// CPU-costly bad signatures down; nothing depends on it for correctness. A
// nil *FailureLimiter limits nothing.
type FailureLimiter struct {
	mu      sync.Mutex
	limit   FailureLimit
	now     func() time.Time
	sources map[string]*failures
}

type failures struct {
	left float64 // failures left before the source is refused
	at   time.Time
}

// NewFailureLimiter returns a limiter with limit l on the clock now; a zero
// Burst or Every returns nil, which limits nothing.
func NewFailureLimiter(l FailureLimit, now func() time.Time) *FailureLimiter {
	if l.Burst <= 0 || l.Every <= 0 || now == nil {
		return nil
	}
	return &FailureLimiter{limit: l, now: now, sources: make(map[string]*failures)}
}

// allow reports whether src may try to authenticate, and if not, how long
// until it may.
func (l *FailureLimiter) allow(src string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.sources[src]
	if !ok {
		return true, 0
	}
	l.refill(f)
	if f.left >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - f.left) * float64(l.limit.Every))
}

// fail counts one failed authentication by src.
func (l *FailureLimiter) fail(src string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.sources[src]
	if !ok {
		if len(l.sources) >= maxSources {
			// Forget the recovered sources, then arbitrary ones down to
			// nine tenths, so that the next thousand new sources cost no
			// sweep: under a flood of invented addresses each failure
			// stays O(1) amortized.
			l.prune()
			for k := range l.sources {
				if len(l.sources) <= maxSources*9/10 {
					break
				}
				delete(l.sources, k)
			}
		}
		f = &failures{left: float64(l.limit.Burst), at: l.now()}
		l.sources[src] = f
	}
	l.refill(f)
	f.left = max(0, f.left-1)
}

func (l *FailureLimiter) refill(f *failures) {
	now := l.now()
	if d := now.Sub(f.at); d > 0 {
		f.left = min(float64(l.limit.Burst), f.left+float64(d)/float64(l.limit.Every))
		f.at = now
	}
}

// prune forgets the sources that have recovered completely.
func (l *FailureLimiter) prune() {
	for k, f := range l.sources {
		l.refill(f)
		if f.left >= float64(l.limit.Burst) {
			delete(l.sources, k)
		}
	}
}

// Allow reports whether r's source may try to authenticate now and, if
// not, how long until it may: for front ends other than the signed APIs
// (the Universal Prompt's client assertions) that share the limiter.
func (l *FailureLimiter) Allow(r *http.Request) (bool, time.Duration) {
	return l.allow(sourceKey(r.RemoteAddr))
}

// Fail counts one failed authentication by r's source.
func (l *FailureLimiter) Fail(r *http.Request) { l.fail(sourceKey(r.RemoteAddr)) }
