-- twostep schema, version 5 (PostgreSQL): signed requests accepted once.
--
-- used_signatures: one row per accepted state-changing signed request, keyed
-- by mfa.SignatureKey (hex SHA-256 of ikey, signature version and
-- signature), until the request's signed date plus the clock-skew window,
-- after which no node accepts that signature anyway. A claim is one
-- conditional INSERT ... ON CONFLICT DO UPDATE ... WHERE expired
-- (sqlstore/signatures.go), which READ COMMITTED makes exact across nodes:
-- a concurrent claim of the same key waits for the first and then finds it
-- live. The reaper deletes expired rows.
--
-- Timestamp-less v1 signatures cannot be claimed (two honest logins sign the
-- same request), so only unix integrations may use them: the flag is
-- cleared on every other integration.

CREATE TABLE used_signatures (
	key     TEXT COLLATE "C" NOT NULL CONSTRAINT used_signatures_pkey PRIMARY KEY,
	expires TIMESTAMPTZ NOT NULL
);
CREATE INDEX used_signatures_expires ON used_signatures (expires);

UPDATE integrations SET allow_v1_signatures = FALSE WHERE type <> 'unix';
