-- twostep schema, version 9 (SQLite): groups (Duo's Admin API groups).
--
-- groups: a named set of users (mfa.Group). name_lower keeps names unique
-- case-insensitively. status (active, bypass, disabled) applies to every
-- member at preauth and auth (mfa.EffectiveStatus).
--
-- user_groups: memberships; deleting a user or a group deletes them.
--
-- integrations.groups_allowed: Duo's groups_allowed, a JSON array of group
-- ids ('[]': every user may log in). A deleted group's id stays in the
-- array and then admits nobody (fail closed). Times are unix microseconds,
-- like every other time column.

CREATE TABLE groups (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_lower TEXT NOT NULL UNIQUE,
	descr      TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created    INTEGER
) STRICT;
CREATE INDEX groups_created ON groups (created, id);

CREATE TABLE user_groups (
	user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, group_id)
) STRICT;
CREATE INDEX user_groups_group ON user_groups (group_id);

ALTER TABLE integrations ADD COLUMN groups_allowed TEXT NOT NULL DEFAULT '[]';
