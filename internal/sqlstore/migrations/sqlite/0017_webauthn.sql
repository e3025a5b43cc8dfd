-- twostep schema, version 17 (SQLite): WebAuthn credentials (security keys
-- and passkeys).
--
-- webauthn_credentials: one credential a user registered. credential_id is
-- the authenticator's id (unique across users); public_key the COSE key;
-- sign_count the last signature counter seen, moved only by one
-- conditional UPDATE (ApplyAuth with GuardWebAuthnCounter); cloned is set
-- when a counter went backwards. transports is a comma-separated list.
-- Deleting the user deletes their credentials.

CREATE TABLE webauthn_credentials (
	id              TEXT PRIMARY KEY,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name            TEXT NOT NULL,
	credential_id   BLOB NOT NULL,
	public_key      BLOB NOT NULL,
	sign_count      INTEGER NOT NULL DEFAULT 0,
	aaguid          BLOB,
	transports      TEXT NOT NULL DEFAULT '',
	attachment      TEXT NOT NULL DEFAULT '',
	backup_eligible INTEGER NOT NULL DEFAULT 0,
	backup_state    INTEGER NOT NULL DEFAULT 0,
	cloned          INTEGER NOT NULL DEFAULT 0,
	created         INTEGER,
	last_used       INTEGER
) STRICT;
CREATE UNIQUE INDEX webauthn_credentials_credential_id ON webauthn_credentials (credential_id);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id, created, id);
CREATE INDEX webauthn_credentials_created ON webauthn_credentials (created, id);
