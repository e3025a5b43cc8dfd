package mfa

import "context"

// Events tell waiting requests that something they wait for may have
// changed: an auth_status long poll waits on its transaction, an
// authenticator's long poll waits on its phone. An event carries no data
// and is only a hint; a waiter always reads the store again after waking
// (and after its own timeout), so no correctness depends on delivery. On
// PostgreSQL events cross nodes by LISTEN/NOTIFY, sent in the same database
// transaction as the change so they arrive after its commit; on SQLite
// (one process) they stay in process.
type Events interface {
	// Subscribe returns a channel that receives a value (without blocking
	// the publisher: capacity 1, extra events coalesce) each time topic is
	// published after Subscribe returns, and a cancel function that
	// releases the subscription. A backend that lost its event source (a
	// dropped LISTEN connection) signals every subscriber, so waiters
	// re-check rather than miss a change.
	Subscribe(topic string) (<-chan struct{}, func())
	// Publish signals topic's subscribers on every node. Stores publish the
	// topics below themselves; Publish is for other changes.
	Publish(ctx context.Context, topic string) error
}

// Event topics. Every store publishes:
//   - TopicTransaction(id) when CreateTransaction, SetTransactionStatus or
//     CompleteTransaction changes transaction id;
//   - TopicPhone(phoneID) when a transaction with that PhoneID is created
//     or completed (the phone's pending list changed).
func TopicTransaction(id string) string { return "tx:" + id }

// TopicPhone is the topic of a phone's pending transactions.
func TopicPhone(phoneID string) string { return "phone:" + phoneID }
