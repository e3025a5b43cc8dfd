-- twostep schema, version 18 (SQLite): administrators' security keys, a
-- second factor for the console sign-in.
--
-- admin_webauthn_credentials: one WebAuthn credential an administrator
-- registered, with the columns of webauthn_credentials (users' keys, which
-- reference users and cannot hold an administrator). credential_id is
-- unique among administrators' keys; sign_count moves forward only, in
-- one conditional UPDATE (UseAdminWebAuthnCounter), and a counter that
-- does not sets cloned, after which the key is refused. Deleting the
-- administrator deletes their keys.

CREATE TABLE admin_webauthn_credentials (
	id              TEXT PRIMARY KEY,
	admin_id        TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
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
CREATE UNIQUE INDEX admin_webauthn_credentials_credential_id ON admin_webauthn_credentials (credential_id);
CREATE INDEX admin_webauthn_credentials_admin ON admin_webauthn_credentials (admin_id, created, id);
