-- twostep schema, version 9 (PostgreSQL): groups (Duo's Admin API groups).
--
-- groups: a named set of users (mfa.Group). name_lower keeps names unique
-- case-insensitively. status (active, bypass, disabled) applies to every
-- member at preauth and auth (mfa.EffectiveStatus).
--
-- user_groups: memberships; deleting a user or a group deletes them.
--
-- integrations.groups_allowed: Duo's groups_allowed, a JSON array of group
-- ids ('[]': every user may log in). A deleted group's id stays in the
-- array and then admits nobody (fail closed).

CREATE TABLE groups (
	id         TEXT COLLATE "C" NOT NULL CONSTRAINT groups_pkey PRIMARY KEY,
	name       TEXT NOT NULL,
	name_lower TEXT NOT NULL CONSTRAINT groups_name_lower_key UNIQUE,
	descr      TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created    TIMESTAMPTZ
);
CREATE INDEX groups_created ON groups (created, id);

CREATE TABLE user_groups (
	user_id  TEXT NOT NULL CONSTRAINT user_groups_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
	group_id TEXT NOT NULL CONSTRAINT user_groups_group_id_fkey REFERENCES groups (id) ON DELETE CASCADE,
	CONSTRAINT user_groups_pkey PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups (group_id);

ALTER TABLE integrations ADD COLUMN groups_allowed TEXT NOT NULL DEFAULT '[]';
