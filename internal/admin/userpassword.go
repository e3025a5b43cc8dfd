package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// SetUserPassword sets user id's twostep password (their first factor
// when twostep checks it: docs/first-factor.md) after checking it against
// the password policy (mfa.CheckPasswordPolicy: length, not the user's
// own name or email). The password is hashed (argon2id) before the write
// transaction, which stores the hash and the administrator-log record
// together; the log never holds the password. Unknown id: NotFound.
func (s *Service) SetUserPassword(ctx context.Context, a Actor, id string, pw mfa.Passcode) error {
	if err := s.authorize(ctx, a, UpdateUsers); err != nil {
		return err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return fmt.Errorf("set user password: %w", err)
	}
	if err := mfa.CheckPasswordPolicy(string(pw), u, s.minPasswordLen); err != nil {
		return err
	}
	hash, err := s.userHasher.Hash(string(pw), s.rand)
	if err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		// Read again inside the transaction: the profile the policy saw
		// must still be the user's (a rename in between is rare; a
		// deletion makes this NotFound).
		if _, err := s.store.GetUser(ctx, id); err != nil {
			return fmt.Errorf("set user password: %w", err)
		}
		if err := s.store.SetUserPassword(ctx, id, hash, s.now()); err != nil {
			return fmt.Errorf("set user password: %w", err)
		}
		return s.logChange(ctx, a, "user_password_set", "user", id, describe(map[string]any{"username": u.Username}))
	})
}

// ClearUserPassword removes user id's twostep password (they can then
// log in only through the directory, if one is configured). NotFound if
// the user has none.
func (s *Service) ClearUserPassword(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, UpdateUsers); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		u, err := s.store.GetUser(ctx, id)
		if err != nil {
			return fmt.Errorf("clear user password: %w", err)
		}
		if err := s.store.DeleteUserPassword(ctx, id); err != nil {
			if errors.Is(err, mfa.ErrNotFound) {
				return mfa.E(mfa.NotFound, "the user has no twostep password")
			}
			return fmt.Errorf("clear user password: %w", err)
		}
		return s.logChange(ctx, a, "user_password_clear", "user", id, describe(map[string]any{"username": u.Username}))
	})
}
