-- twostep schema, version 11 (PostgreSQL): administrator status.
--
-- admins.disabled: Duo's administrator status "Disabled" (false: "Active").
-- A disabled administrator may not sign in and does not count as an Owner
-- for the last-Owner rule.

ALTER TABLE admins ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
