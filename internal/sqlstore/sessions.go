package sqlstore

import (
	"context"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

var _ mfa.SessionStore = (*Store)(nil)

// errNoSession is the one answer to a session key that is unknown or
// expired.
func errNoSession() error { return notFoundErr("session not found") }

// CreateSession stores a new browser session.
func (s *Store) CreateSession(ctx context.Context, se mfa.Session) error {
	created, expires := se.Created.Truncate(time.Microsecond), se.Expires.Truncate(time.Microsecond)
	if err := mfa.CheckSessionArgs(se.Key, se.Data, expires, created); err != nil {
		return err
	}
	data := se.Data
	if data == nil {
		data = []byte{}
	}
	_, err := s.writer().exec(ctx, `INSERT INTO sessions (key, data, created, expires) VALUES (?, ?, ?, ?)`,
		se.Key, data, created, expires)
	return s.dbErr(ctx, "create session", err, onUnique("key", "session already exists"))
}

// GetSession returns the unexpired session with key.
func (s *Store) GetSession(ctx context.Context, key string, now time.Time) (mfa.Session, error) {
	se := mfa.Session{Key: key}
	err := s.reader().row(ctx, `SELECT data, created, expires FROM sessions WHERE key = ? AND expires > ?`, key, now).
		Scan(&se.Data, scanTime{&se.Created}, scanTime{&se.Expires})
	if isNoRows(err) {
		return mfa.Session{}, errNoSession()
	}
	if err != nil {
		return mfa.Session{}, s.dbErr(ctx, "get session", err)
	}
	if se.Data == nil {
		se.Data = []byte{}
	}
	return se, nil
}

// UpdateSession replaces the data and expiry of an unexpired session, in
// one conditional statement.
func (s *Store) UpdateSession(ctx context.Context, key string, data []byte, expires, now time.Time) error {
	expires = expires.Truncate(time.Microsecond)
	if err := mfa.CheckSessionArgs(key, data, expires, now); err != nil {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	n, err := s.writer().execN(ctx, `UPDATE sessions SET data = ?, expires = ? WHERE key = ? AND expires > ?`,
		data, expires, key, now)
	if err != nil {
		return s.dbErr(ctx, "update session", err)
	}
	if n == 0 {
		return errNoSession()
	}
	return nil
}

// DeleteSession deletes the session with key, if there is one.
func (s *Store) DeleteSession(ctx context.Context, key string) error {
	if _, err := s.writer().execN(ctx, `DELETE FROM sessions WHERE key = ?`, key); err != nil {
		return s.dbErr(ctx, "delete session", err)
	}
	return nil
}

// DeleteExpiredSessions deletes the sessions whose expiry is at or before
// now, returning how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM sessions WHERE expires <= ?`, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete expired sessions", err)
	}
	return int(n), nil
}
