package radiusd

import (
	"crypto/sha256"
	"net/netip"
	"sync"
	"time"
)

// answerCache remembers each request's answer for a while, keyed by
// source address, identifier and request authenticator (RFC 5080 2.2.2),
// so that a retransmission is answered with the same bytes and decided
// only once. It is per node: a NAS resends to the address it sent to.
type answerCache struct {
	mu      sync.Mutex
	window  time.Duration
	max     int
	entries map[[32]byte]*cached
	order   []cacheTick // finished entries, oldest first, from head on
	head    int
}

type cached struct {
	answer []byte // nil while in flight
}

type cacheTick struct {
	key [32]byte
	at  time.Time
}

type cacheState int

const (
	cacheNew cacheState = iota
	cacheInFlight
	cacheDone
)

func newAnswerCache(window time.Duration, max int) *answerCache {
	return &answerCache{window: window, max: max, entries: make(map[[32]byte]*cached)}
}

// cacheKey hashes the source and the request's identifier and
// authenticator.
func cacheKey(src netip.AddrPort, pkt []byte) [32]byte {
	h := sha256.New()
	b, _ := src.MarshalBinary()
	h.Write(b)
	h.Write(pkt[1:2])
	h.Write(pkt[4:20])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// begin looks key up: a finished answer is returned (cacheDone), a request
// still being decided reports cacheInFlight, and an unknown one is marked
// in flight (cacheNew): the caller must then call finish or abandon.
func (c *answerCache) begin(key [32]byte, now time.Time) ([]byte, cacheState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune(now)
	if e, ok := c.entries[key]; ok {
		if e.answer == nil {
			return nil, cacheInFlight
		}
		return e.answer, cacheDone
	}
	c.entries[key] = &cached{}
	return nil, cacheNew
}

func (c *answerCache) finish(key [32]byte, answer []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.answer = answer
		c.order = append(c.order, cacheTick{key, now})
	}
	c.prune(now)
}

func (c *answerCache) abandon(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.answer == nil {
		delete(c.entries, key)
	}
}

// prune forgets answers older than the window, and the oldest beyond max.
func (c *answerCache) prune(now time.Time) {
	for ; c.head < len(c.order); c.head++ {
		t := c.order[c.head]
		if now.Sub(t.at) < c.window && len(c.order)-c.head <= c.max {
			break
		}
		delete(c.entries, t.key)
	}
	// Compact once the forgotten prefix is the larger part.
	if c.head > 1024 && c.head > len(c.order)/2 {
		c.order = append(c.order[:0:0], c.order[c.head:]...)
		c.head = 0
	}
}
