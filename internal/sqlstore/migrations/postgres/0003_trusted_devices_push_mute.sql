-- twostep schema, version 3 (PostgreSQL): remembered devices and push mute.
--
-- phones.push_muted_until: no push is sent to the phone before this instant
-- (NULL: not muted). Only MutePush writes it; UpdatePhone leaves it.
--
-- trusted_devices: a remembered device ("trusted_device_token") of one user
-- through one integration. Only the token's keyed hash is stored
-- (token_hash, HMAC-SHA256 with the "trusted_device" purpose, like the
-- bypass, SMS and activation code hashes), so checking a token is one
-- indexed lookup. expires is required: no remembered device lives forever.
-- Deleting the user deletes their devices. Constraint names matter:
-- sqlstore maps them to messages.

ALTER TABLE phones ADD COLUMN push_muted_until TIMESTAMPTZ;

CREATE TABLE trusted_devices (
	id         TEXT COLLATE "C" NOT NULL CONSTRAINT trusted_devices_pkey PRIMARY KEY,
	token_hash BYTEA NOT NULL,
	user_id    TEXT NOT NULL CONSTRAINT trusted_devices_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
	ikey       TEXT NOT NULL DEFAULT '',
	created    TIMESTAMPTZ,
	expires    TIMESTAMPTZ NOT NULL
);
CREATE INDEX trusted_devices_token ON trusted_devices (token_hash);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);
CREATE INDEX trusted_devices_expires ON trusted_devices (expires);
