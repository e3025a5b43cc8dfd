-- twostep schema (SQLite): twostep passwords and the standard OpenID Connect
-- provider. (Numbered 0008 on branch h-firstlogin; 0010 on main, after the telephony status and groups migrations.)
--
-- user_passwords: a user's twostep password as an argon2id PHC string
-- (hashed by the service, outside any write transaction).
--
-- signing_keys: the OIDC provider's ES256 keys; private_key is sealed
-- (XChaCha20-Poly1305, aad "signing_keys.private_key:<id>") like every
-- other secret. The newest key whose not_after is ahead signs; every key
-- is published until expires.
--
-- integrations: OIDC clients (type oidc) may be public (no secret, PKCE
-- required) and list where end_session may send the browser.
--
-- login_requests: standard OIDC logins carry the protocol, scopes, the
-- PKCE challenge, prompt=login / max_age, where the first-factor pages
-- continue, and who passed the first factor.

CREATE TABLE user_passwords (
	user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	hash    TEXT NOT NULL,
	set_at  INTEGER
) STRICT;

CREATE TABLE signing_keys (
	id          TEXT PRIMARY KEY,
	algorithm   TEXT NOT NULL,
	private_key BLOB NOT NULL,
	created     INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	expires     INTEGER NOT NULL
) STRICT;
CREATE INDEX signing_keys_expires ON signing_keys (expires);

ALTER TABLE integrations ADD COLUMN public_client INTEGER NOT NULL DEFAULT 0;
ALTER TABLE integrations ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';

ALTER TABLE login_requests ADD COLUMN protocol TEXT NOT NULL DEFAULT '';
ALTER TABLE login_requests ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE login_requests ADD COLUMN code_challenge TEXT NOT NULL DEFAULT '';
ALTER TABLE login_requests ADD COLUMN force_login INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_requests ADD COLUMN max_age INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_requests ADD COLUMN continue_path TEXT NOT NULL DEFAULT '';
ALTER TABLE login_requests ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE login_requests ADD COLUMN first_factor TEXT NOT NULL DEFAULT '';
