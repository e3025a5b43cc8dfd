package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// PortalIntegration returns the built-in "Self-service portal"
// application (mfa.PortalIKey), creating it on first use: portal logins
// are login requests of this integration, so the authentication log names
// the portal like any application. It is a websdk integration that turns
// away unknown users (the portal enrols users itself); an administrator
// may rename it or restrict it to groups like any other, and if it is
// deleted the next portal login creates it again.
func (s *Service) PortalIntegration(ctx context.Context) (mfa.Integration, error) {
	in, err := s.store.GetIntegration(ctx, mfa.PortalIKey)
	if err == nil || !errors.Is(err, mfa.ErrNotFound) {
		return in, err
	}
	in, err = s.newIntegration(mfa.PortalName, mfa.IntegrationWebSDK)
	if err != nil {
		return mfa.Integration{}, fmt.Errorf("portal integration: %w", err)
	}
	in.IKey, in.EnrollPolicy = mfa.PortalIKey, mfa.EnrollPolicyDeny
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateIntegration(ctx, in); err != nil {
			return err
		}
		return s.logChange(ctx, SystemActor(), "integration_create", "integration", in.IKey,
			describe(map[string]any{"name": in.Name, "type": in.Type, "built_in": true}))
	})
	if errors.Is(err, mfa.ErrConflict) { // another node created it meanwhile
		return s.store.GetIntegration(ctx, mfa.PortalIKey)
	}
	if err != nil {
		return mfa.Integration{}, fmt.Errorf("portal integration: %w", err)
	}
	return in, nil
}
