-- twostep schema, version 18 (PostgreSQL): administrators' security keys,
-- a second factor for the console sign-in.
--
-- admin_webauthn_credentials: one WebAuthn credential an administrator
-- registered, with the columns of webauthn_credentials (users' keys, which
-- reference users and cannot hold an administrator). credential_id is
-- unique among administrators' keys; sign_count moves forward only, in
-- one conditional UPDATE (UseAdminWebAuthnCounter), and a counter that
-- does not sets cloned, after which the key is refused. Deleting the
-- administrator deletes their keys. Constraint names matter: sqlstore
-- maps them to messages.

CREATE TABLE admin_webauthn_credentials (
	id              TEXT COLLATE "C" NOT NULL CONSTRAINT admin_webauthn_credentials_pkey PRIMARY KEY,
	admin_id        TEXT NOT NULL CONSTRAINT admin_webauthn_credentials_admin_id_fkey REFERENCES admins (id) ON DELETE CASCADE,
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
CREATE UNIQUE INDEX admin_webauthn_credentials_credential_id ON admin_webauthn_credentials (credential_id);
CREATE INDEX admin_webauthn_credentials_admin ON admin_webauthn_credentials (admin_id, created, id);
