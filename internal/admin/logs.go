package admin

import (
	"context"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Log page limits.
const (
	MaxAuthLogLimit = 1000
	MaxV1LogRecords = 1000
)

// AuthLog lists authentication log records matching f, and the total
// matching f ignoring its cursor and limit. MinTime is required and must
// not be after MaxTime; Limit must be 1..MaxAuthLogLimit.
func (s *Service) AuthLog(ctx context.Context, a Actor, f mfa.AuthLogFilter) ([]mfa.AuthLogEntry, int, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, 0, err
	}
	if f.MinTime.IsZero() {
		return nil, 0, mfa.InvalidField("mintime", "required")
	}
	if !f.MaxTime.IsZero() && f.MaxTime.Before(f.MinTime) {
		return nil, 0, mfa.InvalidField("maxtime", "must not be before mintime")
	}
	if f.Limit < 1 || f.Limit > MaxAuthLogLimit {
		return nil, 0, mfa.InvalidField("limit", fmt.Sprintf("must be between 1 and %d", MaxAuthLogLimit))
	}
	entries, total, err := s.store.ListAuthLog(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("auth log: %w", err)
	}
	return entries, total, nil
}

// AdminLog lists administrator log records from f.MinTime on, oldest
// first, at most MaxV1LogRecords.
func (s *Service) AdminLog(ctx context.Context, a Actor, f mfa.LogFilter) ([]mfa.AdminLogEntry, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > MaxV1LogRecords {
		f.Limit = MaxV1LogRecords
	}
	out, err := s.store.ListAdminLog(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("admin log: %w", err)
	}
	return out, nil
}

// TelephonyLog lists telephony log records from f.MinTime on, oldest
// first, at most MaxV1LogRecords.
func (s *Service) TelephonyLog(ctx context.Context, a Actor, f mfa.LogFilter) ([]mfa.TelephonyLogEntry, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > MaxV1LogRecords {
		f.Limit = MaxV1LogRecords
	}
	out, err := s.store.ListTelephonyLog(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("telephony log: %w", err)
	}
	return out, nil
}
