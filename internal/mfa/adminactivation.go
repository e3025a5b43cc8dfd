package mfa

import (
	"context"
	"time"
)

// AdminActivation is an invitation to become an administrator (Duo's
// "administrator activation link", POST /admin/v1/admins/activations): a
// link holding a single-use code; whoever opens it before it expires
// chooses a name and a password and becomes an administrator with Email
// and Role. Only a keyed hash of the code is stored.
type AdminActivation struct {
	ID        string
	Code      Passcode // set on create only; never read back
	Email     string
	Role      Role
	CreatedBy string // who issued it (administrator email or integration name)
	Created   time.Time
	Expires   time.Time
}

// AdminActivationStore keeps administrator activation links.
type AdminActivationStore interface {
	// CreateAdminActivation stores a new activation (Code and Expires
	// required: Invalid otherwise). An id or code already stored is
	// Conflict.
	CreateAdminActivation(ctx context.Context, a AdminActivation) error
	// ListAdminActivations lists the activations unexpired at now, oldest
	// first (Code empty).
	ListAdminActivations(ctx context.Context, now time.Time, p Page) ([]AdminActivation, int, error)
	// AdminActivationByCode returns the activation with this code if it is
	// unexpired at now (Code empty); NotFound otherwise, one answer for an
	// unknown, used or expired code.
	AdminActivationByCode(ctx context.Context, code Passcode, now time.Time) (AdminActivation, error)
	// DeleteAdminActivation deletes an activation; NotFound if unknown.
	DeleteAdminActivation(ctx context.Context, id string) error
	// RedeemAdminActivation spends the activation with this code,
	// unexpired at now, and creates ad with the activation's Email and
	// Role, in one transaction: of concurrent redeemers exactly one
	// wins; the others get NotFound. An email already used by an
	// administrator is Conflict (Field "email") and spends nothing.
	RedeemAdminActivation(ctx context.Context, code Passcode, now time.Time, ad Admin) (Admin, error)
}
