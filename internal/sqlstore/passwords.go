package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// twostep passwords: argon2id PHC strings, hashed by the service.

var _ mfa.UserPasswordStore = (*Store)(nil)

// SetUserPassword stores or replaces the user's password hash in one
// upsert.
func (s *Store) SetUserPassword(ctx context.Context, userID, hash string, at time.Time) error {
	if err := mfa.CheckPasswordHash(hash); err != nil {
		return err
	}
	_, err := s.writer().exec(ctx, `INSERT INTO user_passwords (user_id, hash, set_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at`, userID, hash, at)
	return s.dbErr(ctx, "set user password", err, onFK(mfa.NotFound, "user not found"))
}

// GetUserPassword returns the user's password hash.
func (s *Store) GetUserPassword(ctx context.Context, userID string) (mfa.UserPassword, error) {
	p := mfa.UserPassword{UserID: userID}
	err := s.reader().row(ctx, `SELECT hash, set_at FROM user_passwords WHERE user_id = ?`, userID).
		Scan(&p.Hash, scanTime{&p.Set})
	if err != nil {
		return mfa.UserPassword{}, s.dbErr(ctx, "get user password", err, notFound("the user has no password"))
	}
	return p, nil
}

// DeleteUserPassword removes the user's password.
func (s *Store) DeleteUserPassword(ctx context.Context, userID string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM user_passwords WHERE user_id = ?`, userID)
	return s.affected(ctx, "delete user password", n, err, "the user has no password")
}
