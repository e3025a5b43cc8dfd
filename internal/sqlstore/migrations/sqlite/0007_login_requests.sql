-- twostep schema, version 7 (SQLite): Universal Prompt (OIDC) logins.
--
-- integrations.redirect_uris: a websdk integration's registered redirect
-- URIs, a JSON array of strings ('[]' for every other type).
--
-- login_requests: one row per pending browser login (mfa.LoginRequest),
-- created at /oauth/v1/authorize, completed by the prompt, and ending in a
-- single-use code. Only hashes are stored: binding_hash is the SHA-256 of
-- the secret in the browser's binding cookie, code_hash that of the code.
-- Completing, issuing and redeeming are each one conditional UPDATE
-- (sqlstore/loginrequests.go): of concurrent attempts exactly one wins. The
-- reaper deletes rows whose request and code have both expired. Times are
-- unix microseconds, like every other time column.

ALTER TABLE integrations ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';

CREATE TABLE login_requests (
	id           TEXT PRIMARY KEY,
	ikey         TEXT NOT NULL REFERENCES integrations (ikey) ON DELETE CASCADE,
	username     TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	state        TEXT NOT NULL DEFAULT '',
	nonce        TEXT NOT NULL DEFAULT '',
	use_duo_code INTEGER NOT NULL DEFAULT 1,
	return_path  TEXT NOT NULL DEFAULT '',
	binding_hash TEXT NOT NULL,
	created      INTEGER,
	expires      INTEGER NOT NULL,
	result       TEXT NOT NULL DEFAULT '',
	auth_txid    TEXT NOT NULL DEFAULT '',
	factor       TEXT NOT NULL DEFAULT '',
	auth_time    INTEGER,
	code_hash    TEXT,
	code_expires INTEGER,
	code_used    INTEGER
) STRICT;
CREATE UNIQUE INDEX login_requests_code_hash ON login_requests (code_hash);
CREATE INDEX login_requests_expires ON login_requests (expires);
CREATE INDEX login_requests_ikey ON login_requests (ikey);

-- The token endpoint reads the decision's record by txid.
CREATE INDEX auth_log_txid ON auth_log (txid);
