package authflow

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
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
// integration does not remember devices. With a txid (a push or call that
// ended in allow, answered through auth_status) the token is the
// transaction's own (TrustedTokenFor), stored under an id derived from
// txid: every poll of the transaction, on any node, gets the same token
// and stores one remembered device. Without one (a passcode) it is random.
func (s *Service) rememberDevice(ctx context.Context, in mfa.Integration, userID, txid string) (string, error) {
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
	var tok, id string
	if txid != "" {
		t, err := s.store.TrustedTokenFor(ctx, txid)
		if err != nil {
			return "", fmt.Errorf("remember device: %w", err)
		}
		tok, id = string(t), txTrustedDeviceID(txid)
	} else {
		var raw [trustedTokenBytes]byte
		if _, err := io.ReadFull(s.rand, raw[:]); err != nil {
			return "", fmt.Errorf("remember device: %w", err)
		}
		tok = base64.RawURLEncoding.EncodeToString(raw[:])
		if id, err = mfa.NewID(mfa.PrefixTrustedDevice, s.rand); err != nil {
			return "", err
		}
	}
	now := s.now()
	err = s.store.CreateTrustedDevice(ctx, mfa.TrustedDevice{ID: id, Token: mfa.Passcode(tok), UserID: userID,
		IKey: in.IKey, Created: now, Expires: now.Add(time.Duration(days) * 24 * time.Hour)})
	switch {
	case err == nil:
	case txid != "" && errors.Is(err, mfa.ErrConflict):
		// An earlier poll of this transaction stored it already.
	default:
		return "", fmt.Errorf("remember device: %w", err)
	}
	return tok, nil
}

// trustedTokenGrace is how long after a push or call ended auth_status
// still hands out its remembered-device token. Clients poll as it ends;
// a poll much later (say, after an administrator revoked the user's
// remembered devices) gets none.
const trustedTokenGrace = 2 * time.Minute

// txTrustedDeviceID is the id of the remembered device a transaction's
// token is stored under: derived from txid (not secret), in the shape of
// every id.
func txTrustedDeviceID(txid string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte("twostep trusted device id\x00" + txid))
	var b strings.Builder
	b.WriteString(mfa.PrefixTrustedDevice)
	for _, c := range sum[:18] {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
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
