package mfatest

import (
	"context"
	"sync"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Notifier is a recording mfa.Notifier for service tests: it keeps every
// message it is given, or fails every send while Fail is set.
type Notifier struct {
	mu   sync.Mutex
	msgs []mfa.Message
	fail error
}

var _ mfa.Notifier = (*Notifier)(nil)

// Send records m, or returns the failure set with SetFail.
func (n *Notifier) Send(_ context.Context, m mfa.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.msgs = append(n.msgs, m)
	return nil
}

// SetFail makes every later Send fail with err (nil restores sending).
func (n *Notifier) SetFail(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail = err
}

// Messages returns a copy of the messages sent so far, in order.
func (n *Notifier) Messages() []mfa.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]mfa.Message(nil), n.msgs...)
}
