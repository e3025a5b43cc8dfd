package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// An administrator's own security keys, a second factor for the console
// sign-in besides their TOTP authenticator. The ceremony is verified by
// authflow (which holds the WebAuthn verifier); storing and removing a
// key are changes of the administrator's own account, each admin-logged
// here in one transaction with the change. Only an administrator acts on
// their own keys, and on nobody else's.

// MaxAdminKeys bounds an administrator's security keys.
const MaxAdminKeys = mfa.MaxWebAuthnPerUser

func ownKeysActor(a Actor) error {
	if a.Kind != ActorAdmin || a.ID == "" {
		return mfa.E(mfa.Denied, "only an administrator has their own security keys")
	}
	return nil
}

// OwnKeys lists the signed-in administrator's security keys.
func (s *Service) OwnKeys(ctx context.Context, a Actor) ([]mfa.WebAuthnCredential, error) {
	if err := ownKeysActor(a); err != nil {
		return nil, err
	}
	ks, err := s.store.AdminWebAuthnCredentials(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("own keys: %w", err)
	}
	return ks, nil
}

// AddOwnKey stores c, a verified credential (authflow's
// FinishAdminKeyRegistration), as a security key of the administrator a,
// named c.Name, and admin-logs it. Invalid (field "name") for a bad name
// or when the administrator has MaxAdminKeys already; Invalid (field
// "credential") when the key is already registered.
func (s *Service) AddOwnKey(ctx context.Context, a Actor, c mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
	if err := ownKeysActor(a); err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	c.Name = strings.TrimSpace(c.Name)
	if err := mfa.CheckWebAuthnName(c.Name); err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	id, err := mfa.NewID(mfa.PrefixWebAuthn, s.rand)
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	c.ID, c.UserID, c.Created, c.Cloned = id, a.ID, s.now(), false
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		// Locked, so that two keys added at once cannot both be the
		// MaxAdminKeys-th.
		if err := s.store.LockAdmin(ctx, a.ID); err != nil {
			return err
		}
		have, err := s.store.AdminWebAuthnCredentials(ctx, a.ID)
		if err != nil {
			return err
		}
		if len(have) >= MaxAdminKeys {
			return mfa.InvalidField("name", fmt.Sprintf("You already have %d security keys, the most an administrator can have. Remove one first.", len(have)))
		}
		if err := s.store.CreateAdminWebAuthnCredential(ctx, c); err != nil {
			return err
		}
		return s.logChange(ctx, a, "admin_webauthn_add", "admin", a.ID, describe(map[string]any{"email": a.Name, "key": c.ID, "name": c.Name}))
	})
	if errors.Is(err, mfa.ErrConflict) {
		return mfa.WebAuthnCredential{}, mfa.InvalidField("credential", "This security key is already registered.")
	}
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	return c, nil
}

// RemoveOwnKey removes the administrator's own key id, admin-logged;
// NotFound for anyone else's.
func (s *Service) RemoveOwnKey(ctx context.Context, a Actor, id string) error {
	if err := ownKeysActor(a); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		have, err := s.store.AdminWebAuthnCredentials(ctx, a.ID)
		if err != nil {
			return err
		}
		name := ""
		for _, k := range have {
			if k.ID == id {
				name = k.Name
			}
		}
		if name == "" {
			return mfa.NotFoundf("That security key is not one of yours, or it was removed.")
		}
		if err := s.store.DeleteAdminWebAuthnCredential(ctx, a.ID, id); err != nil {
			return err
		}
		return s.logChange(ctx, a, "admin_webauthn_remove", "admin", a.ID, describe(map[string]any{"email": a.Name, "key": id, "name": name}))
	})
}
