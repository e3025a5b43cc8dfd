-- twostep schema, version 6 (PostgreSQL): browser sessions.
--
-- sessions: one row per server-side browser session (internal/web), keyed by
-- mfa.SessionKey, the hex SHA-256 of the cookie's token, so that the
-- database never holds a token a reader could present. data is the web
-- layer's encoding of the session's values; expires is the idle expiry,
-- capped by the absolute one (created plus the session lifetime). Reads
-- ignore expired rows; the reaper deletes them. Any node serves any
-- session.

CREATE TABLE sessions (
	key     TEXT COLLATE "C" NOT NULL CONSTRAINT sessions_pkey PRIMARY KEY,
	data    BYTEA NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	expires TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);
