package admin

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/password"
)

// ChangeOwnPassword sets the signed-in administrator's own password (the
// console's "change your password", and the forced change of the
// bootstrap Owner's generated one at first sign-in). Any role may change
// its own password and only its own: the actor must be an administrator.
// The new password must be MinPasswordLen characters or more and differ
// from the current one (Invalid, field "new_password");
// PasswordChangeRequired is cleared and the change is admin-logged, in
// one transaction. Hashing happens before it.
func (s *Service) ChangeOwnPassword(ctx context.Context, a Actor, newPassword mfa.Passcode) error {
	if a.Kind != ActorAdmin || a.ID == "" {
		return mfa.E(mfa.Denied, "only an administrator can change their own password")
	}
	pw := string(newPassword)
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return mfa.InvalidField("new_password", fmt.Sprintf("Choose a password of at least %d characters.", MinPasswordLen))
	case len(pw) > maxPasswordLen:
		return mfa.InvalidField("new_password", fmt.Sprintf("A password is at most %d bytes.", maxPasswordLen))
	}
	ad, err := s.store.GetAdmin(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("change own password: %w", err)
	}
	if same, _ := password.Verify(pw, ad.PasswordHash); same {
		return mfa.InvalidField("new_password", "Choose a password different from the current one.")
	}
	hash, err := s.hasher.Hash(pw, s.rand)
	if err != nil {
		return fmt.Errorf("change own password: %w", err)
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		ad, err := s.store.GetAdmin(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("change own password: %w", err)
		}
		forced := ad.PasswordChangeRequired
		ad.PasswordHash, ad.PasswordChangeRequired = hash, false
		if err := s.store.UpdateAdmin(ctx, ad); err != nil {
			return fmt.Errorf("change own password: %w", err)
		}
		return s.logChange(ctx, a, "admin_password_change", "admin", ad.ID, describe(map[string]any{"email": ad.Email, "required": forced}))
	})
}
