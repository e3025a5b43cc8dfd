package authflow

import (
	"context"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Auth log words of a login a front end's first factor refused.
const (
	LogFactorFirstFactor    = "first_factor"
	ReasonFirstFactorDenied = "invalid_first_factor"
)

// DenyFirstFactor records a login refused by a front end's first factor
// (such as the RADIUS front end's upstream server rejecting the password)
// before any second factor was tried: one auth log record, deny, factor
// first_factor, reason invalid_first_factor. It counts no failure (the
// second factor was never tried) and changes nothing else. Errors: Invalid
// for a request without a user, store failures.
func (s *Service) DenyFirstFactor(ctx context.Context, req AuthRequest) error {
	if err := req.Who.check(); err != nil {
		return err
	}
	a, err := s.load(ctx, req.Who, mfa.AccountQuery{})
	if err != nil {
		return fmt.Errorf("deny first factor: %w", err)
	}
	d := &decision{s: s, req: req, a: a, factor: LogFactorFirstFactor}
	if _, err := d.write(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonFirstFactorDenied); err != nil {
		return fmt.Errorf("deny first factor: %w", err)
	}
	return nil
}
