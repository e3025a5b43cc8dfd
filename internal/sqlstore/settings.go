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
	var data string
	err := s.reader().row(ctx, `SELECT data FROM settings WHERE id = 1`).Scan(&data)
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
	_, err = s.writer().exec(ctx, `INSERT INTO settings (id, data, updated) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated = excluded.updated`, string(data), s.now())
	return s.dbErr(ctx, "put settings", err)
}
