package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// GroupFields are the group attributes a create or modify request sets; a
// nil field is not provided.
type GroupFields struct {
	Name   *string
	Desc   *string
	Status *string // active, bypass or disabled
}

// MaxGroupsAllowed bounds an integration's groups_allowed list.
const MaxGroupsAllowed = 100

func applyGroupFields(g *mfa.Group, f GroupFields) error {
	if f.Name != nil {
		n, err := checkText("name", *f.Name, maxTextLen, false)
		if err != nil {
			return err
		}
		if n == "" {
			return mfa.InvalidField("name", "cannot be empty")
		}
		g.Name = n
	}
	if f.Desc != nil {
		d, err := checkText("desc", *f.Desc, maxNotesLen, true)
		if err != nil {
			return err
		}
		g.Desc = d
	}
	if f.Status != nil {
		st := mfa.GroupStatus(strings.ToLower(strings.TrimSpace(*f.Status)))
		if !st.Valid() {
			return mfa.InvalidField("status", "must be active, bypass or disabled")
		}
		g.Status = st
	}
	return nil
}

func groupLog(g mfa.Group) map[string]any {
	return map[string]any{"name": g.Name, "desc": g.Desc, "status": g.Status}
}

// ListGroups lists groups in creation order with the total.
func (s *Service) ListGroups(ctx context.Context, a Actor, p mfa.Page) ([]mfa.Group, int, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, 0, err
	}
	gs, total, err := s.store.ListGroups(ctx, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	return gs, total, nil
}

// GetGroup returns one group.
func (s *Service) GetGroup(ctx context.Context, a Actor, id string) (mfa.Group, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return mfa.Group{}, err
	}
	g, err := s.store.GetGroup(ctx, id)
	if err != nil {
		return mfa.Group{}, fmt.Errorf("get group: %w", err)
	}
	return g, nil
}

// CreateGroup creates a group; name is required, status defaults to
// active. A taken name is Conflict.
func (s *Service) CreateGroup(ctx context.Context, a Actor, f GroupFields) (mfa.Group, error) {
	if err := s.authorize(ctx, a, ManageGroups); err != nil {
		return mfa.Group{}, err
	}
	if f.Name == nil {
		return mfa.Group{}, mfa.InvalidField("name", "required")
	}
	g := mfa.Group{Status: mfa.GroupActive, Created: s.now()}
	if err := applyGroupFields(&g, f); err != nil {
		return mfa.Group{}, err
	}
	id, err := mfa.NewID(mfa.PrefixGroup, s.rand)
	if err != nil {
		return mfa.Group{}, fmt.Errorf("create group: %w", err)
	}
	g.ID = id
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateGroup(ctx, g); err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		return s.logChange(ctx, a, "group_create", "group", g.ID, describe(groupLog(g)))
	})
	if err != nil {
		return mfa.Group{}, err
	}
	return g, nil
}

// UpdateGroup changes the provided fields of a group.
func (s *Service) UpdateGroup(ctx context.Context, a Actor, id string, f GroupFields) (mfa.Group, error) {
	if err := s.authorize(ctx, a, ManageGroups); err != nil {
		return mfa.Group{}, err
	}
	var g mfa.Group
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		var err error
		if g, err = s.store.GetGroup(ctx, id); err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		if err := applyGroupFields(&g, f); err != nil {
			return err
		}
		if err := s.store.UpdateGroup(ctx, g); err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		return s.logChange(ctx, a, "group_update", "group", g.ID, describe(groupLog(g)))
	})
	if err != nil {
		return mfa.Group{}, err
	}
	return g, nil
}

// DeleteGroup deletes a group and its memberships. An unknown id is
// NotFound.
func (s *Service) DeleteGroup(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, ManageGroups); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		g, err := s.store.GetGroup(ctx, id)
		if err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if err := s.store.DeleteGroup(ctx, id); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return s.logChange(ctx, a, "group_delete", "group", id, describe(map[string]any{"name": g.Name}))
	})
}

// GroupMembers returns a page of a group's users and the total.
func (s *Service) GroupMembers(ctx context.Context, a Actor, id string, p mfa.Page) ([]mfa.User, int, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, 0, err
	}
	us, total, err := s.store.GroupMembers(ctx, id, p)
	if err != nil {
		return nil, 0, fmt.Errorf("group members: %w", err)
	}
	return us, total, nil
}

// UserGroups lists a user's groups; an unknown user is NotFound.
func (s *Service) UserGroups(ctx context.Context, a Actor, userID string) ([]mfa.Group, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, err
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return nil, fmt.Errorf("user groups: %w", err)
	}
	gs, err := s.store.UserGroups(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("user groups: %w", err)
	}
	return gs, nil
}

// AddUserToGroup makes a user a member of a group (again is not an
// error). Either unknown is NotFound.
func (s *Service) AddUserToGroup(ctx context.Context, a Actor, userID, groupID string) error {
	if err := s.authorize(ctx, a, ManageGroups); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.AddGroupMember(ctx, groupID, userID); err != nil {
			return fmt.Errorf("add user to group: %w", err)
		}
		return s.logChange(ctx, a, "group_member_add", "user", userID, describe(map[string]any{"group_id": groupID}))
	})
}

// RemoveUserFromGroup ends a membership; NotFound if there was none.
func (s *Service) RemoveUserFromGroup(ctx context.Context, a Actor, userID, groupID string) error {
	if err := s.authorize(ctx, a, ManageGroups); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.RemoveGroupMember(ctx, groupID, userID); err != nil {
			return fmt.Errorf("remove user from group: %w", err)
		}
		return s.logChange(ctx, a, "group_member_remove", "user", userID, describe(map[string]any{"group_id": groupID}))
	})
}

// checkGroupsAllowed validates an integration's groups_allowed: known
// group ids, each once, at most MaxGroupsAllowed. Run it inside the
// transaction that stores the integration.
func (s *Service) checkGroupsAllowed(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if _, err := s.store.GetGroup(ctx, id); err != nil {
			if mfa.KindOf(err) == mfa.NotFound {
				return nil, mfa.InvalidField("groups_allowed", fmt.Sprintf("no group has id %q", id))
			}
			return nil, fmt.Errorf("groups allowed: %w", err)
		}
		out = append(out, id)
	}
	if len(out) > MaxGroupsAllowed {
		return nil, mfa.InvalidField("groups_allowed", fmt.Sprintf("at most %d groups", MaxGroupsAllowed))
	}
	return out, nil
}

// GroupMemberIDs returns the ids of the current members of groups, for
// the authentication log's groups filter: it needs the right to read
// logs, not users. An unknown group is NotFound.
func (s *Service) GroupMemberIDs(ctx context.Context, a Actor, groups []string) ([]string, error) {
	if err := s.authorize(ctx, a, ReadLogs); err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, g := range groups {
		for p := (mfa.Page{Limit: 500}); ; p.Offset += p.Limit {
			us, total, err := s.store.GroupMembers(ctx, g, p)
			if err != nil {
				return nil, fmt.Errorf("group members: %w", err)
			}
			for _, u := range us {
				if !seen[u.ID] {
					seen[u.ID] = true
					ids = append(ids, u.ID)
				}
			}
			if len(us) == 0 || p.Offset+len(us) >= total {
				break
			}
		}
	}
	return ids, nil
}
