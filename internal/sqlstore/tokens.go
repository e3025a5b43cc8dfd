package sqlstore

import (
	"context"

	"github.com/twostep-auth/twostep/internal/mfa"
)

const tokenCols = `t.id, t.type, t.serial, t.secret, t.counter, t.totp_step, t.last_step,
	t.private_id, t.aes_key, t.yk_counter, t.created`

func (s *Store) scanToken(r rowScanner) (mfa.Token, error) {
	var t mfa.Token
	var secret, privateID, aesKey []byte
	err := r.Scan(&t.ID, &t.Type, &t.Serial, &secret, &t.Counter, &t.TOTPStep, &t.LastStep,
		&privateID, &aesKey, &t.YKCounter, scanTime{&t.Created})
	if err != nil {
		return mfa.Token{}, err
	}
	if t.Secret, err = s.open(secret, "tokens", "secret", t.ID); err != nil {
		return mfa.Token{}, err
	}
	if t.PrivateID, err = s.open(privateID, "tokens", "private_id", t.ID); err != nil {
		return mfa.Token{}, err
	}
	if t.AESKey, err = s.open(aesKey, "tokens", "aes_key", t.ID); err != nil {
		return mfa.Token{}, err
	}
	return t, nil
}

// CreateToken stores a new token; a serial already used by a token of the
// same type is Conflict.
func (s *Store) CreateToken(ctx context.Context, t mfa.Token) error {
	secret, err := s.seal(t.Secret, "tokens", "secret", t.ID)
	if err != nil {
		return err
	}
	privateID, err := s.seal(t.PrivateID, "tokens", "private_id", t.ID)
	if err != nil {
		return err
	}
	aesKey, err := s.seal(t.AESKey, "tokens", "aes_key", t.ID)
	if err != nil {
		return err
	}
	_, err = s.writer().exec(ctx, `INSERT INTO tokens (id, type, serial, secret, counter, totp_step, last_step,
		private_id, aes_key, yk_counter, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Type, t.Serial, secret, t.Counter, t.TOTPStep, t.LastStep, privateID, aesKey, int64(t.YKCounter), t.Created)
	return s.dbErr(ctx, "create token", err)
}

// GetToken returns the token with id.
func (s *Store) GetToken(ctx context.Context, id string) (mfa.Token, error) {
	t, err := s.scanToken(s.reader().row(ctx, `SELECT `+tokenCols+` FROM tokens t WHERE t.id = ?`, id))
	if err != nil {
		return mfa.Token{}, s.dbErr(ctx, "get token", err, notFound("token not found"))
	}
	return t, nil
}

// ListTokens lists tokens in creation order.
func (s *Store) ListTokens(ctx context.Context, f mfa.TokenFilter) ([]mfa.Token, int, error) {
	var w where
	if f.Type != "" {
		w.add(`t.type = ?`, f.Type)
	}
	if f.Serial != "" {
		w.add(`t.serial = ?`, f.Serial)
	}
	return list(ctx, s, "list tokens", tokenCols, "tokens t", &w, "t.created, t.id", f.Page, s.scanToken)
}

// UpdateToken writes TOTPStep, Counter, LastStep and YKCounter.
func (s *Store) UpdateToken(ctx context.Context, t mfa.Token) error {
	// The counters only move forward, in the same statement, so that an
	// administrator's resync racing an authentication can never make a
	// used code valid again.
	n, err := s.writer().execN(ctx, `UPDATE tokens SET totp_step = ?,
		counter = CASE WHEN counter > ? THEN counter ELSE ? END, last_step = ?,
		yk_counter = CASE WHEN yk_counter > ? THEN yk_counter ELSE ? END WHERE id = ?`,
		t.TOTPStep, t.Counter, t.Counter, t.LastStep, int64(t.YKCounter), int64(t.YKCounter), t.ID)
	return s.affected(ctx, "update token", n, err, "token not found")
}

// RenameToken sets the token's serial.
func (s *Store) RenameToken(ctx context.Context, id, serial string) error {
	n, err := s.writer().execN(ctx, `UPDATE tokens SET serial = ? WHERE id = ?`, serial, id)
	return s.affected(ctx, "rename token", n, err, "token not found")
}

// DeleteToken deletes the token and its user associations.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	return s.affected(ctx, "delete token", n, err, "token not found")
}

// AttachToken associates a token with a user; attaching twice is not an
// error. NotFound if either does not exist.
func (s *Store) AttachToken(ctx context.Context, userID, tokenID string) error {
	const op = "attach token"
	return s.writeTx(ctx, op, func(c dbtx) error {
		if err := s.mustExist(ctx, c, op, "users", userID, "user not found"); err != nil {
			return err
		}
		if err := s.mustExist(ctx, c, op, "tokens", tokenID, "token not found"); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO user_tokens (user_id, token_id) VALUES (?, ?)
			ON CONFLICT (user_id, token_id) DO NOTHING`, userID, tokenID)
		return s.dbErr(ctx, op, err, onFK(mfa.NotFound, "user or token not found"))
	})
}

// DetachToken removes the association; NotFound if there was none.
func (s *Store) DetachToken(ctx context.Context, userID, tokenID string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM user_tokens WHERE user_id = ? AND token_id = ?`, userID, tokenID)
	return s.affected(ctx, "detach token", n, err, "token is not attached to the user")
}

// UserTokens returns the user's tokens in creation order.
func (s *Store) UserTokens(ctx context.Context, userID string) ([]mfa.Token, error) {
	return queryAll(ctx, s, s.reader(), "user tokens", `SELECT `+tokenCols+` FROM tokens t
		JOIN user_tokens ut ON ut.token_id = t.id WHERE ut.user_id = ? ORDER BY t.created, t.id`,
		[]any{userID}, s.scanToken)
}

// TokenUsers returns the token's users in creation order.
func (s *Store) TokenUsers(ctx context.Context, tokenID string) ([]mfa.User, error) {
	return queryAll(ctx, s, s.reader(), "token users", `SELECT `+userCols+` FROM users u
		JOIN user_tokens ut ON ut.user_id = u.id WHERE ut.token_id = ? ORDER BY u.created, u.id`,
		[]any{tokenID}, scanUser)
}
