package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// SessionKeyLen is the length of every key SessionKey returns: the hex
// SHA-256 of a session token.
const SessionKeyLen = 2 * sha256.Size

// MaxSessionData bounds a session's stored data, in bytes.
const MaxSessionData = 64 << 10

// SessionKey returns the key under which the browser session with token
// (the cookie's value) is stored: its hex SHA-256, so that the database
// never holds a token a reader could present.
func SessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Session is one server-side browser session.
type Session struct {
	Key     string    // SessionKey of the cookie's token
	Data    []byte    // the web layer's encoding of the session's values
	Created time.Time // when the session began (its absolute timeout counts from here)
	Expires time.Time // when it ends unless used again (idle timeout, capped by the absolute one)
}

// SessionStore keeps browser sessions, shared by every node that uses the
// database, so that any node serves any request.
type SessionStore interface {
	// CreateSession stores a new session. Conflict if its key exists;
	// Invalid for a key that is not SessionKeyLen bytes, data larger than
	// MaxSessionData or an expiry that is not after Created.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session with key if it expires after now;
	// NotFound if there is none or it has expired.
	GetSession(ctx context.Context, key string, now time.Time) (Session, error)
	// UpdateSession replaces the data and expiry of the session with key,
	// if it has not expired at now; NotFound otherwise. Invalid for data
	// larger than MaxSessionData or an expiry that is not after now.
	UpdateSession(ctx context.Context, key string, data []byte, expires, now time.Time) error
	// DeleteSession deletes the session with key; deleting a session that
	// does not exist is not an error.
	DeleteSession(ctx context.Context, key string) error
	// DeleteExpiredSessions deletes the sessions whose expiry is at or
	// before now (the reaper), returning how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// CheckSessionArgs reports an Invalid error for session arguments that the
// contract refuses, for stores to share.
func CheckSessionArgs(key string, data []byte, expires, now time.Time) error {
	switch {
	case len(key) != SessionKeyLen:
		return InvalidField("key", "a session key must be 64 characters")
	case len(data) > MaxSessionData:
		return InvalidField("data", "session data is larger than 64 KiB")
	case !expires.After(now):
		return InvalidField("expires", "a session must expire after now")
	}
	return nil
}
