package admin

import (
	"context"
	"fmt"
)

// ForgetTrustedDevices revokes every remembered device of the user (the
// trusted_device_tokens preauth would answer allow for), so that each of
// the user's next logins asks for the second step again, and returns how
// many there were. It needs WriteDevices, as resetting a user's devices
// does (Help Desk may). An unknown user is NotFound.
func (s *Service) ForgetTrustedDevices(ctx context.Context, a Actor, userID string) (int, error) {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return 0, err
	}
	var n int
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		u, err := s.store.GetUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("forget trusted devices: %w", err)
		}
		if n, err = s.store.DeleteTrustedDevices(ctx, u.ID); err != nil {
			return fmt.Errorf("forget trusted devices: %w", err)
		}
		desc := map[string]any{"username": u.Username, "deleted": n}
		return s.logChange(ctx, a, "user_forget_trusted_devices", "user", u.ID, describe(desc))
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
