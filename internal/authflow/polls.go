package authflow

import (
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Long polls hold a connection and a goroutine each. So that one app
// install, or one integration, cannot take all of a node's, each node caps
// the polls waiting at once: per install for GET
// /push/v2/device/transactions?wait=N and per integration for
// auth_status. The caps are in memory per node: they protect that node's
// resources, not a security decision, so they need not be shared.

// Default caps on waiting long polls, per node.
const (
	// DefaultInstallPolls: an app needs one poll; a few cover a restart
	// or a second screen.
	DefaultInstallPolls = 4
	// DefaultIntegrationPolls: twice the load benchmark's 5,000 waiting
	// polls on one integration.
	DefaultIntegrationPolls = 10000
	// PollRetryAfter is the Retry-After of a refused poll.
	PollRetryAfter = 5 * time.Second
)

// Errors of a long poll over its cap (RateLimited: 429 with Retry-After).
var (
	ErrInstallPolls = mfa.RetryLater("too many long polls are waiting for this device; close one or retry later", PollRetryAfter)
	ErrStatusPolls  = mfa.RetryLater("too many auth_status polls are waiting for this integration; retry later", PollRetryAfter)
)

// WithPollLimits sets the caps on waiting long polls per app install and
// per integration (auth_status); 0 leaves a cap at its default.
func WithPollLimits(perInstall, perIntegration int) Option {
	return func(s *Service) {
		if perInstall > 0 {
			s.installPolls.max = perInstall
		}
		if perIntegration > 0 {
			s.statusPolls.max = perIntegration
		}
	}
}

// pollGate counts the polls waiting per key. Its map holds only keys with
// a poll waiting, so its size is bounded by the polls in flight.
type pollGate struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func newPollGate(max int) *pollGate { return &pollGate{max: max, n: map[string]int{}} }

// enter takes a slot for key, reporting false when key has max already.
func (g *pollGate) enter(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n[key] >= g.max {
		return false
	}
	g.n[key]++
	return true
}

// leave gives back a slot enter took.
func (g *pollGate) leave(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n[key] <= 1 {
		delete(g.n, key)
		return
	}
	g.n[key]--
}

// TouchEvery is how often at most an install's last contact is written:
// a signed device request within TouchEvery of the stored LastSeen writes
// nothing, so a polling app costs no write per request.
const TouchEvery = time.Minute
