-- twostep schema, version 14 (PostgreSQL): self-service bypass codes' identity answers.
--
-- user_identity: a user's answers to the identity checks of self-service
-- bypass codes, only as keyed hashes (HMAC-SHA256 under the sealed
-- server_keys.code_hmac key, bound to the user id and the check): pin_hash
-- (a PIN the user set) and dob_id_hash (date of birth and the last four
-- digits of an ID number, set by an administrator). NULL: not set. The
-- settings (one JSON row) gain SelfBypass, SelfBypassCheck and
-- SelfBypassLifetime, read over their defaults, so no change there.

CREATE TABLE user_identity (
	user_id     TEXT COLLATE "C" NOT NULL CONSTRAINT user_identity_pkey PRIMARY KEY
		CONSTRAINT user_identity_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
	pin_hash    BYTEA,
	pin_set     TIMESTAMPTZ,
	dob_id_hash BYTEA,
	dob_id_set  TIMESTAMPTZ
);
