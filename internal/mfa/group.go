package mfa

import (
	"context"
	"time"
)

// GroupStatus is a group's standing, applied to its members. The strings
// are Duo's.
type GroupStatus string

// Group statuses (Duo: "active" members complete 2FA as their own status
// says, "bypass" members skip it, "disabled" members cannot log in).
const (
	GroupActive   GroupStatus = "active"
	GroupBypass   GroupStatus = "bypass"
	GroupDisabled GroupStatus = "disabled"
)

// Valid reports whether s is a known group status.
func (s GroupStatus) Valid() bool {
	return s == GroupActive || s == GroupBypass || s == GroupDisabled
}

// Group is a named set of users. Its status applies to every member
// (EffectiveStatus); an integration may admit only members of some groups
// (Integration.GroupsAllowed).
type Group struct {
	ID      string // "DG" + 18 of A-Z0-9
	Name    string // unique, case-insensitively
	Desc    string
	Status  GroupStatus
	Created time.Time
}

// EffectiveStatus is the status a user logs in with, given their groups
// (Duo: "when a user is a member of a group, the group status may override
// the individual user's status"). The most restrictive wins: disabled
// (the user's or any group's), then the user's own lockout, then bypass
// (the user's or any group's), then active.
func EffectiveStatus(u User, groups []Group) UserStatus {
	bypass := u.Status == StatusBypass
	for _, g := range groups {
		switch g.Status {
		case GroupDisabled:
			return StatusDisabled
		case GroupBypass:
			bypass = true
		}
	}
	switch {
	case u.Status == StatusDisabled || u.Status == StatusLockedOut:
		return u.Status
	case bypass:
		return StatusBypass
	}
	return u.Status
}

// InAnyGroup reports whether one of groups has an id in ids.
func InAnyGroup(groups []Group, ids []string) bool {
	for _, g := range groups {
		for _, id := range ids {
			if g.ID == id {
				return true
			}
		}
	}
	return false
}

// GroupStore stores groups and their members.
type GroupStore interface {
	// CreateGroup stores a new group; a name already taken
	// (case-insensitively) is Conflict (Field "name").
	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, id string) (Group, error)
	// ListGroups lists groups in creation order, with the total.
	ListGroups(ctx context.Context, p Page) ([]Group, int, error)
	// UpdateGroup writes Name, Desc and Status.
	UpdateGroup(ctx context.Context, g Group) error
	// DeleteGroup deletes the group and its memberships. Integrations
	// naming it in GroupsAllowed keep the id, which then admits nobody.
	DeleteGroup(ctx context.Context, id string) error
	// AddGroupMember adds a user to a group; adding twice is not an
	// error. NotFound if either does not exist.
	AddGroupMember(ctx context.Context, groupID, userID string) error
	// RemoveGroupMember removes the membership; NotFound if there was none.
	RemoveGroupMember(ctx context.Context, groupID, userID string) error
	// UserGroups returns the user's groups in creation order.
	UserGroups(ctx context.Context, userID string) ([]Group, error)
	// GroupMembers returns a page of the group's users in creation
	// order, with the total. NotFound if the group does not exist.
	GroupMembers(ctx context.Context, groupID string, p Page) ([]User, int, error)
}
