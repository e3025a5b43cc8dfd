package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Administrators. Email is unique case-insensitively (admins.email_lower).

const adminCols = `id, email, name, role, password_hash, created, last_login, disabled, password_change_required,
	failed_logins, locked_at`

func scanAdmin(r rowScanner) (mfa.Admin, error) {
	var a mfa.Admin
	err := r.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &a.PasswordHash, scanTime{&a.Created}, scanTime{&a.LastLogin}, &a.Disabled,
		&a.PasswordChangeRequired, &a.FailedLogins, scanTime{&a.LockedAt})
	return a, err
}

// CreateAdmin stores a new administrator; an email already used
// (case-insensitively) is Conflict.
func (s *Store) CreateAdmin(ctx context.Context, a mfa.Admin) error {
	_, err := s.writer().exec(ctx, `INSERT INTO admins (id, email, email_lower, name, role, password_hash, created, last_login, disabled,
		password_change_required) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Email, strings.ToLower(a.Email), a.Name, a.Role, a.PasswordHash, a.Created, a.LastLogin, a.Disabled,
		a.PasswordChangeRequired)
	return s.dbErr(ctx, "create admin", err)
}

// GetAdmin returns the administrator with id.
func (s *Store) GetAdmin(ctx context.Context, id string) (mfa.Admin, error) {
	a, err := scanAdmin(s.reader().row(ctx, `SELECT `+adminCols+` FROM admins WHERE id = ?`, id))
	if err != nil {
		return mfa.Admin{}, s.dbErr(ctx, "get admin", err, notFound("administrator not found"))
	}
	return a, nil
}

// GetAdminByEmail finds an administrator by email, case-insensitively.
func (s *Store) GetAdminByEmail(ctx context.Context, email string) (mfa.Admin, error) {
	a, err := scanAdmin(s.reader().row(ctx, `SELECT `+adminCols+` FROM admins WHERE email_lower = ?`, strings.ToLower(email)))
	if err != nil {
		return mfa.Admin{}, s.dbErr(ctx, "get admin by email", err, notFound("administrator not found"))
	}
	return a, nil
}

// ListAdmins lists administrators in creation order.
func (s *Store) ListAdmins(ctx context.Context, p mfa.Page) ([]mfa.Admin, int, error) {
	return list(ctx, s, "list admins", adminCols, "admins", &where{}, "created, id", p, scanAdmin)
}

// UpdateAdmin writes every field but ID, Created, FailedLogins and
// LockedAt (those change only through CountAdminFailure and
// ClearAdminFailures, so that an edit cannot undo a concurrent failure). Demoting or disabling
// the last active Owner is Conflict: the check and the write run in one transaction under
// the "owners" lock, so concurrent demotions cannot both pass it.
func (s *Store) UpdateAdmin(ctx context.Context, a mfa.Admin) error {
	return s.writeTx(ctx, "update admin", func(c dbtx) error {
		if a.Role != mfa.RoleOwner {
			if err := s.keepAnOwner(ctx, c, a.ID, "role", "the last Owner cannot be demoted"); err != nil {
				return err
			}
		} else if a.Disabled {
			if err := s.keepAnOwner(ctx, c, a.ID, "status", "the last active Owner cannot be disabled"); err != nil {
				return err
			}
		}
		n, err := c.execN(ctx, `UPDATE admins SET email = ?, email_lower = ?, name = ?, role = ?,
			password_hash = ?, last_login = ?, disabled = ?, password_change_required = ? WHERE id = ?`,
			a.Email, strings.ToLower(a.Email), a.Name, a.Role, a.PasswordHash, a.LastLogin, a.Disabled, a.PasswordChangeRequired, a.ID)
		return s.affected(ctx, "update admin", n, err, "administrator not found")
	})
}

// DeleteAdmin deletes the administrator; deleting the last Owner is
// Conflict, checked atomically as in UpdateAdmin.
func (s *Store) DeleteAdmin(ctx context.Context, id string) error {
	return s.writeTx(ctx, "delete admin", func(c dbtx) error {
		if err := s.keepAnOwner(ctx, c, id, "admin_id", "the last Owner cannot be deleted"); err != nil {
			return err
		}
		n, err := c.execN(ctx, `DELETE FROM admins WHERE id = ?`, id)
		return s.affected(ctx, "delete admin", n, err, "administrator not found")
	})
}

// keepAnOwner fails with Conflict if id is an active Owner and no other
// active Owner exists (a disabled Owner cannot sign in). It takes the "owners" lock first, inside the caller's
// transaction.
func (s *Store) keepAnOwner(ctx context.Context, c dbtx, id, field, msg string) error {
	if err := s.d.lock(ctx, c, "owners"); err != nil {
		return err
	}
	var isOwner, others int
	if err := c.row(ctx, `SELECT
		(SELECT COUNT(*) FROM admins WHERE id = ? AND role = ? AND disabled = ?),
		(SELECT COUNT(*) FROM admins WHERE id <> ? AND role = ? AND disabled = ?)`,
		id, mfa.RoleOwner, false, id, mfa.RoleOwner, false).Scan(&isOwner, &others); err != nil {
		return err
	}
	if isOwner > 0 && others == 0 {
		return &mfa.Error{Kind: mfa.Conflict, Field: field, Msg: msg}
	}
	return nil
}

// CountAdmins returns how many administrators exist.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	if err := s.reader().row(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n); err != nil {
		return 0, s.dbErr(ctx, "count admins", err)
	}
	return n, nil
}

// Bootstrap creates the first administrator and integrations in one
// transaction if no administrator exists; otherwise it is Conflict and
// changes nothing. A named lock serializes bootstraps of several processes.
func (s *Store) Bootstrap(ctx context.Context, owner mfa.Admin, ins []mfa.Integration) error {
	sealed := make([][]byte, len(ins))
	for i, in := range ins {
		b, err := s.seal(in.SKey, "integrations", "skey", in.IKey)
		if err != nil {
			return err
		}
		sealed[i] = b
	}
	return s.writeTx(ctx, "bootstrap", func(c dbtx) error {
		if err := s.d.lock(ctx, c, "bootstrap"); err != nil {
			return err
		}
		var n int
		if err := c.row(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conflictErr("already bootstrapped: an administrator exists")
		}
		if _, err := c.exec(ctx, `INSERT INTO admins (id, email, email_lower, name, role, password_hash, created, last_login, disabled,
			password_change_required) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			owner.ID, owner.Email, strings.ToLower(owner.Email), owner.Name, owner.Role, owner.PasswordHash, owner.Created, owner.LastLogin,
			owner.Disabled, owner.PasswordChangeRequired); err != nil {
			return err
		}
		for i, in := range ins {
			if _, err := c.exec(ctx, `INSERT INTO integrations (`+integrationCols+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				in.IKey, sealed[i], in.Name, in.Type, permissionsJSON(in.Permissions), in.EnrollPolicy, in.AllowV1Signatures,
				in.RefuseBypassCodes, in.TrustedDeviceDays, in.Greeting, in.Notes, redirectURIsJSON(in.RedirectURIs),
				redirectURIsJSON(in.GroupsAllowed), in.Created, in.PublicClient, redirectURIsJSON(in.PostLogoutRedirectURIs)); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountAdminFailure adds one failure in one statement: of concurrent
// failures none is lost, and the one that reaches threshold sets LockedAt.
func (s *Store) CountAdminFailure(ctx context.Context, id string, threshold int, at time.Time) (mfa.Admin, error) {
	a, err := scanAdmin(s.writer().row(ctx, `UPDATE admins SET failed_logins = failed_logins + 1,
		locked_at = CASE WHEN locked_at IS NULL AND ? > 0 AND failed_logins + 1 >= ? THEN ? ELSE locked_at END
		WHERE id = ? RETURNING `+adminCols, threshold, threshold, at, id))
	if err != nil {
		return mfa.Admin{}, s.dbErr(ctx, "count admin failure", err, notFound("administrator not found"))
	}
	return a, nil
}

// ClearAdminFailures resets the failure count and the lockout.
func (s *Store) ClearAdminFailures(ctx context.Context, id string, signedIn time.Time) error {
	q, args := `UPDATE admins SET failed_logins = 0, locked_at = NULL WHERE id = ?`, []any{id}
	if !signedIn.IsZero() {
		q, args = `UPDATE admins SET failed_logins = 0, locked_at = NULL, last_login = ? WHERE id = ?`, []any{signedIn, id}
	}
	n, err := s.writer().execN(ctx, q, args...)
	return s.affected(ctx, "clear admin failures", n, err, "administrator not found")
}

// SetAdminTOTP stores a new unconfirmed secret unless a confirmed one
// exists, in one conditional write.
func (s *Store) SetAdminTOTP(ctx context.Context, id string, secret mfa.Secret) error {
	const op = "set admin totp"
	sealed, err := s.seal(secret, "admins", "totp_secret", id)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, op, func(c dbtx) error {
		n, err := c.execN(ctx, `UPDATE admins SET totp_secret = ?, totp_last_step = 0, totp_confirmed = ?
			WHERE id = ? AND totp_confirmed = ?`, sealed, false, id, false)
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		if err := s.mustExist(ctx, c, op, "admins", id, "administrator not found"); err != nil {
			return err
		}
		return conflictErr("the administrator already has a confirmed authenticator")
	})
}

// GetAdminTOTP returns the administrator's TOTP secret.
func (s *Store) GetAdminTOTP(ctx context.Context, id string) (mfa.AdminTOTP, error) {
	var t mfa.AdminTOTP
	var sealed []byte
	err := s.reader().row(ctx, `SELECT totp_secret, totp_last_step, totp_confirmed FROM admins WHERE id = ? AND totp_secret IS NOT NULL`, id).
		Scan(&sealed, &t.LastStep, &t.Confirmed)
	if err != nil {
		return mfa.AdminTOTP{}, s.dbErr(ctx, "get admin totp", err, notFound("the administrator has no authenticator"))
	}
	if t.Secret, err = s.open(sealed, "admins", "totp_secret", id); err != nil {
		return mfa.AdminTOTP{}, err
	}
	return t, nil
}

// UseAdminTOTPStep moves the last step forward in one conditional UPDATE.
func (s *Store) UseAdminTOTPStep(ctx context.Context, id string, step int64) (bool, error) {
	n, err := s.writer().execN(ctx, `UPDATE admins SET totp_last_step = ?, totp_confirmed = ?
		WHERE id = ? AND totp_secret IS NOT NULL AND totp_last_step < ?`, step, true, id, step)
	if err != nil {
		return false, s.dbErr(ctx, "use admin totp step", err)
	}
	return n == 1, nil
}

// LockAdmin reads the administrator's row with the dialect's row lock,
// as LockUser does for a user.
func (s *Store) LockAdmin(ctx context.Context, id string) error {
	return s.lockRow(ctx, "lock admin", "admins", id, "administrator not found")
}

// DeleteAdminTOTP removes the administrator's TOTP secret.
func (s *Store) DeleteAdminTOTP(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `UPDATE admins SET totp_secret = NULL, totp_last_step = 0, totp_confirmed = ? WHERE id = ?`, false, id)
	return s.affected(ctx, "delete admin totp", n, err, "administrator not found")
}
