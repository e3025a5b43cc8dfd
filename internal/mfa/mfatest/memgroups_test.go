package mfatest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Groups of the in-memory store.

func (s *memStore) groupNameTaken(name, except string) bool {
	for _, g := range s.groups {
		if g.ID != except && strings.EqualFold(g.Name, name) {
			return true
		}
	}
	return false
}

func (s *memStore) CreateGroup(ctx context.Context, g mfa.Group) error {
	defer s.lock(ctx)()
	if _, ok := s.groups[g.ID]; ok || s.groupNameTaken(g.Name, "") {
		return &mfa.Error{Kind: mfa.Conflict, Field: "name", Msg: "group exists"}
	}
	s.groups[g.ID] = g
	return nil
}

func (s *memStore) GetGroup(ctx context.Context, id string) (mfa.Group, error) {
	defer s.lock(ctx)()
	g, ok := s.groups[id]
	if !ok {
		return mfa.Group{}, errNotFound
	}
	return g, nil
}

func groupOrder(g mfa.Group) time.Time { return g.Created }
func groupID(g mfa.Group) string       { return g.ID }

func (s *memStore) ListGroups(ctx context.Context, p mfa.Page) ([]mfa.Group, int, error) {
	defer s.lock(ctx)()
	got, total := page(sortedValues(s.groups, groupOrder, groupID), p)
	return got, total, nil
}

func (s *memStore) UpdateGroup(ctx context.Context, g mfa.Group) error {
	defer s.lock(ctx)()
	old, ok := s.groups[g.ID]
	if !ok {
		return errNotFound
	}
	if s.groupNameTaken(g.Name, g.ID) {
		return &mfa.Error{Kind: mfa.Conflict, Field: "name", Msg: "group exists"}
	}
	old.Name, old.Desc, old.Status = g.Name, g.Desc, g.Status
	s.groups[g.ID] = old
	return nil
}

func (s *memStore) DeleteGroup(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.groups[id]; !ok {
		return errNotFound
	}
	delete(s.groups, id)
	for k := range s.userGroups {
		if k[1] == id {
			delete(s.userGroups, k)
		}
	}
	return nil
}

func (s *memStore) AddGroupMember(ctx context.Context, groupID, userID string) error {
	defer s.lock(ctx)()
	_, okU := s.users[userID]
	_, okG := s.groups[groupID]
	if !okU || !okG {
		return errNotFound
	}
	s.userGroups[[2]string{userID, groupID}] = true
	return nil
}

func (s *memStore) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	defer s.lock(ctx)()
	k := [2]string{userID, groupID}
	if !s.userGroups[k] {
		return errNotFound
	}
	delete(s.userGroups, k)
	return nil
}

func (s *memStore) UserGroups(ctx context.Context, userID string) ([]mfa.Group, error) {
	defer s.lock(ctx)()
	var out []mfa.Group
	for _, g := range sortedValues(s.groups, groupOrder, groupID) {
		if s.userGroups[[2]string{userID, g.ID}] {
			out = append(out, g)
		}
	}
	return out, nil
}

func (s *memStore) GroupMembers(ctx context.Context, groupID string, p mfa.Page) ([]mfa.User, int, error) {
	defer s.lock(ctx)()
	if _, ok := s.groups[groupID]; !ok {
		return nil, 0, errNotFound
	}
	var out []mfa.User
	for _, u := range sortedValues(s.users, func(u mfa.User) time.Time { return u.Created }, func(u mfa.User) string { return u.ID }) {
		if s.userGroups[[2]string{u.ID, groupID}] {
			out = append(out, u)
		}
	}
	got, total := page(slices.Clip(out), p)
	return got, total, nil
}
