-- twostep schema, version 2 (SQLite): activation codes.
-- A code binds a new authenticator install to a user (and, when phone_id is
-- set, to that existing phone). Only its keyed hash is stored (code_hash,
-- HMAC-SHA256 with the "activation" purpose), unique across all users, so
-- that redeeming is one indexed conditional UPDATE. expires is required:
-- an activation code that never expires is not a thing we store.

CREATE TABLE activations (
	id        TEXT PRIMARY KEY,
	code_hash BLOB NOT NULL UNIQUE,
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	phone_id  TEXT REFERENCES phones (id) ON DELETE CASCADE, -- NULL: redeeming creates a phone
	created   INTEGER,
	expires   INTEGER NOT NULL,
	redeemed  INTEGER -- NULL until redeemed
) STRICT;
CREATE INDEX activations_user ON activations (user_id);
CREATE INDEX activations_phone ON activations (phone_id);
CREATE INDEX activations_expires ON activations (expires);
CREATE INDEX activations_redeemed ON activations (redeemed) WHERE redeemed IS NOT NULL;
