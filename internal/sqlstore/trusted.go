package sqlstore

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Remembered devices are stored only as keyed hashes of their tokens
// (codeHash with purpose hashTrusted), so checking one is a single indexed
// lookup on trusted_devices.token_hash.

var _ mfa.TrustedDeviceStore = (*Store)(nil)

const trustedCols = `id, user_id, ikey, created, expires`

func scanTrusted(r rowScanner) (mfa.TrustedDevice, error) {
	var d mfa.TrustedDevice
	err := r.Scan(&d.ID, &d.UserID, &d.IKey, scanTime{&d.Created}, scanTime{&d.Expires})
	return d, err
}

// errUnknownTrustedDevice is the one answer to a token that does not
// vouch for the user and integration, whatever the reason.
func errUnknownTrustedDevice() error { return notFoundErr("unknown remembered device") }

// CreateTrustedDevice stores d with its token's keyed hash. An empty Token
// or a zero Expires is Invalid; an unknown user is NotFound; an id already
// stored is Conflict.
func (s *Store) CreateTrustedDevice(ctx context.Context, d mfa.TrustedDevice) error {
	const op = "create trusted device"
	if d.Token == "" {
		return mfa.InvalidField("token", "a remembered device needs a token")
	}
	if d.Expires.IsZero() {
		return mfa.InvalidField("expires", "a remembered device must expire")
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return err
	}
	_, err = s.writer().exec(ctx, `INSERT INTO trusted_devices (id, token_hash, user_id, ikey, created, expires)
		VALUES (?, ?, ?, ?, ?, ?)`, d.ID, codeHash(key, hashTrusted, d.Token), d.UserID, d.IKey, d.Created, d.Expires)
	return s.dbErr(ctx, op, err, onFK(mfa.NotFound, "user not found"))
}

// CheckTrustedDevice finds the unexpired remembered device with this token
// of the user and integration (Token empty). Anything else is the same
// NotFound.
func (s *Store) CheckTrustedDevice(ctx context.Context, token mfa.Passcode, userID, ikey string, now time.Time) (mfa.TrustedDevice, error) {
	const op = "check trusted device"
	if token == "" {
		return mfa.TrustedDevice{}, errUnknownTrustedDevice()
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return mfa.TrustedDevice{}, err
	}
	d, err := scanTrusted(s.reader().row(ctx, `SELECT `+trustedCols+` FROM trusted_devices
		WHERE token_hash = ? AND user_id = ? AND ikey = ? AND expires > ? ORDER BY expires DESC, id LIMIT 1`,
		codeHash(key, hashTrusted, token), userID, ikey, now))
	if isNoRows(err) {
		return mfa.TrustedDevice{}, errUnknownTrustedDevice()
	}
	if err != nil {
		return mfa.TrustedDevice{}, s.dbErr(ctx, op, err)
	}
	return d, nil
}

// DeleteTrustedDevices revokes every remembered device of the user,
// returning how many there were.
func (s *Store) DeleteTrustedDevices(ctx context.Context, userID string) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM trusted_devices WHERE user_id = ?`, userID)
	if err != nil {
		return 0, s.dbErr(ctx, "delete trusted devices", err)
	}
	return int(n), nil
}

// DeleteExpiredTrustedDevices deletes the devices that expired at or
// before now, returning how many.
func (s *Store) DeleteExpiredTrustedDevices(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM trusted_devices WHERE expires <= ?`, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete expired trusted devices", err)
	}
	return int(n), nil
}

// TrustedTokenFor derives the transaction's remembered-device token: the
// keyed hash of txid with its own purpose (hashTrustedToken), under the
// code key every node shares.
func (s *Store) TrustedTokenFor(ctx context.Context, txid string) (mfa.Passcode, error) {
	if txid == "" {
		return "", mfa.InvalidField("txid", "required")
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return "", err
	}
	return mfa.Passcode(base64.RawURLEncoding.EncodeToString(codeHash(key, hashTrustedToken, mfa.Passcode(txid)))), nil
}
