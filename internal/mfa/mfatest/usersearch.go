package mfatest

import (
	"slices"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// testUserSearch: Search matches a substring of the username, an alias,
// the email or the real name, case-insensitively, and the digits of a
// phone number; LIKE wildcards are literal; paging applies.
func testUserSearch(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s, func(u *mfa.User) {
		u.Username, u.RealName, u.Email, u.Aliases = "alice", "Alice Qwerty Liddell", "a.liddell@Example.org", []string{"wonder_land"}
	})
	bob := NewUser(t, s, func(u *mfa.User) { u.Username, u.RealName = "bob", "Robert Qwerty Percent" })
	carol := NewUser(t, s, func(u *mfa.User) { u.Username = "carol%x" })
	ph := NewPhone(t, s, func(p *mfa.Phone) { p.Number = "+15550100123" })
	check(t, "AttachPhone", s.AttachPhone(ctx, bob.ID, ph.ID))
	tests := []struct {
		give string
		want []string
	}{
		{"ALI", []string{alice.ID}},
		{"liddell", []string{alice.ID}},
		{"example.ORG", []string{alice.ID}},
		{"wonder_", []string{alice.ID}},
		{"percent", []string{bob.ID}},
		{"555 0100", []string{bob.ID}},
		{"(555) 010-0123", []string{bob.ID}},
		{"%", []string{carol.ID}},
		{"_", []string{alice.ID}},
		{"nobody", nil},
		{"", []string{alice.ID, bob.ID, carol.ID}},
	}
	for _, tt := range tests {
		users, total, err := s.ListUsers(ctx, mfa.UserFilter{Search: tt.give})
		check(t, "ListUsers(Search "+tt.give+")", err)
		var got []string
		for _, u := range users {
			got = append(got, u.ID)
		}
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) || total != len(want) {
			t.Errorf("ListUsers(Search %q) = %v (total %d), want %v", tt.give, got, total, want)
		}
	}
	users, total, err := s.ListUsers(ctx, mfa.UserFilter{Search: "qwerty", Page: mfa.Page{Limit: 1, Offset: 1}})
	check(t, "ListUsers(Search l, page 2)", err)
	if len(users) != 1 || total != 2 {
		t.Errorf("ListUsers(Search l, limit 1 offset 1) = %d users, total %d, want 1 of 2", len(users), total)
	}
}
