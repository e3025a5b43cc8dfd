package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Secrets at rest. Every mfa.Secret column holds Sealer.Seal(value, aad)
// with aad "<table>.<column>:<row key>", so that a sealed value copied to
// another row or column fails to open. An empty secret is NULL.
//
// Passcodes (bypass codes, SMS passcodes, activation codes) and remembered
// device tokens are not sealed but stored only as keyed hashes (codeHash),
// so they are not listed here: bypass_codes.code_hash, sms_codes.code_hash,
// activations.code_hash and trusted_devices.token_hash hold HMAC-SHA256
// under the code key, which itself is the sealed server_keys row below.

// sealedColumns lists every sealed column; Reseal walks it.
var sealedColumns = []struct{ table, key, column string }{
	{"authenticators", "id", "public_key"},
	{"authenticators", "id", "hotp_secret"},
	{"tokens", "id", "secret"},
	{"tokens", "id", "private_id"},
	{"tokens", "id", "aes_key"},
	{"integrations", "ikey", "skey"},
	{"server_keys", "name", "sealed_value"},
	{"signing_keys", "id", "private_key"},
	{"admins", "id", "totp_secret"},
}

func aad(table, column, key string) []byte {
	return []byte(table + "." + column + ":" + key)
}

// seal seals secret for table.column of the row with key; nil for an
// empty secret.
func (s *Store) seal(secret mfa.Secret, table, column, key string) ([]byte, error) {
	if len(secret) == 0 {
		return nil, nil
	}
	b, err := s.sealer.Seal(secret.Reveal(), aad(table, column, key))
	if err != nil {
		return nil, fmt.Errorf("seal %s.%s: %w", table, column, err)
	}
	return b, nil
}

// open opens what seal sealed; an empty secret for NULL.
func (s *Store) open(sealed []byte, table, column, key string) (mfa.Secret, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	b, err := s.sealer.Open(sealed, aad(table, column, key))
	if err != nil {
		return nil, fmt.Errorf("open %s.%s of %s: %w", table, column, key, err)
	}
	return mfa.Secret(b), nil
}

// codeKeyName names the code-hash key in server_keys.
const codeKeyName = "code_hmac"

// codeKeyFor returns the key of the keyed hashes of bypass codes, SMS
// passcodes, activation codes and remembered device tokens: 32 random bytes created once per
// database, kept sealed in server_keys. Open must work on an unmigrated database, so the key is
// loaded lazily: by Migrate, else by the first method that hashes a code.
// A failed load is retried on the next call; a loaded key is cached for the
// life of the Store (it never changes; Reseal only re-seals it).
//
// Two processes creating the key at once both INSERT ... ON CONFLICT DO
// NOTHING and then read back whichever row won.
func (s *Store) codeKeyFor(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.codeKey != nil {
		return s.codeKey, nil
	}
	key, err := s.loadCodeKey(ctx)
	if err != nil {
		return nil, s.dbErr(ctx, "load code key", err)
	}
	s.codeKey = key
	return key, nil
}

func (s *Store) loadCodeKey(ctx context.Context) ([]byte, error) {
	const get = `SELECT sealed_value FROM server_keys WHERE name = ?`
	var sealed []byte
	err := s.reader().row(ctx, get, codeKeyName).Scan(&sealed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		key := make([]byte, 32)
		if _, err := io.ReadFull(s.rand, key); err != nil {
			return nil, fmt.Errorf("generate code key: %w", err)
		}
		sealedNew, err := s.seal(key, "server_keys", "sealed_value", codeKeyName)
		if err != nil {
			return nil, err
		}
		if _, err := s.writer().exec(ctx,
			`INSERT INTO server_keys (name, sealed_value, created) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			codeKeyName, sealedNew, s.now()); err != nil {
			return nil, err
		}
		// Read back through the writer: the row is committed, and this
		// sees it even where a reader's snapshot might lag.
		if err := s.writer().row(ctx, get, codeKeyName).Scan(&sealed); err != nil {
			return nil, err
		}
	}
	key, err := s.open(sealed, "server_keys", "sealed_value", codeKeyName)
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("code key has %d bytes, want 32", len(key))
	}
	return key, nil
}

// Hash purposes: the same characters as a bypass code, an SMS passcode, an
// activation code and a remembered device token hash differently, so that
// a hash copied from one table to another matches nothing.
const (
	hashBypass     = "bypass"
	hashSMS        = "sms"
	hashActivation = "activation"
	hashTrusted    = "trusted_device"
	// hashTrustedToken derives a transaction's remembered-device token
	// (TrustedTokenFor); the token itself is then stored as a
	// hashTrusted hash like any other.
	hashTrustedToken = "trusted_device_token"
	// hashAdminActivation: administrator activation links.
	hashAdminActivation = "admin_activation"
)

// codeHash is the stored form of a passcode: HMAC-SHA256(key, purpose ||
// 0x00 || code).
func codeHash(key []byte, purpose string, code mfa.Passcode) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, purpose)
	m.Write([]byte{0})
	io.WriteString(m, string(code))
	return m.Sum(nil)
}
