package admin

import (
	"context"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Security keys and passkeys (WebAuthn credentials). Users register them
// themselves (authflow, the portal); administrators list and remove them.

// WebAuthnInfo is a credential with its user.
type WebAuthnInfo struct {
	Credential mfa.WebAuthnCredential
	User       mfa.User
}

func (s *Service) webauthnInfo(ctx context.Context, c mfa.WebAuthnCredential) (WebAuthnInfo, error) {
	u, err := s.store.GetUser(ctx, c.UserID)
	if err != nil {
		return WebAuthnInfo{}, fmt.Errorf("security key user: %w", err)
	}
	return WebAuthnInfo{Credential: c, User: u}, nil
}

// ListWebAuthn lists security keys matching f (one user's, or everyone's)
// with their users, and the total. An unknown user id is NotFound.
func (s *Service) ListWebAuthn(ctx context.Context, a Actor, f mfa.WebAuthnFilter) ([]WebAuthnInfo, int, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, 0, err
	}
	if f.UserID != "" {
		if _, err := s.store.GetUser(ctx, f.UserID); err != nil {
			return nil, 0, fmt.Errorf("list security keys: %w", err)
		}
	}
	creds, total, err := s.store.ListWebAuthnCredentials(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list security keys: %w", err)
	}
	out := make([]WebAuthnInfo, 0, len(creds))
	for _, c := range creds {
		wi, err := s.webauthnInfo(ctx, c)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, wi)
	}
	return out, total, nil
}

// GetWebAuthn returns one security key with its user.
func (s *Service) GetWebAuthn(ctx context.Context, a Actor, id string) (WebAuthnInfo, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return WebAuthnInfo{}, err
	}
	c, err := s.store.GetWebAuthnCredential(ctx, id)
	if err != nil {
		return WebAuthnInfo{}, fmt.Errorf("get security key: %w", err)
	}
	return s.webauthnInfo(ctx, c)
}

// DeleteWebAuthn removes a security key, with its admin log record.
func (s *Service) DeleteWebAuthn(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, DeleteDevices); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		c, err := s.store.GetWebAuthnCredential(ctx, id)
		if err != nil {
			return fmt.Errorf("delete security key: %w", err)
		}
		if err := s.store.DeleteWebAuthnCredential(ctx, id); err != nil {
			return fmt.Errorf("delete security key: %w", err)
		}
		return s.logChange(ctx, a, "webauthncredential_delete", "webauthncredential", id,
			changeDetails(map[string]any{"user_id": c.UserID, "name": c.Name, "cloned": c.Cloned}))
	})
}
