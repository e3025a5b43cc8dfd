package mfa

import (
	"context"
	"time"
)

// SigningKey is one of the OIDC provider's token signing keys. The newest
// key whose NotAfter is still ahead signs; every key is published (JWKS)
// until Expires, which is at least NotAfter plus the longest lifetime of
// a token it signed, so that tokens signed just before a rotation keep
// verifying.
type SigningKey struct {
	ID        string // the JWK kid
	Algorithm string // "ES256"
	Private   Secret // PKCS #8 DER of the private key; sealed at rest
	Created   time.Time
	NotAfter  time.Time // signs nothing after this
	Expires   time.Time // published until this
}

// SigningKeyStore keeps the OIDC provider's signing keys.
type SigningKeyStore interface {
	// CreateSigningKey stores a new key. Conflict for an ID already
	// stored; Invalid for an empty ID, Algorithm or Private, or times out
	// of order (Created <= NotAfter <= Expires).
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns the keys whose Expires is after now, the
	// newest (Created, then ID) first.
	ListSigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error)
	// RetireSigningKeys moves the NotAfter of every key still signing at
	// now (NotAfter after now) created before created to now, and its
	// Expires to at most now+overlap (never later than it was), returning
	// how many changed: a rotation, after which the newest key signs.
	RetireSigningKeys(ctx context.Context, created, now time.Time, overlap time.Duration) (int, error)
	// DeleteExpiredSigningKeys deletes keys whose Expires is at or before
	// now (the reaper), returning how many.
	DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error)
}

// CheckSigningKey reports an Invalid error for a key CreateSigningKey
// refuses.
func CheckSigningKey(k SigningKey) error {
	switch {
	case k.ID == "" || len(k.ID) > 64:
		return InvalidField("id", "a signing key needs an id of 1 to 64 characters")
	case k.Algorithm == "":
		return InvalidField("algorithm", "required")
	case len(k.Private) == 0:
		return InvalidField("private", "required")
	case k.Created.IsZero() || k.NotAfter.Before(k.Created) || k.Expires.Before(k.NotAfter):
		return InvalidField("expires", "a signing key needs created <= not_after <= expires")
	}
	return nil
}
