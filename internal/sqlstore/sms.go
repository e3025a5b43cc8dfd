package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// SMS passcodes are stored only as keyed hashes (codeHash), indexed by
// (user_id, code_hash).

// ReplaceSMSBatch stores a batch and deletes the previous batches (and
// their codes) of the same user and phone, in one transaction that holds
// the user's row lock (PostgreSQL; SQLite's single writer serializes
// anyway): of concurrent replacements each voids the one committed before
// it, so exactly one batch is left.
func (s *Store) ReplaceSMSBatch(ctx context.Context, b mfa.SMSBatch) error {
	const op = "replace sms batch"
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return err
	}
	hashes := make([][]byte, len(b.Codes))
	for i, code := range b.Codes {
		hashes[i] = codeHash(key, hashSMS, code)
	}
	return s.writeTx(ctx, op, func(c dbtx) error {
		ok, err := c.exists(ctx, `SELECT 1 FROM users WHERE id = ?`+s.d.forUpdate, b.UserID)
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		if !ok {
			return notFoundErr("user not found")
		}
		if _, err := c.exec(ctx, `DELETE FROM sms_batches WHERE user_id = ? AND phone_id = ?`, b.UserID, b.PhoneID); err != nil {
			return s.dbErr(ctx, op, err)
		}
		if _, err := c.exec(ctx, `INSERT INTO sms_batches (id, user_id, phone_id, created, expires) VALUES (?, ?, ?, ?, ?)`,
			b.ID, b.UserID, b.PhoneID, b.Created, b.Expires); err != nil {
			return s.dbErr(ctx, op, err, onFK(mfa.NotFound, "user or phone not found"))
		}
		for i, h := range hashes {
			if _, err := c.exec(ctx, `INSERT INTO sms_codes (batch_id, idx, user_id, code_hash) VALUES (?, ?, ?, ?)`,
				b.ID, i, b.UserID, h); err != nil {
				return s.dbErr(ctx, op, err)
			}
		}
		return nil
	})
}

// SMSBatchState reports the index of the next unused code of the user's
// unexpired batch on the phone and how many remain; NotFound when none
// remain.
func (s *Store) SMSBatchState(ctx context.Context, userID, phoneID string, now time.Time) (next, remaining int, err error) {
	var first sql.NullInt64
	err = s.reader().row(ctx, `SELECT MIN(c.idx), COUNT(*) FROM sms_codes c JOIN sms_batches b ON b.id = c.batch_id
		WHERE b.user_id = ? AND b.phone_id = ? AND (b.expires IS NULL OR b.expires > ?) AND c.used_at IS NULL`,
		userID, phoneID, now).Scan(&first, &remaining)
	if err != nil {
		return 0, 0, s.dbErr(ctx, "sms batch state", err)
	}
	if remaining == 0 {
		return 0, 0, notFoundErr("no unused sms passcodes")
	}
	return int(first.Int64), remaining, nil
}

// spendSMS is GuardSMSCode: one conditional UPDATE marks used the user's
// unused code with hash h from an unexpired batch. When none matched, a
// used match is Conflict and anything else NotFound.
func (s *Store) spendSMS(ctx context.Context, c dbtx, userID string, h []byte, now time.Time) (mfa.SMSCodeUse, error) {
	const op = "spend sms passcode"
	var u mfa.SMSCodeUse
	err := c.row(ctx, `UPDATE sms_codes SET used_at = ?
		WHERE used_at IS NULL AND (batch_id, idx) IN (
			SELECT c.batch_id, c.idx FROM sms_codes c JOIN sms_batches b ON b.id = c.batch_id
			WHERE c.user_id = ? AND c.code_hash = ? AND c.used_at IS NULL AND (b.expires IS NULL OR b.expires > ?)
			ORDER BY b.created, c.batch_id, c.idx LIMIT 1)
		RETURNING batch_id, idx`, now, userID, h, now).Scan(&u.BatchID, &u.Index)
	if isNoRows(err) {
		used, err := c.exists(ctx, `SELECT 1 FROM sms_codes c JOIN sms_batches b ON b.id = c.batch_id
			WHERE c.user_id = ? AND c.code_hash = ? AND c.used_at IS NOT NULL AND (b.expires IS NULL OR b.expires > ?)`,
			userID, h, now)
		if err != nil {
			return u, s.dbErr(ctx, op, err)
		}
		if used {
			return u, conflictErr("passcode already used")
		}
		return u, notFoundErr("sms passcode not found")
	}
	if err != nil {
		return u, s.dbErr(ctx, op, err)
	}
	err = c.row(ctx, `SELECT b.phone_id, (SELECT COUNT(*) FROM sms_codes c WHERE c.batch_id = b.id AND c.used_at IS NULL)
		FROM sms_batches b WHERE b.id = ?`, u.BatchID).Scan(&u.PhoneID, &u.Remaining)
	if err != nil {
		return u, s.dbErr(ctx, op, err)
	}
	return u, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
