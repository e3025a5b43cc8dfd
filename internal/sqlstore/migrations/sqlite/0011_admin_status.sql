-- twostep schema, version 11 (SQLite): administrator status.
--
-- admins.disabled: Duo's administrator status "Disabled" (0: "Active"). A
-- disabled administrator may not sign in and does not count as an Owner
-- for the last-Owner rule.

ALTER TABLE admins ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
