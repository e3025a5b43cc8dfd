-- twostep schema, version 13 (PostgreSQL): administrator activation links.
-- An invitation to become an administrator with email and role; only the
-- keyed hash of its code is stored (purpose "admin_activation"), unique, so
-- that redeeming is one conditional DELETE ... RETURNING on that index.

CREATE TABLE admin_activations (
	id          TEXT COLLATE "C" NOT NULL CONSTRAINT admin_activations_pkey PRIMARY KEY,
	code_hash   BYTEA NOT NULL CONSTRAINT admin_activations_code_hash_key UNIQUE,
	email       TEXT NOT NULL,
	role        TEXT NOT NULL,
	created_by  TEXT NOT NULL,
	created     TIMESTAMPTZ,
	expires     TIMESTAMPTZ NOT NULL
);
CREATE INDEX admin_activations_created ON admin_activations (created, id);
CREATE INDEX admin_activations_expires ON admin_activations (expires);
