-- twostep schema, version 1 (PostgreSQL).
-- Times are timestamptz (NULL = zero time); sealed secrets are bytea
-- (NULL = empty); passcodes are stored only as HMAC-SHA256 keyed hashes
-- (code_hash). Constraint names matter: sqlstore maps them to messages.
-- Keys that order listings use the "C" collation, so that order is
-- byte order, as in SQLite, whatever the database default.

CREATE TABLE users (
	id              TEXT COLLATE "C" PRIMARY KEY,
	username        TEXT NOT NULL,
	real_name       TEXT NOT NULL DEFAULT '',
	first_name      TEXT NOT NULL DEFAULT '',
	last_name       TEXT NOT NULL DEFAULT '',
	email           TEXT NOT NULL DEFAULT '',
	email_lower     TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	aliases         TEXT NOT NULL DEFAULT '[]', -- JSON array, in order; uniqueness lives in user_names
	notes           TEXT NOT NULL DEFAULT '',
	created         TIMESTAMPTZ,
	last_login      TIMESTAMPTZ,
	failed_attempts INTEGER NOT NULL DEFAULT 0,
	locked_at       TIMESTAMPTZ,
	lockout_failure INTEGER NOT NULL DEFAULT 0 -- failed_attempts value at which the user was last locked out
);
CREATE INDEX users_created ON users (created, id);
CREATE INDEX users_email_lower ON users (email_lower);
CREATE INDEX users_locked ON users (status, locked_at);

-- Every username and alias, lower-cased: one namespace, case-insensitive.
CREATE TABLE user_names (
	name_lower TEXT NOT NULL CONSTRAINT user_names_pkey PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	is_alias   BOOLEAN NOT NULL
);
CREATE INDEX user_names_user ON user_names (user_id);

CREATE TABLE phones (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	number             TEXT NOT NULL DEFAULT '',
	extension          TEXT NOT NULL DEFAULT '',
	name               TEXT NOT NULL DEFAULT '',
	type               TEXT NOT NULL DEFAULT '',
	platform           TEXT NOT NULL DEFAULT '',
	model              TEXT NOT NULL DEFAULT '',
	sms_passcodes_sent BOOLEAN NOT NULL DEFAULT FALSE,
	created            TIMESTAMPTZ,
	last_seen          TIMESTAMPTZ
);
CREATE INDEX phones_created ON phones (created, id);
CREATE INDEX phones_number ON phones (number, extension);

CREATE TABLE user_phones (
	user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	phone_id TEXT NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, phone_id)
);
CREATE INDEX user_phones_phone ON user_phones (phone_id);

CREATE TABLE authenticators (
	id             TEXT COLLATE "C" PRIMARY KEY,
	phone_id       TEXT NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
	user_id        TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL,
	public_key     BYTEA,
	hotp_secret    BYTEA,
	hotp_counter   BIGINT NOT NULL DEFAULT 0,
	totp           BOOLEAN NOT NULL DEFAULT FALSE,
	totp_last_step BIGINT NOT NULL DEFAULT 0,
	platform       TEXT NOT NULL DEFAULT '',
	model          TEXT NOT NULL DEFAULT '',
	app_version    TEXT NOT NULL DEFAULT '',
	created        TIMESTAMPTZ,
	last_seen      TIMESTAMPTZ
);
CREATE INDEX authenticators_phone ON authenticators (phone_id, status);
CREATE UNIQUE INDEX authenticators_active_phone ON authenticators (phone_id) WHERE status = 'active';

CREATE TABLE tokens (
	id         TEXT COLLATE "C" PRIMARY KEY,
	type       TEXT NOT NULL,
	serial     TEXT NOT NULL,
	secret     BYTEA,
	counter    BIGINT NOT NULL DEFAULT 0,
	totp_step  INTEGER NOT NULL DEFAULT 0,
	last_step  BIGINT NOT NULL DEFAULT 0,
	private_id BYTEA,
	aes_key    BYTEA,
	yk_counter BIGINT NOT NULL DEFAULT 0,
	created    TIMESTAMPTZ,
	CONSTRAINT tokens_type_serial_key UNIQUE (type, serial)
);
CREATE INDEX tokens_created ON tokens (created, id);

CREATE TABLE user_tokens (
	user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_id TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, token_id)
);
CREATE INDEX user_tokens_token ON user_tokens (token_id);

CREATE TABLE bypass_codes (
	id         TEXT COLLATE "C" PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  BYTEA NOT NULL,
	uses_left  INTEGER NOT NULL DEFAULT 0,
	unlimited  BOOLEAN NOT NULL DEFAULT FALSE,
	expires    TIMESTAMPTZ,
	created_by TEXT NOT NULL DEFAULT '',
	created    TIMESTAMPTZ,
	CONSTRAINT bypass_codes_user_code UNIQUE (user_id, code_hash)
);
CREATE INDEX bypass_codes_created ON bypass_codes (created, id);

CREATE TABLE sms_batches (
	id       TEXT COLLATE "C" PRIMARY KEY,
	user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	phone_id TEXT NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
	created  TIMESTAMPTZ,
	expires  TIMESTAMPTZ
);
CREATE INDEX sms_batches_user_phone ON sms_batches (user_id, phone_id);
CREATE INDEX sms_batches_phone ON sms_batches (phone_id);

