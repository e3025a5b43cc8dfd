package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Administrators' security keys (migration 0018): the users' key columns
// in their own table, which references admins. UserID of a credential is
// the administrator's id.

const adminWebauthnCols = `w.id, w.admin_id, w.name, w.credential_id, w.public_key, w.sign_count, w.aaguid, w.transports,
	w.attachment, w.backup_eligible, w.backup_state, w.cloned, w.created, w.last_used`

// CreateAdminWebAuthnCredential stores c for administrator c.UserID.
func (s *Store) CreateAdminWebAuthnCredential(ctx context.Context, c mfa.WebAuthnCredential) error {
	return s.insertWebAuthnCredential(ctx, "create admin webauthn credential", "admin_webauthn_credentials", "admin_id",
		"administrator not found", c)
}

// AdminWebAuthnCredentials lists the administrator's keys in creation
// order.
func (s *Store) AdminWebAuthnCredentials(ctx context.Context, adminID string) ([]mfa.WebAuthnCredential, error) {
	return queryAll(ctx, s, s.reader(), "admin webauthn credentials", `SELECT `+adminWebauthnCols+` FROM admin_webauthn_credentials w
		WHERE w.admin_id = ? ORDER BY w.created, w.id`, []any{adminID}, scanWebAuthn)
}

// DeleteAdminWebAuthnCredential removes one of the administrator's keys.
func (s *Store) DeleteAdminWebAuthnCredential(ctx context.Context, adminID, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM admin_webauthn_credentials WHERE id = ? AND admin_id = ?`, id, adminID)
	return s.affected(ctx, "delete admin webauthn credential", n, err, "security key not found")
}

// UseAdminWebAuthnCounter moves the key's counter forward in one
// conditional UPDATE, or marks the key cloned.
func (s *Store) UseAdminWebAuthnCounter(ctx context.Context, adminID, id string, counter uint32, at time.Time) error {
	const op = "use admin webauthn counter"
	cloned := false
	err := s.writeTx(ctx, op, func(c dbtx) error {
		cloned = false
		n, err := c.execN(ctx, `UPDATE admin_webauthn_credentials SET sign_count = ?, last_used = ?
			WHERE id = ? AND admin_id = ? AND cloned = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`,
			int64(counter), at, id, adminID, false, int64(counter), int64(counter))
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		if n == 1 {
			return nil
		}
		n, err = c.execN(ctx, `UPDATE admin_webauthn_credentials SET cloned = ? WHERE id = ? AND admin_id = ?`, true, id, adminID)
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		if n == 0 {
			return notFoundErr("security key not found")
		}
		cloned = true // committed: the mark must stay
		return nil
	})
	if err == nil && cloned {
		return conflictErr("the security key's signature counter did not move forward")
	}
	return err
}
