package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

var _ mfa.ReplayStore = (*Store)(nil)

// claimSignature is the whole of a claim: one conditional upsert. A new key
// is inserted; a key whose claim expired (expires <= now) is taken over; a
// live claim is left as it is, and the statement then changes no row. On
// PostgreSQL a concurrent insert of the same key waits for the other and
// then re-checks the committed row (READ COMMITTED is enough); on SQLite
// the single writer serializes claims.
const claimSignature = `INSERT INTO used_signatures (key, expires) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET expires = excluded.expires
WHERE used_signatures.expires <= ?`

// ClaimSignature records key as used until expires (see mfa.ReplayStore),
// in one statement.
func (s *Store) ClaimSignature(ctx context.Context, key string, now, expires time.Time) error {
	now, expires = now.Truncate(time.Microsecond), expires.Truncate(time.Microsecond)
	if err := mfa.CheckClaimArgs(key, now, expires); err != nil {
		return err
	}
	claim := func(ctx context.Context, c dbtx) error {
		n, err := c.execN(ctx, claimSignature, key, expires, now)
		if err != nil {
			return s.dbErr(ctx, "claim signature", err)
		}
		if n == 0 {
			return &mfa.Error{Kind: mfa.Conflict, Field: "signature", Msg: "request already used"}
		}
		return nil
	}
	// On SQLite with group commit a claim joins the next group: one
	// statement in its own savepoint, sharing the group's COMMIT with its
	// neighbours' claims and auth writes, instead of a transaction of its
	// own on the single write connection.
	if s.gc != nil {
		return s.gc.do(ctx, claim)
	}
	return claim(ctx, s.writer())
}

// ReleaseSignature forgets the claim of key.
func (s *Store) ReleaseSignature(ctx context.Context, key string) error {
	if _, err := s.writer().execN(ctx, `DELETE FROM used_signatures WHERE key = ?`, key); err != nil {
		return s.dbErr(ctx, "release signature", err)
	}
	return nil
}

// DeleteExpiredSignatures deletes the claims whose expiry is at or before
// now, returning how many.
func (s *Store) DeleteExpiredSignatures(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM used_signatures WHERE expires <= ?`, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete expired signatures", err)
	}
	return int(n), nil
}
