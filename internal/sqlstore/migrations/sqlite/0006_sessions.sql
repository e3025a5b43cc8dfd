-- twostep schema, version 6 (SQLite): browser sessions.
--
-- sessions: one row per server-side browser session (internal/web), keyed by
-- mfa.SessionKey, the hex SHA-256 of the cookie's token, so that the
-- database never holds a token a reader could present. data is the web
-- layer's encoding of the session's values; expires is the idle expiry,
-- capped by the absolute one (created plus the session lifetime). Reads
-- ignore expired rows; the reaper deletes them. Times are unix
-- microseconds, like every other time column.

CREATE TABLE sessions (
	key     TEXT PRIMARY KEY,
	data    BLOB NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_expires ON sessions (expires);
