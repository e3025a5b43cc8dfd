package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Bypass codes are stored only as keyed hashes (codeHash): checking one is
// a single lookup on the unique (user_id, code_hash) index.

const bypassCols = `b.id, b.user_id, b.uses_left, b.unlimited, b.expires, b.created_by, b.created`

func scanBypass(r rowScanner) (mfa.BypassCode, error) {
	var b mfa.BypassCode
	err := r.Scan(&b.ID, &b.UserID, &b.UsesLeft, &b.Unlimited, scanTime{&b.Expires}, &b.CreatedBy, scanTime{&b.Created})
	return b, err
}

// usableBypass is the condition of a code that can still be used at ?.
const usableBypass = `(b.unlimited OR b.uses_left > 0) AND (b.expires IS NULL OR b.expires > ?)`

// CreateBypassCodes adds codes for one user in one transaction that holds
// the user's row lock (PostgreSQL; SQLite's single writer serializes
// anyway), so that concurrent requests cannot together pass MaxActive.
func (s *Store) CreateBypassCodes(ctx context.Context, req mfa.NewBypassCodes, now time.Time) error {
	const op = "create bypass codes"
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return err
	}
	hashes := make([][]byte, len(req.Codes))
	adding := 0
	for i, b := range req.Codes {
		hashes[i] = codeHash(key, hashBypass, b.Code)
		if !b.Spent(now) {
			adding++
		}
	}
	return s.writeTx(ctx, op, func(c dbtx) error {
		ok, err := c.exists(ctx, `SELECT 1 FROM users WHERE id = ?`+s.d.forUpdate, req.UserID)
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		if !ok {
			return notFoundErr("user not found")
		}
		if !req.PreserveExisting {
			if _, err := c.exec(ctx, `DELETE FROM bypass_codes WHERE user_id = ?`, req.UserID); err != nil {
				return s.dbErr(ctx, op, err)
			}
		}
		if req.MaxActive > 0 {
			var active int
			if err := c.row(ctx, `SELECT COUNT(*) FROM bypass_codes b WHERE b.user_id = ? AND `+usableBypass,
				req.UserID, now).Scan(&active); err != nil {
				return s.dbErr(ctx, op, err)
			}
			if active+adding > req.MaxActive {
				return &mfa.Error{Kind: mfa.Invalid, Field: "count",
					Msg: "the user would hold more than the maximum number of active bypass codes"}
			}
		}
		for i, b := range req.Codes {
			if _, err := c.exec(ctx, `INSERT INTO bypass_codes (id, user_id, code_hash, uses_left, unlimited,
				expires, created_by, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				b.ID, req.UserID, hashes[i], b.UsesLeft, b.Unlimited, b.Expires, b.CreatedBy, b.Created); err != nil {
				return s.dbErr(ctx, op, err)
			}
		}
		return nil
	})
}

// GetBypassCode returns the code with id (without its plaintext).
func (s *Store) GetBypassCode(ctx context.Context, id string) (mfa.BypassCode, error) {
	b, err := scanBypass(s.reader().row(ctx, `SELECT `+bypassCols+` FROM bypass_codes b WHERE b.id = ?`, id))
	if err != nil {
		return mfa.BypassCode{}, s.dbErr(ctx, "get bypass code", err, notFound("bypass code not found"))
	}
	return b, nil
}

// ListBypassCodes lists codes in creation order.
func (s *Store) ListBypassCodes(ctx context.Context, f mfa.BypassFilter) ([]mfa.BypassCode, int, error) {
	var w where
	if f.UserID != "" {
		w.add(`b.user_id = ?`, f.UserID)
	}
	return list(ctx, s, "list bypass codes", bypassCols, "bypass_codes b", &w, "b.created, b.id", f.Page, scanBypass)
}

// DeleteBypassCode deletes one code.
func (s *Store) DeleteBypassCode(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM bypass_codes WHERE id = ?`, id)
	return s.affected(ctx, "delete bypass code", n, err, "bypass code not found")
}

// DeleteSpentBypassCodes deletes used-up and expired codes.
func (s *Store) DeleteSpentBypassCodes(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM bypass_codes
		WHERE (NOT unlimited AND uses_left <= 0) OR (expires IS NOT NULL AND expires <= ?)`, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete spent bypass codes", err)
	}
	return int(n), nil
}

// spendBypassSQL spends a use of the code: found by its keyed hash on the
// unique (user_id, code_hash) index, so a user's other codes are neither
// hashed nor read (TestBypassLookupUsesIndex).
const spendBypassSQL = `UPDATE bypass_codes SET uses_left = CASE WHEN unlimited THEN uses_left ELSE uses_left - 1 END
	WHERE user_id = ? AND code_hash = ? AND (unlimited OR uses_left > 0) AND (expires IS NULL OR expires > ?)
	RETURNING id, uses_left, unlimited`

// spendBypass is GuardBypassCode: one conditional UPDATE spends a use of
// the user's usable code with hash h; the code is deleted when no use is
// left.
func (s *Store) spendBypass(ctx context.Context, c dbtx, userID string, h []byte, now time.Time) (usesLeft int, unlimited bool, err error) {
	const op = "spend bypass code"
	var id string
	err = c.row(ctx, spendBypassSQL, userID, h, now).Scan(&id, &usesLeft, &unlimited)
	if err != nil {
		return 0, false, s.dbErr(ctx, op, err, notFound("bypass code not found"))
	}
	if !unlimited && usesLeft <= 0 {
		if _, err := c.exec(ctx, `DELETE FROM bypass_codes WHERE id = ?`, id); err != nil {
			return 0, false, s.dbErr(ctx, op, err)
		}
	}
	return usesLeft, unlimited, nil
}
