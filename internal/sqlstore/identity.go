package sqlstore

import (
	"context"
	"crypto/hmac"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Identity answers (self-service bypass codes) are stored only as keyed
// hashes (codeHash under the code key), with the purpose naming the check
// and the user id bound into the hashed text: the same PIN of two users
// hashes differently, and a hash copied to another user or column matches
// nothing.

var _ mfa.IdentityStore = (*Store)(nil)

// identityColumns are the hash and time columns of check c.
func identityColumns(c mfa.IdentityCheck) (hash, set string, err error) {
	switch c {
	case mfa.IdentityPIN:
		return "pin_hash", "pin_set", nil
	case mfa.IdentityDOBID:
		return "dob_id_hash", "dob_id_set", nil
	}
	return "", "", mfa.InvalidField("identity_check", "must be pin or dob_id")
}

func identityHash(key []byte, userID string, c mfa.IdentityCheck, answer mfa.Passcode) []byte {
	return codeHash(key, "identity_"+string(c), mfa.Passcode(userID+"\x00"+string(answer)))
}

// SetUserIdentity stores (or, for an empty answer, removes) the keyed hash
// of the user's answer to check c, in one transaction that first makes
// sure the user exists.
func (s *Store) SetUserIdentity(ctx context.Context, userID string, c mfa.IdentityCheck, answer mfa.Passcode, at time.Time) error {
	const op = "set user identity"
	hashCol, setCol, err := identityColumns(c)
	if err != nil {
		return err
	}
	var hash []byte
	var setAt any
	if answer != "" {
		key, err := s.codeKeyFor(ctx)
		if err != nil {
			return err
		}
		hash, setAt = identityHash(key, userID, c, answer), at
	}
	return s.writeTx(ctx, op, func(c dbtx) error {
		ok, err := c.exists(ctx, `SELECT 1 FROM users WHERE id = ?`, userID)
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		if !ok {
			return notFoundErr("user not found")
		}
		if _, err := c.exec(ctx, `INSERT INTO user_identity (user_id, `+hashCol+`, `+setCol+`) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET `+hashCol+` = excluded.`+hashCol+`, `+setCol+` = excluded.`+setCol,
			userID, hash, setAt); err != nil {
			return s.dbErr(ctx, op, err, onFK(mfa.NotFound, "user not found"))
		}
		return nil
	})
}

// UserIdentity reports which answers the user has.
func (s *Store) UserIdentity(ctx context.Context, userID string) (mfa.IdentityStatus, error) {
	var st mfa.IdentityStatus
	err := s.reader().row(ctx, `SELECT i.pin_set, i.dob_id_set FROM users u
		LEFT JOIN user_identity i ON i.user_id = u.id WHERE u.id = ?`, userID).
		Scan(scanTime{&st.PINSet}, scanTime{&st.DOBIDSet})
	if err != nil {
		return mfa.IdentityStatus{}, s.dbErr(ctx, "user identity", err, notFound("user not found"))
	}
	return st, nil
}

// CheckUserIdentity compares the keyed hash of answer with the stored one
// in constant time.
func (s *Store) CheckUserIdentity(ctx context.Context, userID string, c mfa.IdentityCheck, answer mfa.Passcode) (bool, error) {
	hashCol, _, err := identityColumns(c)
	if err != nil {
		return false, err
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return false, err
	}
	var stored []byte
	err = s.reader().row(ctx, `SELECT `+hashCol+` FROM user_identity WHERE user_id = ?`, userID).Scan(&stored)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, s.dbErr(ctx, "check user identity", err)
	}
	if len(stored) == 0 || answer == "" {
		return false, nil
	}
	return hmac.Equal(stored, identityHash(key, userID, c, answer)), nil
}
