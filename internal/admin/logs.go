package admin

import (
	"context"
	"errors"
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

// AuthLogGroups returns, for each of userIDs, the names of the groups the
// user is in now (an unknown user: none), for the authentication log's
// user.groups. Reading it needs the log permission only: a log reader
// sees group names in the log, as in Duo, without being able to read users.
func (s *Service) AuthLogGroups(ctx context.Context, a Actor, userIDs []string) (map[string][]string, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(userIDs))
	for _, id := range userIDs {
		if _, done := out[id]; done || id == "" {
			continue
		}
		gs, err := s.store.UserGroups(ctx, id)
		if err != nil && !errors.Is(err, mfa.ErrNotFound) {
			return nil, fmt.Errorf("auth log groups: %w", err)
		}
		names := make([]string, 0, len(gs))
		for _, g := range gs {
			names = append(names, g.Name)
		}
		out[id] = names
	}
	return out, nil
}

// maxLogRead bounds one read of the administrator or telephony log: a page
// of at most 1000, plus one to tell whether more follow.
const maxLogRead = MaxV1LogRecords + 1

// AdminLog lists administrator log records matching f (in id order,
// reversed when f.Descending), at most 1001.
func (s *Service) AdminLog(ctx context.Context, a Actor, f mfa.LogFilter) ([]mfa.AdminLogEntry, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > maxLogRead {
		f.Limit = maxLogRead
	}
	out, err := s.store.ListAdminLog(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("admin log: %w", err)
	}
	return out, nil
}

// TelephonyLog lists telephony log records matching f (in id order,
// reversed when f.Descending), at most 1001.
func (s *Service) TelephonyLog(ctx context.Context, a Actor, f mfa.LogFilter) ([]mfa.TelephonyLogEntry, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > maxLogRead {
		f.Limit = maxLogRead
	}
	out, err := s.store.ListTelephonyLog(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("telephony log: %w", err)
	}
	return out, nil
}

// PhoneIDsByNumber returns the ids of the phones with the given numbers
// (normalized to E.164, as stored), for the authentication log's
// phone_numbers filter: it needs only the right to read logs.
func (s *Service) PhoneIDsByNumber(ctx context.Context, a Actor, numbers []string) ([]string, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range numbers {
		num, err := NormalizeNumber("phone_numbers", n)
		if err != nil {
			return nil, err
		}
		for p := (mfa.Page{Limit: 500}); ; p.Offset += p.Limit {
			phones, total, err := s.store.ListPhones(ctx, mfa.PhoneFilter{Number: num, Page: p})
			if err != nil {
				return nil, fmt.Errorf("phones by number: %w", err)
			}
			for _, ph := range phones {
				ids = append(ids, ph.ID)
			}
			if len(phones) == 0 || p.Offset+len(phones) >= total {
				break
			}
		}
	}
	return ids, nil
}
