package mfatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func groupTests() []storeTest {
	return []storeTest{
		{"CreateGet", testGroupCreateGet},
		{"NameConflict", testGroupNameConflict},
		{"ListPage", testGroupList},
		{"Update", testGroupUpdate},
		{"Members", testGroupMembers},
		{"DeleteCascades", testGroupDelete},
		{"NotFound", testGroupNotFound},
		{"AtomicRollback", testGroupAtomicRollback},
	}
}

// NewGroup stores an active group with a unique name after applying mods.
func NewGroup(t testing.TB, s mfa.GroupStore, mods ...func(*mfa.Group)) mfa.Group {
	t.Helper()
	id := NewID(t, mfa.PrefixGroup)
	g := mfa.Group{ID: id, Name: "group " + id, Status: mfa.GroupActive, Created: at(0)}
	for _, mod := range mods {
		mod(&g)
	}
	if err := s.CreateGroup(t.Context(), g); err != nil {
		t.Fatalf("CreateGroup(%s %q) = %v, want nil", g.ID, g.Name, err)
	}
	return g
}

func testGroupCreateGet(t *testing.T, s mfa.Store) {
	want := NewGroup(t, s, func(g *mfa.Group) {
		g.Name, g.Desc, g.Status, g.Created = "Contractors", "temporary staff", mfa.GroupBypass, at(time.Hour).UTC()
	})
	got, err := s.GetGroup(t.Context(), want.ID)
	check(t, "GetGroup()", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetGroup(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
}

func testGroupNameConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewGroup(t, s, func(g *mfa.Group) { g.Name = "Admins" })
	err := s.CreateGroup(ctx, mfa.Group{ID: NewID(t, mfa.PrefixGroup), Name: "ADMINS", Status: mfa.GroupActive, Created: at(0)})
	wantKind(t, "CreateGroup(same name, other case)", err, mfa.Conflict)
	b := NewGroup(t, s, func(g *mfa.Group) { g.Name = "Staff" })
	b.Name = "admins"
	wantKind(t, "UpdateGroup(to a taken name)", s.UpdateGroup(ctx, b), mfa.Conflict)
	a.Name = "ADMINS" // its own name in another case is fine
	check(t, "UpdateGroup(own name)", s.UpdateGroup(ctx, a))
}

func testGroupList(t *testing.T, s mfa.Store) {
	var want []mfa.Group
	for i := range 5 {
		want = append(want, NewGroup(t, s, func(g *mfa.Group) { g.Created = at(time.Duration(5-i) * time.Minute) }))
	}
	// Creation order: the last created first.
	want = []mfa.Group{want[4], want[3], want[2], want[1], want[0]}
	got, total, err := s.ListGroups(t.Context(), mfa.Page{Limit: 2, Offset: 1})
	check(t, "ListGroups()", err)
	if total != 5 {
		t.Errorf("ListGroups() total = %d, want 5", total)
	}
	if diff := cmp.Diff(want[1:3], got, cmpOpts); diff != "" {
		t.Errorf("ListGroups(limit 2, offset 1) mismatch (-want +got):\n%s", diff)
	}
	all, _, err := s.ListGroups(t.Context(), mfa.Page{})
	check(t, "ListGroups(all)", err)
	if diff := cmp.Diff(want, all, cmpOpts); diff != "" {
		t.Errorf("ListGroups(all) mismatch (-want +got):\n%s", diff)
	}
}

func testGroupUpdate(t *testing.T, s mfa.Store) {
	g := NewGroup(t, s)
	want := g
	want.Name, want.Desc, want.Status = "renamed", "new desc", mfa.GroupDisabled
	give := want
	give.Created = at(99 * time.Hour) // not written
	check(t, "UpdateGroup()", s.UpdateGroup(t.Context(), give))
	got, err := s.GetGroup(t.Context(), g.ID)
	check(t, "GetGroup()", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetGroup after UpdateGroup mismatch (-want +got):\n%s", diff)
	}
}

func testGroupMembers(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	g1 := NewGroup(t, s, func(g *mfa.Group) { g.Created = at(time.Minute) })
	g2 := NewGroup(t, s, func(g *mfa.Group) { g.Created = at(0) })
	u1 := NewUser(t, s, func(u *mfa.User) { u.Created = at(time.Second) })
	u2 := NewUser(t, s, func(u *mfa.User) { u.Created = at(0) })
	NewUser(t, s) // in no group
	for _, m := range [][2]string{{g1.ID, u1.ID}, {g1.ID, u2.ID}, {g2.ID, u1.ID}, {g1.ID, u1.ID}} {
		check(t, fmt.Sprintf("AddGroupMember(%s, %s)", m[0], m[1]), s.AddGroupMember(ctx, m[0], m[1]))
	}
	groups, err := s.UserGroups(ctx, u1.ID)
	check(t, "UserGroups()", err)
	if diff := cmp.Diff([]mfa.Group{g2, g1}, groups, cmpOpts); diff != "" {
		t.Errorf("UserGroups(u1) mismatch (-want +got):\n%s", diff)
	}
	users, total, err := s.GroupMembers(ctx, g1.ID, mfa.Page{Limit: 1, Offset: 1})
	check(t, "GroupMembers()", err)
	if total != 2 || len(users) != 1 || users[0].ID != u1.ID {
		t.Errorf("GroupMembers(g1, limit 1, offset 1) = %d users (%v), total %d; want [%s], total 2", len(users), users, total, u1.ID)
	}
	check(t, "RemoveGroupMember()", s.RemoveGroupMember(ctx, g1.ID, u1.ID))
	wantKind(t, "RemoveGroupMember(again)", s.RemoveGroupMember(ctx, g1.ID, u1.ID), mfa.NotFound)
	groups, err = s.UserGroups(ctx, u1.ID)
	check(t, "UserGroups()", err)
	if len(groups) != 1 || groups[0].ID != g2.ID {
		t.Errorf("UserGroups(u1) after removal = %v, want [%s]", groups, g2.ID)
	}
	// Deleting a user removes their memberships.
	check(t, "DeleteUser()", s.DeleteUser(ctx, u2.ID))
	_, total, err = s.GroupMembers(ctx, g1.ID, mfa.Page{})
	check(t, "GroupMembers()", err)
	if total != 0 {
		t.Errorf("GroupMembers(g1) total after deleting its last member = %d, want 0", total)
	}
}

func testGroupDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	g := NewGroup(t, s)
	u := NewUser(t, s)
	check(t, "AddGroupMember()", s.AddGroupMember(ctx, g.ID, u.ID))
	check(t, "DeleteGroup()", s.DeleteGroup(ctx, g.ID))
	wantKind(t, "DeleteGroup(again)", s.DeleteGroup(ctx, g.ID), mfa.NotFound)
	groups, err := s.UserGroups(ctx, u.ID)
	check(t, "UserGroups()", err)
	if len(groups) != 0 {
		t.Errorf("UserGroups() after DeleteGroup = %v, want none", groups)
	}
	// The name is free again.
	NewGroup(t, s, func(x *mfa.Group) { x.Name = g.Name })
}

func testGroupNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	g := NewGroup(t, s)
	u := NewUser(t, s)
	missingG, missingU := NewID(t, mfa.PrefixGroup), NewID(t, mfa.PrefixUser)
	_, err := s.GetGroup(ctx, missingG)
	wantKind(t, "GetGroup(missing)", err, mfa.NotFound)
	wantKind(t, "UpdateGroup(missing)", s.UpdateGroup(ctx, mfa.Group{ID: missingG, Name: "x", Status: mfa.GroupActive}), mfa.NotFound)
	wantKind(t, "AddGroupMember(missing group)", s.AddGroupMember(ctx, missingG, u.ID), mfa.NotFound)
	wantKind(t, "AddGroupMember(missing user)", s.AddGroupMember(ctx, g.ID, missingU), mfa.NotFound)
	_, _, err = s.GroupMembers(ctx, missingG, mfa.Page{})
	wantKind(t, "GroupMembers(missing)", err, mfa.NotFound)
}

func testGroupAtomicRollback(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	g := NewGroup(t, s)
	boom := fmt.Errorf("boom")
	err := s.Atomic(ctx, func(ctx context.Context) error {
		if err := s.AddGroupMember(ctx, g.ID, u.ID); err != nil {
			return err
		}
		if err := s.CreateGroup(ctx, mfa.Group{ID: NewID(t, mfa.PrefixGroup), Name: "rolled back", Status: mfa.GroupActive, Created: at(0)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Atomic() = %v, want %v", err, boom)
	}
	groups, err := s.UserGroups(ctx, u.ID)
	check(t, "UserGroups()", err)
	_, total, err2 := s.ListGroups(ctx, mfa.Page{})
	check(t, "ListGroups()", err2)
	if len(groups) != 0 || total != 1 {
		t.Errorf("after a failed Atomic: UserGroups() = %v, ListGroups() total = %d; want none, 1", groups, total)
	}
}
