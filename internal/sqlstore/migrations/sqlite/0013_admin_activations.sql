-- twostep schema, version 13 (SQLite): administrator activation links.
-- An invitation to become an administrator with email and role; only the
-- keyed hash of its code is stored (purpose "admin_activation"), unique, so
-- that redeeming is one conditional DELETE ... RETURNING on that index.

CREATE TABLE admin_activations (
	id          TEXT PRIMARY KEY,
	code_hash   BLOB NOT NULL UNIQUE,
	email       TEXT NOT NULL,
	role        TEXT NOT NULL,
	created_by  TEXT NOT NULL,
	created     INTEGER,
	expires     INTEGER NOT NULL
) STRICT;
CREATE INDEX admin_activations_created ON admin_activations (created, id);
CREATE INDEX admin_activations_expires ON admin_activations (expires);
