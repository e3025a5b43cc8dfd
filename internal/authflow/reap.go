package authflow

import (
	"context"
	"fmt"
)

// ReapTransactions ends pending transactions whose time is up (deny /
// timeout, with their auth log record: waiting polls do this too, but a
// client may have gone away), then deletes finished transactions whose
// time is up (the completed answers clients poll for), expired
// remembered devices, durable rate-limit counters whose window ended and
// expired claims of used request signatures.
// The server runs it periodically; it returns how many transactions it
// deleted.
func (s *Service) ReapTransactions(ctx context.Context) (int, error) {
	if _, err := s.ExpireTransactions(ctx); err != nil {
		return 0, fmt.Errorf("reap transactions: %w", err)
	}
	n, err := s.store.DeleteFinishedTransactions(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("reap transactions: %w", err)
	}
	if _, err := s.store.DeleteExpiredTrustedDevices(ctx, s.now()); err != nil {
		return n, fmt.Errorf("reap remembered devices: %w", err)
	}
	// Every node reaps the counters, whether or not it counts durable
	// limits itself: others sharing the database may.
	if _, err := s.store.DeleteExpiredRateLimits(ctx, s.now()); err != nil {
		return n, fmt.Errorf("reap rate limits: %w", err)
	}
	if _, err := s.store.DeleteExpiredSignatures(ctx, s.now()); err != nil {
		return n, fmt.Errorf("reap used signatures: %w", err)
	}
	return n, nil
}
