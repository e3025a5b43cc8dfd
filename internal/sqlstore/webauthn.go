package sqlstore

import (
	"context"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// WebAuthn credentials. A credential's public key is public: it is stored
// as is, not sealed. Its signature counter moves only through ApplyAuth
// (GuardWebAuthnCounter, one conditional UPDATE in auth.go).

var _ mfa.WebAuthnStore = (*Store)(nil)

const webauthnCols = `w.id, w.user_id, w.name, w.credential_id, w.public_key, w.sign_count, w.aaguid, w.transports,
	w.attachment, w.backup_eligible, w.backup_state, w.cloned, w.created, w.last_used`

func scanWebAuthn(r rowScanner) (mfa.WebAuthnCredential, error) {
	var c mfa.WebAuthnCredential
	var count int64
	var transports string
	err := r.Scan(&c.ID, &c.UserID, &c.Name, &c.CredentialID, &c.PublicKey, &count, &c.AAGUID, &transports,
		&c.Attachment, &c.BackupEligible, &c.BackupState, &c.Cloned, scanTime{&c.Created}, scanTime{&c.LastUsed})
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	c.SignCount = uint32(count)
	if transports != "" {
		c.Transports = strings.Split(transports, ",")
	}
	return c, nil
}

// CreateWebAuthnCredential stores c.
func (s *Store) CreateWebAuthnCredential(ctx context.Context, c mfa.WebAuthnCredential) error {
	return s.insertWebAuthnCredential(ctx, "create webauthn credential", "webauthn_credentials", "user_id", "user not found", c)
}

// insertWebAuthnCredential checks and stores c in table, a user's
// (webauthn_credentials) or an administrator's (admin_webauthn_credentials)
// credentials, whose owner column is ownerCol; notFound is the message
// when c.UserID names no owner.
func (s *Store) insertWebAuthnCredential(ctx context.Context, op, table, ownerCol, notFound string, c mfa.WebAuthnCredential) error {
	if len(c.CredentialID) == 0 {
		return mfa.InvalidField("credential_id", "a WebAuthn credential needs a credential id")
	}
	if len(c.PublicKey) == 0 {
		return mfa.InvalidField("public_key", "a WebAuthn credential needs a public key")
	}
	for _, t := range c.Transports {
		if t == "" || strings.Contains(t, ",") {
			return mfa.InvalidField("transports", "a transport is a non-empty word without commas")
		}
	}
	_, err := s.writer().exec(ctx, `INSERT INTO `+table+` (id, `+ownerCol+`, name, credential_id, public_key,
		sign_count, aaguid, transports, attachment, backup_eligible, backup_state, cloned, created, last_used)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Name, c.CredentialID, c.PublicKey, int64(c.SignCount), c.AAGUID, strings.Join(c.Transports, ","),
		c.Attachment, c.BackupEligible, c.BackupState, c.Cloned, c.Created, c.LastUsed)
	return s.dbErr(ctx, op, err, onFK(mfa.NotFound, notFound),
		onUnique("credential_id", "this security key is already registered"))
}

// GetWebAuthnCredential returns the credential with id.
func (s *Store) GetWebAuthnCredential(ctx context.Context, id string) (mfa.WebAuthnCredential, error) {
	c, err := scanWebAuthn(s.reader().row(ctx, `SELECT `+webauthnCols+` FROM webauthn_credentials w WHERE w.id = ?`, id))
	if err != nil {
		return mfa.WebAuthnCredential{}, s.dbErr(ctx, "get webauthn credential", err, notFound("security key not found"))
	}
	return c, nil
}

// WebAuthnCredentialByCredentialID finds a credential by the
// authenticator's credential id.
func (s *Store) WebAuthnCredentialByCredentialID(ctx context.Context, credentialID []byte) (mfa.WebAuthnCredential, error) {
	if len(credentialID) == 0 {
		return mfa.WebAuthnCredential{}, notFoundErr("security key not found")
	}
	c, err := scanWebAuthn(s.reader().row(ctx, `SELECT `+webauthnCols+` FROM webauthn_credentials w WHERE w.credential_id = ?`, credentialID))
	if err != nil {
		return mfa.WebAuthnCredential{}, s.dbErr(ctx, "get webauthn credential", err, notFound("security key not found"))
	}
	return c, nil
}

// ListWebAuthnCredentials lists credentials in creation order.
func (s *Store) ListWebAuthnCredentials(ctx context.Context, f mfa.WebAuthnFilter) ([]mfa.WebAuthnCredential, int, error) {
	var w where
	if f.UserID != "" {
		w.add(`w.user_id = ?`, f.UserID)
	}
	return list(ctx, s, "list webauthn credentials", webauthnCols, "webauthn_credentials w", &w, "w.created, w.id", f.Page, scanWebAuthn)
}

// UserWebAuthnCredentials lists the user's credentials in creation order.
func (s *Store) UserWebAuthnCredentials(ctx context.Context, userID string) ([]mfa.WebAuthnCredential, error) {
	return queryAll(ctx, s, s.reader(), "user webauthn credentials", `SELECT `+webauthnCols+` FROM webauthn_credentials w
		WHERE w.user_id = ? ORDER BY w.created, w.id`, []any{userID}, scanWebAuthn)
}

// RenameWebAuthnCredential changes a credential's name.
func (s *Store) RenameWebAuthnCredential(ctx context.Context, id, name string) error {
	n, err := s.writer().execN(ctx, `UPDATE webauthn_credentials SET name = ? WHERE id = ?`, name, id)
	return s.affected(ctx, "rename webauthn credential", n, err, "security key not found")
}

// DeleteWebAuthnCredential removes a credential.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM webauthn_credentials WHERE id = ?`, id)
	return s.affected(ctx, "delete webauthn credential", n, err, "security key not found")
}

// MarkWebAuthnCloned marks a credential possibly cloned.
func (s *Store) MarkWebAuthnCloned(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `UPDATE webauthn_credentials SET cloned = ? WHERE id = ?`, true, id)
	return s.affected(ctx, "mark webauthn credential cloned", n, err, "security key not found")
}
