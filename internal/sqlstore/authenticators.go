package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

const authenticatorCols = `a.id, a.phone_id, a.user_id, a.status, a.public_key, a.hotp_secret, a.hotp_counter,
	a.totp, a.totp_last_step, a.platform, a.model, a.app_version, a.created, a.last_seen`

func (s *Store) scanAuthenticator(r rowScanner) (mfa.Authenticator, error) {
	var a mfa.Authenticator
	var pub, hotp []byte
	err := r.Scan(&a.ID, &a.PhoneID, &a.UserID, &a.Status, &pub, &hotp, &a.HOTPCounter,
		&a.TOTP, &a.TOTPLastStep, &a.Platform, &a.Model, &a.AppVersion, scanTime{&a.Created}, scanTime{&a.LastSeen})
	if err != nil {
		return mfa.Authenticator{}, err
	}
	if a.PublicKey, err = s.open(pub, "authenticators", "public_key", a.ID); err != nil {
		return mfa.Authenticator{}, err
	}
	if a.HOTPSecret, err = s.open(hotp, "authenticators", "hotp_secret", a.ID); err != nil {
		return mfa.Authenticator{}, err
	}
	return a, nil
}

// ActivateAuthenticator stores a new active install for a.PhoneID and, in
// the same transaction, revokes every other active install on that phone.
// The phone row is locked first so that concurrent activations on one
// phone serialize (and a partial unique index allows one active install
// per phone).
func (s *Store) ActivateAuthenticator(ctx context.Context, a mfa.Authenticator) error {
	const op = "activate authenticator"
	sealed, err := s.sealAuthenticator(a)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, op, func(c dbtx) error {
		return s.activateAuthenticator(ctx, c, op, a, sealed)
	})
}

// sealedAuthenticator is an install's secrets, sealed for its row.
type sealedAuthenticator struct{ pub, hotp []byte }

// sealAuthenticator seals a's secrets (outside any transaction: sealing
// is slow enough to keep out of SQLite's single writer).
func (s *Store) sealAuthenticator(a mfa.Authenticator) (sealedAuthenticator, error) {
	pub, err := s.seal(a.PublicKey, "authenticators", "public_key", a.ID)
	if err != nil {
		return sealedAuthenticator{}, err
	}
	hotp, err := s.seal(a.HOTPSecret, "authenticators", "hotp_secret", a.ID)
	if err != nil {
		return sealedAuthenticator{}, err
	}
	return sealedAuthenticator{pub, hotp}, nil
}

// activateAuthenticator is ActivateAuthenticator inside the caller's
// transaction: lock the phone, revoke its other active installs, insert a.
func (s *Store) activateAuthenticator(ctx context.Context, c dbtx, op string, a mfa.Authenticator, sealed sealedAuthenticator) error {
	ok, err := c.exists(ctx, `SELECT 1 FROM phones WHERE id = ?`+s.d.forUpdate, a.PhoneID)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if !ok {
		return notFoundErr("phone not found")
	}
	if _, err := c.exec(ctx, `UPDATE authenticators SET status = 'revoked'
		WHERE phone_id = ? AND status = 'active' AND id <> ?`, a.PhoneID, a.ID); err != nil {
		return s.dbErr(ctx, op, err)
	}
	_, err = c.exec(ctx, `INSERT INTO authenticators (id, phone_id, user_id, status, public_key, hotp_secret,
		hotp_counter, totp, totp_last_step, platform, model, app_version, created, last_seen)
		VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.PhoneID, a.UserID, sealed.pub, sealed.hotp, a.HOTPCounter, a.TOTP, a.TOTPLastStep,
		a.Platform, a.Model, a.AppVersion, a.Created, a.LastSeen)
	return s.dbErr(ctx, op, err, onFK(mfa.NotFound, "phone not found"))
}

// GetAuthenticator returns the install with id, active or revoked.
func (s *Store) GetAuthenticator(ctx context.Context, id string) (mfa.Authenticator, error) {
	a, err := s.scanAuthenticator(s.reader().row(ctx, `SELECT `+authenticatorCols+` FROM authenticators a WHERE a.id = ?`, id))
	if err != nil {
		return mfa.Authenticator{}, s.dbErr(ctx, "get authenticator", err, notFound("authenticator not found"))
	}
	return a, nil
}

// PhoneAuthenticator returns the phone's active install.
func (s *Store) PhoneAuthenticator(ctx context.Context, phoneID string) (mfa.Authenticator, error) {
	a, err := s.scanAuthenticator(s.reader().row(ctx, `SELECT `+authenticatorCols+` FROM authenticators a
		WHERE a.phone_id = ? AND a.status = 'active'`, phoneID))
	if err != nil {
		return mfa.Authenticator{}, s.dbErr(ctx, "phone authenticator", err, notFound("no active authenticator on the phone"))
	}
	return a, nil
}

// UserAuthenticators returns the active installs on the user's phones, in
// creation order.
func (s *Store) UserAuthenticators(ctx context.Context, userID string) ([]mfa.Authenticator, error) {
	return queryAll(ctx, s, s.reader(), "user authenticators", `SELECT `+authenticatorCols+` FROM authenticators a
		JOIN user_phones up ON up.phone_id = a.phone_id
		WHERE up.user_id = ? AND a.status = 'active' ORDER BY a.created, a.id`, []any{userID}, s.scanAuthenticator)
}

// RevokeAuthenticator revokes an install; its phone is no longer activated
// if that was its active install.
func (s *Store) RevokeAuthenticator(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `UPDATE authenticators SET status = 'revoked' WHERE id = ?`, id)
	return s.affected(ctx, "revoke authenticator", n, err, "authenticator not found")
}

// TouchAuthenticator records contact from an install at at, on the
// install and on its phone (Phone.LastSeen).
func (s *Store) TouchAuthenticator(ctx context.Context, id string, at time.Time) error {
	const op = "touch authenticator"
	return s.writeTx(ctx, op, func(c dbtx) error {
		var phoneID string
		err := c.row(ctx, `UPDATE authenticators SET last_seen = ? WHERE id = ? RETURNING phone_id`, at, id).Scan(&phoneID)
		if err != nil {
			return s.dbErr(ctx, op, err, notFound("authenticator not found"))
		}
		_, err = c.exec(ctx, `UPDATE phones SET last_seen = ? WHERE id = ?`, at, phoneID)
		return s.dbErr(ctx, op, err)
	})
}

// RevokedAuthenticators returns up to limit (<= 0: all) revoked installs
// that belonged to the user, newest (by Created, then id) first: those
// activated by the user (UserID) and those on the user's phones, as
// UserAuthenticators finds active ones.
func (s *Store) RevokedAuthenticators(ctx context.Context, userID string, limit int) ([]mfa.Authenticator, error) {
	if userID == "" {
		return nil, nil // not every install that no user activated
	}
	return queryAll(ctx, s, s.reader(), "revoked authenticators", `SELECT `+authenticatorCols+` FROM authenticators a
		WHERE a.status = 'revoked' AND (a.user_id = ?
			OR a.phone_id IN (SELECT up.phone_id FROM user_phones up WHERE up.user_id = ?))
		ORDER BY a.created DESC, a.id DESC`+s.d.page(mfa.Page{Limit: limit}), []any{userID, userID}, s.scanAuthenticator)
}
