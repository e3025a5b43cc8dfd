package mfa

import (
	"context"
	"time"
)

// TrustedDevice is a remembered device: after a successful authentication
// through an integration whose TrustedDeviceDays > 0, the client gets a
// trusted_device_token; passing it back to preauth for the same user and
// integration answers allow until it expires or an administrator revokes
// the user's remembered devices. Only a keyed hash of the token is stored.
type TrustedDevice struct {
	ID      string
	Token   Passcode // plaintext; only on creation, never read back
	UserID  string
	IKey    string
	Created time.Time
	Expires time.Time
}

// TrustedDeviceStore stores remembered devices as keyed token hashes.
type TrustedDeviceStore interface {
	// CreateTrustedDevice stores d. NotFound if the user does not exist;
	// Invalid for an empty Token or a zero Expires.
	CreateTrustedDevice(ctx context.Context, d TrustedDevice) error
	// CheckTrustedDevice finds the unexpired remembered device with this
	// token for the user and integration (Token empty in the result).
	// NotFound for an unknown, expired or revoked token, or one issued to
	// another user or integration.
	CheckTrustedDevice(ctx context.Context, token Passcode, userID, ikey string, now time.Time) (TrustedDevice, error)
	// DeleteTrustedDevices revokes every remembered device of the user,
	// returning how many there were.
	DeleteTrustedDevices(ctx context.Context, userID string) (int, error)
	// DeleteExpiredTrustedDevices deletes devices that expired at or before
	// now (the reaper).
	DeleteExpiredTrustedDevices(ctx context.Context, now time.Time) (int, error)
	// TrustedTokenFor returns the remembered-device token of the
	// transaction txid: derived from txid under a key only the servers
	// hold, so every auth_status poll of one transaction, on every node,
	// gets the same token, and nobody without the key can compute it.
	TrustedTokenFor(ctx context.Context, txid string) (Passcode, error)
}
