package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// The OIDC provider's signing keys; private_key is sealed.

var _ mfa.SigningKeyStore = (*Store)(nil)

const signingKeyCols = `id, algorithm, private_key, created, not_after, expires`

func (s *Store) scanSigningKey(r rowScanner) (mfa.SigningKey, error) {
	var k mfa.SigningKey
	var sealed []byte
	if err := r.Scan(&k.ID, &k.Algorithm, &sealed, scanTime{&k.Created}, scanTime{&k.NotAfter}, scanTime{&k.Expires}); err != nil {
		return mfa.SigningKey{}, err
	}
	var err error
	if k.Private, err = s.open(sealed, "signing_keys", "private_key", k.ID); err != nil {
		return mfa.SigningKey{}, err
	}
	return k, nil
}

// CreateSigningKey stores a new key, its private part sealed.
func (s *Store) CreateSigningKey(ctx context.Context, k mfa.SigningKey) error {
	if err := mfa.CheckSigningKey(k); err != nil {
		return err
	}
	sealed, err := s.seal(k.Private, "signing_keys", "private_key", k.ID)
	if err != nil {
		return err
	}
	_, err = s.writer().exec(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, sealed, k.Created, k.NotAfter, k.Expires)
	return s.dbErr(ctx, "create signing key", err, onUnique("id", "signing key already exists"))
}

// ListSigningKeys returns the unexpired keys, newest first.
func (s *Store) ListSigningKeys(ctx context.Context, now time.Time) ([]mfa.SigningKey, error) {
	return queryAll(ctx, s, s.reader(), "list signing keys", `SELECT `+signingKeyCols+` FROM signing_keys
		WHERE expires > ? ORDER BY created DESC, id DESC`, []any{now}, s.scanSigningKey)
}

// RetireSigningKeys stops the keys created before created from signing,
// in one UPDATE.
func (s *Store) RetireSigningKeys(ctx context.Context, created, now time.Time, overlap time.Duration) (int, error) {
	until := now.Add(overlap)
	n, err := s.writer().execN(ctx, `UPDATE signing_keys SET not_after = ?,
		expires = CASE WHEN expires > ? THEN ? ELSE expires END
		WHERE created < ? AND not_after > ?`, now, until, until, created, now)
	if err != nil {
		return 0, s.dbErr(ctx, "retire signing keys", err)
	}
	return int(n), nil
}

// DeleteExpiredSigningKeys deletes keys no longer published.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM signing_keys WHERE expires <= ?`, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete expired signing keys", err)
	}
	return int(n), nil
}