CREATE TABLE sms_codes (
	batch_id  TEXT NOT NULL REFERENCES sms_batches (id) ON DELETE CASCADE,
	idx       INTEGER NOT NULL,
	user_id   TEXT NOT NULL,
	code_hash BYTEA NOT NULL,
	used_at   TIMESTAMPTZ,
	PRIMARY KEY (batch_id, idx),
	CONSTRAINT sms_codes_batch_code UNIQUE (batch_id, code_hash)
);
CREATE INDEX sms_codes_user_code ON sms_codes (user_id, code_hash);

CREATE TABLE transactions (
	id                TEXT COLLATE "C" PRIMARY KEY,
	user_id           TEXT NOT NULL DEFAULT '',
	ikey              TEXT NOT NULL DEFAULT '',
	factor            TEXT NOT NULL DEFAULT '',
	phone_id          TEXT NOT NULL DEFAULT '',
	state             TEXT NOT NULL,
	status            TEXT NOT NULL DEFAULT '',
	status_msg        TEXT NOT NULL DEFAULT '',
	push_info         TEXT NOT NULL DEFAULT '',
	type              TEXT NOT NULL DEFAULT '',
	display_username  TEXT NOT NULL DEFAULT '',
	ip                TEXT NOT NULL DEFAULT '',
	hostname          TEXT NOT NULL DEFAULT '',
	verification_code TEXT NOT NULL DEFAULT '',
	created           TIMESTAMPTZ,
	expires           TIMESTAMPTZ,
	answered          TIMESTAMPTZ
);
CREATE INDEX transactions_phone ON transactions (phone_id, state, expires);
CREATE INDEX transactions_expires ON transactions (state, expires);

CREATE TABLE auth_log (
	seq              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	ts               TIMESTAMPTZ NOT NULL,
	txid             TEXT COLLATE "C" NOT NULL DEFAULT '',
	event_type       TEXT NOT NULL DEFAULT '',
	user_id          TEXT NOT NULL DEFAULT '',
	username         TEXT NOT NULL DEFAULT '',
	ikey             TEXT NOT NULL DEFAULT '',
	integration_name TEXT NOT NULL DEFAULT '',
	factor           TEXT NOT NULL DEFAULT '',
	result           TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	ip               TEXT NOT NULL DEFAULT '',
	hostname         TEXT NOT NULL DEFAULT '',
	device_id        TEXT NOT NULL DEFAULT '',
	device_name      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_log_ts ON auth_log (ts, txid);
CREATE INDEX auth_log_user ON auth_log (user_id, ts, txid);
CREATE INDEX auth_log_ikey ON auth_log (ikey, ts, txid);

CREATE TABLE admin_log (
	id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	ts          TIMESTAMPTZ NOT NULL,
	actor       TEXT NOT NULL DEFAULT '',
	actor_kind  TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL DEFAULT '',
	object_type TEXT NOT NULL DEFAULT '',
	object      TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX admin_log_ts ON admin_log (ts);

CREATE TABLE telephony_log (
	id      BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	ts      TIMESTAMPTZ NOT NULL,
	type    TEXT NOT NULL DEFAULT '',
	context TEXT NOT NULL DEFAULT '',
	phone   TEXT NOT NULL DEFAULT '',
	user_id TEXT NOT NULL DEFAULT '',
	credits INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX telephony_log_ts ON telephony_log (ts);

CREATE TABLE integrations (
	ikey                TEXT COLLATE "C" PRIMARY KEY,
	skey                BYTEA,
	name                TEXT NOT NULL DEFAULT '',
	type                TEXT NOT NULL,
	permissions         TEXT NOT NULL DEFAULT '{}', -- JSON mfa.AdminPermissions
	enroll_policy       TEXT NOT NULL DEFAULT '',
	allow_v1_signatures BOOLEAN NOT NULL DEFAULT FALSE,
	refuse_bypass_codes BOOLEAN NOT NULL DEFAULT FALSE,
	trusted_device_days INTEGER NOT NULL DEFAULT 0,
	greeting            TEXT NOT NULL DEFAULT '',
	notes               TEXT NOT NULL DEFAULT '',
	created             TIMESTAMPTZ
);
CREATE INDEX integrations_created ON integrations (created, ikey);

CREATE TABLE admins (
	id            TEXT COLLATE "C" PRIMARY KEY,
	email         TEXT NOT NULL,
	email_lower   TEXT NOT NULL CONSTRAINT admins_email_lower_key UNIQUE,
	name          TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	created       TIMESTAMPTZ,
	last_login    TIMESTAMPTZ
);
CREATE INDEX admins_created ON admins (created, id);

-- The account settings: one row, JSON mfa.Settings.
CREATE TABLE settings (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	data    TEXT NOT NULL,
	updated TIMESTAMPTZ
);

-- Keys the server generates for itself, sealed like every other secret.
CREATE TABLE server_keys (
	name         TEXT COLLATE "C" PRIMARY KEY,
	sealed_value BYTEA NOT NULL,
	created      TIMESTAMPTZ
);
