-- twostep schema, version 5 (SQLite): signed requests accepted once.
--
-- used_signatures: one row per accepted state-changing signed request, keyed
-- by mfa.SignatureKey (hex SHA-256 of ikey, signature version and
-- signature), until the request's signed date plus the clock-skew window,
-- after which no node accepts that signature anyway. A claim is one
-- conditional INSERT ... ON CONFLICT DO UPDATE ... WHERE expired
-- (sqlstore/signatures.go); the reaper deletes expired rows. Times are unix
-- microseconds, like every other time column.
--
-- Timestamp-less v1 signatures cannot be claimed (two honest logins sign the
-- same request), so only unix integrations may use them: the flag is
-- cleared on every other integration.

CREATE TABLE used_signatures (
	key     TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX used_signatures_expires ON used_signatures (expires);

UPDATE integrations SET allow_v1_signatures = 0 WHERE type <> 'unix';
