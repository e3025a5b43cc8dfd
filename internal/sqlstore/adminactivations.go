package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Administrator activation links: only the keyed hash of a code is stored
// (purpose hashAdminActivation), unique; redeeming is one conditional
// DELETE ... RETURNING on it, in the same transaction as the new
// administrator's INSERT.

const adminActivationCols = `id, email, role, created_by, created, expires`

func scanAdminActivation(r rowScanner) (mfa.AdminActivation, error) {
	var a mfa.AdminActivation
	err := r.Scan(&a.ID, &a.Email, &a.Role, &a.CreatedBy, scanTime{&a.Created}, scanTime{&a.Expires})
	return a, err
}

func errUnknownAdminActivation() error { return notFoundErr("unknown or expired activation link") }

// CreateAdminActivation stores a new activation with its code's keyed hash.
func (s *Store) CreateAdminActivation(ctx context.Context, a mfa.AdminActivation) error {
	if a.Code == "" {
		return mfa.InvalidField("code", "an activation needs a code")
	}
	if a.Expires.IsZero() {
		return mfa.InvalidField("expires", "an activation link must expire")
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return err
	}
	_, err = s.writer().exec(ctx, `INSERT INTO admin_activations (id, code_hash, email, role, created_by, created, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, codeHash(key, hashAdminActivation, a.Code), a.Email, a.Role, a.CreatedBy,
		a.Created, a.Expires)
	return s.dbErr(ctx, "create admin activation", err)
}

// ListAdminActivations lists the activations unexpired at now.
func (s *Store) ListAdminActivations(ctx context.Context, now time.Time, p mfa.Page) ([]mfa.AdminActivation, int, error) {
	w := &where{}
	w.add("expires > ?", now)
	return list(ctx, s, "list admin activations", adminActivationCols, "admin_activations", w, "created, id", p, scanAdminActivation)
}

// AdminActivationByCode returns the unexpired activation with this code.
func (s *Store) AdminActivationByCode(ctx context.Context, code mfa.Passcode, now time.Time) (mfa.AdminActivation, error) {
	if code == "" {
		return mfa.AdminActivation{}, errUnknownAdminActivation()
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return mfa.AdminActivation{}, err
	}
	a, err := scanAdminActivation(s.reader().row(ctx, `SELECT `+adminActivationCols+` FROM admin_activations
		WHERE code_hash = ? AND expires > ?`, codeHash(key, hashAdminActivation, code), now))
	if isNoRows(err) {
		return mfa.AdminActivation{}, errUnknownAdminActivation()
	}
	if err != nil {
		return mfa.AdminActivation{}, s.dbErr(ctx, "admin activation by code", err)
	}
	return a, nil
}

// DeleteAdminActivation deletes an activation.
func (s *Store) DeleteAdminActivation(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM admin_activations WHERE id = ?`, id)
	return s.affected(ctx, "delete admin activation", n, err, "activation link not found")
}

// RedeemAdminActivation spends the code and creates the administrator in
// one transaction.
func (s *Store) RedeemAdminActivation(ctx context.Context, code mfa.Passcode, now time.Time, ad mfa.Admin) (mfa.Admin, error) {
	const op = "redeem admin activation"
	if code == "" {
		return mfa.Admin{}, errUnknownAdminActivation()
	}
	if now.IsZero() {
		return mfa.Admin{}, fmt.Errorf("%s: zero time", op)
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return mfa.Admin{}, err
	}
	hash := codeHash(key, hashAdminActivation, code)
	err = s.writeTx(ctx, op, func(c dbtx) error {
		a, err := scanAdminActivation(c.row(ctx, `DELETE FROM admin_activations WHERE code_hash = ? AND expires > ?
			RETURNING `+adminActivationCols, hash, now))
		if isNoRows(err) {
			return errUnknownAdminActivation()
		}
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		ad.Email, ad.Role = a.Email, a.Role
		_, err = c.exec(ctx, `INSERT INTO admins (id, email, email_lower, name, role, password_hash, created, last_login, disabled)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ad.ID, ad.Email, strings.ToLower(ad.Email), ad.Name, ad.Role, ad.PasswordHash, ad.Created, ad.LastLogin, ad.Disabled)
		return s.dbErr(ctx, op, err)
	})
	if err != nil {
		return mfa.Admin{}, err
	}
	return ad, nil
}
