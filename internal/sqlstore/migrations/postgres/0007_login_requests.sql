-- twostep schema, version 7 (PostgreSQL): Universal Prompt (OIDC) logins.
--
-- integrations.redirect_uris: a websdk integration's registered redirect
-- URIs, a JSON array of strings ('[]' for every other type).
--
-- login_requests: one row per pending browser login (mfa.LoginRequest),
-- created at /oauth/v1/authorize, completed by the prompt, and ending in a
-- single-use code. Only hashes are stored: binding_hash is the SHA-256 of
-- the secret in the browser's binding cookie, code_hash that of the code.
-- Completing, issuing and redeeming are each one conditional UPDATE ...
-- RETURNING (sqlstore/loginrequests.go), which READ COMMITTED makes exact
-- across nodes: of concurrent attempts exactly one wins. The reaper deletes
-- rows whose request and code have both expired.

ALTER TABLE integrations ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';

CREATE TABLE login_requests (
	id           TEXT COLLATE "C" NOT NULL CONSTRAINT login_requests_pkey PRIMARY KEY,
	ikey         TEXT COLLATE "C" NOT NULL CONSTRAINT login_requests_ikey_fkey REFERENCES integrations (ikey) ON DELETE CASCADE,
	username     TEXT NOT NULL,
	redirect_uri TEXT COLLATE "C" NOT NULL,
	state        TEXT NOT NULL DEFAULT '',
	nonce        TEXT NOT NULL DEFAULT '',
	use_duo_code BOOLEAN NOT NULL DEFAULT TRUE,
	return_path  TEXT NOT NULL DEFAULT '',
	binding_hash TEXT COLLATE "C" NOT NULL,
	created      TIMESTAMPTZ,
	expires      TIMESTAMPTZ NOT NULL,
	result       TEXT NOT NULL DEFAULT '',
	auth_txid    TEXT NOT NULL DEFAULT '',
	factor       TEXT NOT NULL DEFAULT '',
	auth_time    TIMESTAMPTZ,
	code_hash    TEXT COLLATE "C" CONSTRAINT login_requests_code_hash_key UNIQUE,
	code_expires TIMESTAMPTZ,
	code_used    TIMESTAMPTZ
);
CREATE INDEX login_requests_expires ON login_requests (expires);
CREATE INDEX login_requests_ikey ON login_requests (ikey);

-- The token endpoint reads the decision's record by txid.
CREATE INDEX auth_log_txid ON auth_log (txid);
