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
	var data string
	err := s.reader().row(ctx, `SELECT data FROM settings WHERE id = 1`).Scan(&data)
	if isNoRows(err) {
		s.cfg.putSettings(gen, mfa.DefaultSettings(), at)
		return mfa.DefaultSettings(), nil
	}
	if err != nil {
		return mfa.Settings{}, s.dbErr(ctx, "get settings", err)
	}
	st := mfa.DefaultSettings()
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return mfa.Settings{}, fmt.Errorf("get settings: %w", err)
	}
	s.cfg.putSettings(gen, st, at)
	return st, nil
}

// PutSettings stores the settings.
func (s *Store) PutSettings(ctx context.Context, st mfa.Settings) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("put settings: %w", err)
	}
	defer s.configCommitted()
	return s.writeTx(ctx, "put settings", func(c dbtx) error {
		if _, err := c.exec(ctx, `INSERT INTO settings (id, data, updated) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated = excluded.updated`, string(data), s.now()); err != nil {
			return err
		}
		return s.configChanged(ctx, c)
	})
}
