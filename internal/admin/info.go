package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Account information (Duo's /admin/v1/info/*): counts for reporting
// scripts. Reading it needs ReadInfo (adminapi_info for an integration).

// Summary counts the account's objects.
type Summary struct {
	Admins       int
	Integrations int
	Users        int
}

// Summary returns the number of administrators, integrations and users.
func (s *Service) Summary(ctx context.Context, a Actor) (Summary, error) {
	if err := s.authorize(ctx, a, ReadInfo); err != nil {
		return Summary{}, err
	}
	var sum Summary
	var err error
	one := mfa.Page{Limit: 1}
	if _, sum.Admins, err = s.store.ListAdmins(ctx, one); err != nil {
		return Summary{}, fmt.Errorf("summary: %w", err)
	}
	if _, sum.Integrations, err = s.store.ListIntegrations(ctx, one); err != nil {
		return Summary{}, fmt.Errorf("summary: %w", err)
	}
	if _, sum.Users, err = s.store.ListUsers(ctx, mfa.UserFilter{Page: one}); err != nil {
		return Summary{}, fmt.Errorf("summary: %w", err)
	}
	return sum, nil
}

// infoPage is how many log records an info count reads at a time.
const infoPage = 1000

// TelephonyCreditsUsed sums the credits of the telephony log records
// between min and max (inclusive).
func (s *Service) TelephonyCreditsUsed(ctx context.Context, a Actor, min, max time.Time) (int, error) {
	if err := s.authorize(ctx, a, ReadInfo); err != nil {
		return 0, err
	}
	used := 0
	f := mfa.LogFilter{MinTime: min, MaxTime: max, Limit: infoPage}
	for {
		entries, err := s.store.ListTelephonyLog(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("telephony credits: %w", err)
		}
		for _, e := range entries {
			used += e.Credits
			f.AfterID = e.ID
		}
		if len(entries) < infoPage {
			return used, nil
		}
	}
}

// AuthAttempts counts the authentication attempts between min and max
// (inclusive) by Duo's result: SUCCESS, FAILURE (twostep's failure and
// denied), FRAUD and ERROR; attempts counts records, users the distinct
// users with at least one attempt of that result. Enrollments are not
// attempts.
func (s *Service) AuthAttempts(ctx context.Context, a Actor, min, max time.Time) (attempts, users map[string]int, err error) {
	if err := s.authorize(ctx, a, ReadInfo); err != nil {
		return nil, nil, err
	}
	attempts = map[string]int{"SUCCESS": 0, "FAILURE": 0, "FRAUD": 0, "ERROR": 0}
	users = map[string]int{"SUCCESS": 0, "FAILURE": 0, "FRAUD": 0, "ERROR": 0}
	seen := map[string]bool{}
	f := mfa.AuthLogFilter{MinTime: min, MaxTime: max, EventTypes: []string{"authentication"}, Limit: infoPage}
	for {
		entries, _, err := s.store.ListAuthLog(ctx, f)
		if err != nil {
			return nil, nil, fmt.Errorf("authentication attempts: %w", err)
		}
		for _, e := range entries {
			r := duoResult(e.Result)
			attempts[r]++
			if e.UserID != "" && !seen[r+"\x00"+e.UserID] {
				seen[r+"\x00"+e.UserID] = true
				users[r]++
			}
			f.AfterTime, f.AfterTxID = e.Time, e.TxID
		}
		if len(entries) < infoPage {
			return attempts, users, nil
		}
	}
}

// duoResult is the result name Duo's account information uses.
func duoResult(r mfa.AuthResult) string {
	switch r {
	case mfa.ResultSuccess:
		return "SUCCESS"
	case mfa.ResultFraud:
		return "FRAUD"
	case mfa.ResultError:
		return "ERROR"
	}
	return "FAILURE" // failure, denied
}
