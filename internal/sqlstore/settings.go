package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// The settings are one row of JSON. Reading decodes over DefaultSettings,
// so a field added to mfa.Settings after the row was written reads as its
// default.

// GetSettings returns the stored settings, or mfa.DefaultSettings() if none
// were ever stored.
func (s *Store) GetSettings(ctx context.Context) (mfa.Settings, error) {
	if s.txFrom(ctx) != nil {
		// Inside Atomic: the transaction's own view, never cached.
		return s.loadSettings(ctx, s.reader(), "")
	}
	// The configuration cache (configcache.go) answers when it can.
	st, gen, ok := s.cfg.getSettings()
	if ok {
		return st, nil
	}
	return s.readSettings(ctx, gen)
}

func (s *Store) readSettings(ctx context.Context, gen uint64) (mfa.Settings, error) {
	s.startListener()
	at := s.now()
	st, err := s.loadSettings(ctx, s.reader(), "")
	if err != nil {
		return mfa.Settings{}, err
	}
	s.cfg.putSettings(gen, st, at)
	return st, nil
}

// loadSettings reads the settings through c; lock is appended to the
// SELECT.
func (s *Store) loadSettings(ctx context.Context, c dbtx, lock string) (mfa.Settings, error) {
	var data string
	err := c.row(ctx, `SELECT data FROM settings WHERE id = 1`+lock).Scan(&data)
	if isNoRows(err) {
		return mfa.DefaultSettings(), nil
	}
	if err != nil {
		return mfa.Settings{}, s.dbErr(ctx, "get settings", err)
	}
	st := mfa.DefaultSettings()
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return mfa.Settings{}, fmt.Errorf("get settings: %w", err)
	}
	return st, nil
}

// PutSettings stores the settings.
func (s *Store) PutSettings(ctx context.Context, st mfa.Settings) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("put settings: %w", err)
	}
	defer s.configCommitted(ctx)
	return s.writeTx(ctx, "put settings", func(c dbtx) error {
		if _, err := c.exec(ctx, `INSERT INTO settings (id, data, updated) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated = excluded.updated`, string(data), s.now()); err != nil {
			return err
		}
		return s.configChanged(ctx, c)
	})
}

// UpdateSettings changes the settings with fn in one transaction: the row
// is created if missing (as the defaults, '{}'), then read locked (on
// PostgreSQL; SQLite's single writer serializes the whole transaction), so
// a concurrent update waits for this one and then sees its result.
func (s *Store) UpdateSettings(ctx context.Context, fn func(*mfa.Settings) error) (mfa.Settings, error) {
	const op = "update settings"
	var st mfa.Settings
	defer s.configCommitted(ctx)
	err := s.writeTx(ctx, op, func(c dbtx) error {
		if _, err := c.exec(ctx, `INSERT INTO settings (id, data, updated) VALUES (1, '{}', ?)
			ON CONFLICT (id) DO NOTHING`, s.now()); err != nil {
			return err
		}
		var err error
		if st, err = s.loadSettings(ctx, c, s.d.forUpdate); err != nil {
			return err
		}
		if err := fn(&st); err != nil {
			return err
		}
		data, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if _, err := c.exec(ctx, `UPDATE settings SET data = ?, updated = ? WHERE id = 1`, string(data), s.now()); err != nil {
			return err
		}
		return s.configChanged(ctx, c)
	})
	if err != nil {
		return mfa.Settings{}, err
	}
	return st, nil
}
