package sqlstore

import (
	"context"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Groups and memberships (migration 0008).

var _ mfa.GroupStore = (*Store)(nil)

const groupCols = `g.id, g.name, g.descr, g.status, g.created`

func scanGroup(r rowScanner) (mfa.Group, error) {
	var g mfa.Group
	err := r.Scan(&g.ID, &g.Name, &g.Desc, &g.Status, scanTime{&g.Created})
	return g, err
}

const groupNameTaken = "a group with this name already exists"

// CreateGroup stores a new group; a taken name is Conflict (Field "name").
func (s *Store) CreateGroup(ctx context.Context, g mfa.Group) error {
	_, err := s.writer().exec(ctx, `INSERT INTO groups (id, name, name_lower, descr, status, created)
		VALUES (?, ?, ?, ?, ?, ?)`, g.ID, g.Name, strings.ToLower(g.Name), g.Desc, g.Status, g.Created)
	return s.dbErr(ctx, "create group", err)
}

// GetGroup returns the group with id.
func (s *Store) GetGroup(ctx context.Context, id string) (mfa.Group, error) {
	g, err := scanGroup(s.reader().row(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.id = ?`, id))
	if err != nil {
		return mfa.Group{}, s.dbErr(ctx, "get group", err, notFound("group not found"))
	}
	return g, nil
}

// ListGroups lists groups in creation order.
func (s *Store) ListGroups(ctx context.Context, p mfa.Page) ([]mfa.Group, int, error) {
	return list(ctx, s, "list groups", groupCols, "groups g", &where{}, "g.created, g.id", p, scanGroup)
}

// UpdateGroup writes the name, description and status.
func (s *Store) UpdateGroup(ctx context.Context, g mfa.Group) error {
	n, err := s.writer().execN(ctx, `UPDATE groups SET name = ?, name_lower = ?, descr = ?, status = ? WHERE id = ?`,
		g.Name, strings.ToLower(g.Name), g.Desc, g.Status, g.ID)
	return s.affected(ctx, "update group", n, err, "group not found")
}

// DeleteGroup deletes the group; the database cascades to memberships.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM groups WHERE id = ?`, id)
	return s.affected(ctx, "delete group", n, err, "group not found")
}

// AddGroupMember adds a user to a group; adding twice is not an error.
func (s *Store) AddGroupMember(ctx context.Context, groupID, userID string) error {
	const op = "add group member"
	return s.writeTx(ctx, op, func(c dbtx) error {
		if err := s.mustExist(ctx, c, op, "users", userID, "user not found"); err != nil {
			return err
		}
		if err := s.mustExist(ctx, c, op, "groups", groupID, "group not found"); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)
			ON CONFLICT (user_id, group_id) DO NOTHING`, userID, groupID)
		return s.dbErr(ctx, op, err, onFK(mfa.NotFound, "user or group not found"))
	})
}

// RemoveGroupMember removes the membership; NotFound if there was none.
func (s *Store) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM user_groups WHERE user_id = ? AND group_id = ?`, userID, groupID)
	return s.affected(ctx, "remove group member", n, err, "the user is not a member of the group")
}

// UserGroups returns the user's groups in creation order.
func (s *Store) UserGroups(ctx context.Context, userID string) ([]mfa.Group, error) {
	return queryAll(ctx, s, s.reader(), "user groups", `SELECT `+groupCols+` FROM groups g
		JOIN user_groups ug ON ug.group_id = g.id WHERE ug.user_id = ? ORDER BY g.created, g.id`,
		[]any{userID}, scanGroup)
}

// GroupMembers returns a page of the group's users in creation order.
func (s *Store) GroupMembers(ctx context.Context, groupID string, p mfa.Page) ([]mfa.User, int, error) {
	if _, err := s.GetGroup(ctx, groupID); err != nil {
		return nil, 0, err
	}
	var w where
	w.add(`u.id IN (SELECT user_id FROM user_groups WHERE group_id = ?)`, groupID)
	return list(ctx, s, "group members", userCols, "users u", &w, "u.created, u.id", p, scanUser)
}
