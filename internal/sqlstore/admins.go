package sqlstore

import (
	"context"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Administrators. Email is unique case-insensitively (admins.email_lower).

const adminCols = `id, email, name, role, password_hash, created, last_login, disabled`

func scanAdmin(r rowScanner) (mfa.Admin, error) {
	var a mfa.Admin
	err := r.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &a.PasswordHash, scanTime{&a.Created}, scanTime{&a.LastLogin}, &a.Disabled)
	return a, err
}

// CreateAdmin stores a new administrator; an email already used
// (case-insensitively) is Conflict.
func (s *Store) CreateAdmin(ctx context.Context, a mfa.Admin) error {
	_, err := s.writer().exec(ctx, `INSERT INTO admins (id, email, email_lower, name, role, password_hash, created, last_login, disabled)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Email, strings.ToLower(a.Email), a.Name, a.Role, a.PasswordHash, a.Created, a.LastLogin, a.Disabled)
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

// UpdateAdmin writes every field but ID and Created. Demoting or disabling
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
			password_hash = ?, last_login = ?, disabled = ? WHERE id = ?`,
			a.Email, strings.ToLower(a.Email), a.Name, a.Role, a.PasswordHash, a.LastLogin, a.Disabled, a.ID)
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
		if _, err := c.exec(ctx, `INSERT INTO admins (id, email, email_lower, name, role, password_hash, created, last_login, disabled)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			owner.ID, owner.Email, strings.ToLower(owner.Email), owner.Name, owner.Role, owner.PasswordHash, owner.Created, owner.LastLogin,
			owner.Disabled); err != nil {
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
