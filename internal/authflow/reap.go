package authflow

import (
	"context"
	"fmt"
)

// ReapTransactions deletes finished transactions whose time is up (the
// completed answers legacy clients poll for, and ended pushes); the server
// runs it periodically.
func (s *Service) ReapTransactions(ctx context.Context) (int, error) {
	n, err := s.store.DeleteFinishedTransactions(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("reap transactions: %w", err)
	}
	return n, nil
}
