-- twostep schema, version 17 (PostgreSQL): WebAuthn credentials (security
-- keys and passkeys).
--
-- webauthn_credentials: one credential a user registered. credential_id is
-- the authenticator's id (unique across users); public_key the COSE key;
-- sign_count the last signature counter seen, moved only by one
-- conditional UPDATE (ApplyAuth with GuardWebAuthnCounter); cloned is set
-- when a counter went backwards. transports is a comma-separated list.
-- Deleting the user deletes their credentials. Constraint names matter:
-- sqlstore maps them to messages.

CREATE TABLE webauthn_credentials (
	id              TEXT COLLATE "C" NOT NULL CONSTRAINT webauthn_credentials_pkey PRIMARY KEY,
	user_id         TEXT NOT NULL CONSTRAINT webauthn_credentials_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
	name            TEXT NOT NULL,
	credential_id   BYTEA NOT NULL,
	public_key      BYTEA NOT NULL,
	sign_count      BIGINT NOT NULL DEFAULT 0,
	aaguid          BYTEA,
	transports      TEXT NOT NULL DEFAULT '',
	attachment      TEXT NOT NULL DEFAULT '',
	backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
	backup_state    BOOLEAN NOT NULL DEFAULT FALSE,
	cloned          BOOLEAN NOT NULL DEFAULT FALSE,
	created         TIMESTAMPTZ,
	last_used       TIMESTAMPTZ
);
CREATE UNIQUE INDEX webauthn_credentials_credential_id ON webauthn_credentials (credential_id);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id, created, id);
CREATE INDEX webauthn_credentials_created ON webauthn_credentials (created, id);
