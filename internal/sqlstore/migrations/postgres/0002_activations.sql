-- twostep schema, version 2 (PostgreSQL): activation codes.
-- A code binds a new authenticator install to a user (and, when phone_id is
-- set, to that existing phone). Only its keyed hash is stored (code_hash,
-- HMAC-SHA256 with the "activation" purpose), unique across all users, so
-- that redeeming is one indexed conditional UPDATE ... RETURNING. expires
-- is required: an activation code that never expires is not a thing we
-- store. Constraint names matter: sqlstore maps them to messages.

CREATE TABLE activations (
	id        TEXT COLLATE "C" NOT NULL CONSTRAINT activations_pkey PRIMARY KEY,
	code_hash BYTEA NOT NULL CONSTRAINT activations_code_hash_key UNIQUE,
	user_id   TEXT NOT NULL CONSTRAINT activations_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
	phone_id  TEXT CONSTRAINT activations_phone_id_fkey REFERENCES phones (id) ON DELETE CASCADE, -- NULL: redeeming creates a phone
	created   TIMESTAMPTZ,
	expires   TIMESTAMPTZ NOT NULL,
	redeemed  TIMESTAMPTZ -- NULL until redeemed
);
CREATE INDEX activations_user ON activations (user_id);
CREATE INDEX activations_phone ON activations (phone_id);
CREATE INDEX activations_expires ON activations (expires);
CREATE INDEX activations_redeemed ON activations (redeemed) WHERE redeemed IS NOT NULL;
