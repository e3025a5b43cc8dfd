package authflow

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Remembered devices (DUO-WIRE 7.7): after a successful second factor
// through an integration whose TrustedDeviceDays > 0, the answer carries a
// trusted_device_token; preauth with that token for the same user and
// integration answers allow until it expires (the integration's days,
// capped by Settings.TrustedDeviceMaxDays) or an administrator revokes the
// user's remembered devices. Only a keyed hash of the token is stored.

// MsgRemembered is preauth's status for a remembered device.
const MsgRemembered = "Remembered device. Logging you in..."

// trustedTokenBytes is the random length of a remembered-device token.
const trustedTokenBytes = 32

// rememberDevice issues a token for the user through in, or "" when the
// integration does not remember devices.
func (s *Service) rememberDevice(ctx context.Context, in mfa.Integration, userID string) (string, error) {
	days := in.TrustedDeviceDays
	if days <= 0 || userID == "" {
		return "", nil
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return "", fmt.Errorf("remember device: %w", err)
	}
	if st.TrustedDeviceMaxDays > 0 && days > st.TrustedDeviceMaxDays {
		days = st.TrustedDeviceMaxDays
	}
	var raw [trustedTokenBytes]byte
	if _, err := io.ReadFull(s.rand, raw[:]); err != nil {
		return "", fmt.Errorf("remember device: %w", err)
	}
	id, err := mfa.NewID(mfa.PrefixTrustedDevice, s.rand)
	if err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	if err := s.store.CreateTrustedDevice(ctx, mfa.TrustedDevice{ID: id, Token: mfa.Passcode(tok), UserID: userID,
		IKey: in.IKey, Created: now, Expires: now.Add(time.Duration(days) * 24 * time.Hour)}); err != nil {
		return "", fmt.Errorf("remember device: %w", err)
	}
	return tok, nil
}

// remembered reports whether token is a valid remembered device of the
// user for in.
func (s *Service) remembered(ctx context.Context, in mfa.Integration, userID, token string) (bool, error) {
	if token == "" || in.TrustedDeviceDays <= 0 || len(token) > 200 {
		return false, nil
	}
	_, err := s.store.CheckTrustedDevice(ctx, mfa.Passcode(token), userID, in.IKey, s.now())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, mfa.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("check trusted device: %w", err)
}
