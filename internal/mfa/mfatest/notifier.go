package mfatest

import (
	"context"
	"sync"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Notifier is a recording mfa.Notifier for service tests: it keeps every
// message it is given, or fails every send while Fail is set.
type Notifier struct {
	mu      sync.Mutex
	msgs    []mfa.Message
	fail    error
	receipt func(n int, m mfa.Message) mfa.Receipt
}

var _ mfa.Deliverer = (*Notifier)(nil)

// Send records m, or returns the failure set with SetFail.
func (n *Notifier) Send(ctx context.Context, m mfa.Message) error {
	_, err := n.Deliver(ctx, m)
	return err
}

// Deliver is Send returning the receipt SetReceipt makes (none by
// default).
func (n *Notifier) Deliver(_ context.Context, m mfa.Message) (mfa.Receipt, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return mfa.Receipt{}, n.fail
	}
	n.msgs = append(n.msgs, m)
	if n.receipt == nil {
		return mfa.Receipt{}, nil
	}
	return n.receipt(len(n.msgs), m), nil
}

// SetReceipt makes every later delivery answer f(n, m), n counting the
// messages sent so far including m (nil: no receipt).
func (n *Notifier) SetReceipt(f func(n int, m mfa.Message) mfa.Receipt) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.receipt = f
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
