package mfatest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func userTests() []storeTest {
	return []storeTest{
		{"Create", testUserCreate},
		{"CreateConflict", testUserCreateConflict},
		{"CreateConcurrent", testUserCreateConcurrent},
		{"GetByNameAlias", testUserGetByName},
		{"List", testUserList},
		{"ListFilter", testUserListFilter},
		{"Search", testUserSearch},
		{"Update", testUserUpdate},
		{"Defaults", testUserDefaults},
		{"UpdateConflict", testUserUpdateConflict},
		{"UpdateKeepsAuthState", testUserUpdateKeepsAuthState},
		{"Delete", testUserDelete},
		{"NotFound", testUserNotFound},
		{"ResetAuthFailures", testUserResetAuthFailures},
		{"UnlockExpired", testUserUnlockExpired},
		{"LockUserCheckThenAdd", testLockUserCheckThenAdd},
	}
}

func testUserCreate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		give mfa.User
	}{
		{"full", mfa.User{
			ID:        NewID(t, mfa.PrefixUser),
			Username:  "Alice",
			RealName:  "Alice Liddell",
			FirstName: "Alice",
			LastName:  "Liddell",
			Email:     "Alice@Example.com",
			Status:    mfa.StatusActive,
			Aliases:   []string{"al", "ALICE.L", "a.liddell"},
			Notes:     "met the white rabbit\nline two ünïcode",
			Created:   at(0),
		}},
		{"minimal", mfa.User{
			ID:       NewID(t, mfa.PrefixUser),
			Username: "bob",
			Status:   mfa.StatusBypass,
			Created:  at(time.Hour).UTC(),
		}},
		{"disabled", mfa.User{
			ID:       NewID(t, mfa.PrefixUser),
			Username: "carol",
			Status:   mfa.StatusDisabled,
			Created:  at(-24 * time.Hour),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, fmt.Sprintf("CreateUser(%s)", tt.give.ID), s.CreateUser(ctx, tt.give))
			got, err := s.GetUser(ctx, tt.give.ID)
			check(t, fmt.Sprintf("GetUser(%s)", tt.give.ID), err)
			if diff := cmp.Diff(tt.give, got, cmpOpts); diff != "" {
				t.Errorf("GetUser(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
			}
			if !got.LastLogin.IsZero() || !got.LockedAt.IsZero() {
				t.Errorf("GetUser(%s) = LastLogin %v, LockedAt %v, want zero times", tt.give.ID, got.LastLogin, got.LockedAt)
			}
			if got.FailedAttempts != 0 {
				t.Errorf("GetUser(%s).FailedAttempts = %d, want 0", tt.give.ID, got.FailedAttempts)
			}
		})
	}
}

func testUserCreateConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	NewUser(t, s, func(u *mfa.User) { u.Username = "alice"; u.Aliases = []string{"Al", "liddell"} })
	tests := []struct {
		name     string
		username string
		aliases  []string
	}{
		{"same username", "alice", nil},
		{"username other case", "ALICE", nil},
		{"username is an alias", "al", nil},
		{"username is an alias other case", "LIDDELL", nil},
		{"alias is a username", "bob", []string{"Alice"}},
		{"alias is an alias", "bob", []string{"x", "aL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := mfa.User{ID: NewID(t, mfa.PrefixUser), Username: tt.username, Aliases: tt.aliases, Status: mfa.StatusActive, Created: at(0)}
			err := s.CreateUser(ctx, u)
			wantKind(t, fmt.Sprintf("CreateUser(%q, aliases %q)", tt.username, tt.aliases), err, mfa.Conflict)
			if _, err := s.GetUser(ctx, u.ID); !isKind(err, mfa.NotFound) {
				t.Errorf("GetUser(%s) after a refused create = %v, want not found", u.ID, err)
			}
		})
	}
	_, total, err := s.ListUsers(ctx, mfa.UserFilter{})
	check(t, "ListUsers()", err)
	if total != 1 {
		t.Errorf("ListUsers() total = %d, want 1", total)
	}
	NewUser(t, s, func(u *mfa.User) { u.Username = "bob"; u.Aliases = []string{"alice2"} })
}

func testUserGetByName(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s, func(u *mfa.User) { u.Username = "Alice"; u.Aliases = []string{"al", "A.Liddell"} })
	bob := NewUser(t, s, func(u *mfa.User) { u.Username = "bob" })
	tests := []struct {
		give string
		want string // user id; "" = not found
	}{
		{"Alice", alice.ID},
		{"alice", alice.ID},
		{"ALICE", alice.ID},
		{"al", alice.ID},
		{"AL", alice.ID},
		{"a.liddell", alice.ID},
		{"bob", bob.ID},
		{"Bob", bob.ID},
		{"carol", ""},
		{"ali", ""},
		{"%", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := s.GetUserByName(ctx, tt.give)
		if tt.want == "" {
			wantKind(t, fmt.Sprintf("GetUserByName(%q)", tt.give), err, mfa.NotFound)
			continue
		}
		if err != nil || got.ID != tt.want {
			t.Errorf("GetUserByName(%q) = %s, %v, want %s, nil", tt.give, got.ID, err, tt.want)
		}
	}
	got, err := s.GetUserByName(ctx, "AL")
	check(t, `GetUserByName("AL")`, err)
	if diff := cmp.Diff(alice, got, cmpOpts); diff != "" {
		t.Errorf("GetUserByName(%q) mismatch (-want +got):\n%s", "AL", diff)
	}
}

// sortCreated sorts objects the way every list must: creation time, then id.
func sortCreated[T any](xs []T, created func(T) time.Time, id func(T) string) {
	slices.SortFunc(xs, func(a, b T) int {
		if c := created(a).Compare(created(b)); c != 0 {
			return c
		}
		return strings.Compare(id(a), id(b))
	})
}

// pageTests are the pages every list is read with, over n objects.
func pageTests(n int) []struct {
	give     mfa.Page
	from, to int // want objects [from, to) of the sorted list
} {
	return []struct {
		give     mfa.Page
		from, to int
	}{
		{mfa.Page{}, 0, n},
		{mfa.Page{Limit: -1}, 0, n},
		{mfa.Page{Limit: 2}, 0, 2},
		{mfa.Page{Limit: 2, Offset: 2}, 2, 4},
		{mfa.Page{Limit: 4, Offset: n - 1}, n - 1, n},
		{mfa.Page{Offset: 3}, 3, n},
		{mfa.Page{Limit: 2, Offset: n}, n, n},
		{mfa.Page{Limit: 2, Offset: n + 5}, n, n},
		{mfa.Page{Limit: n + 10}, 0, n},
	}
}

func testUserList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	// Pairs share a creation time, and users are created newest first, so
	// that neither insertion order nor time alone gives the right order.
	var users []mfa.User
	for i := 5; i >= 0; i-- {
		users = append(users, NewUser(t, s, func(u *mfa.User) { u.Created = at(time.Duration(i/2) * time.Minute) }))
	}
	sortCreated(users, func(u mfa.User) time.Time { return u.Created }, func(u mfa.User) string { return u.ID })
	for _, tt := range pageTests(len(users)) {
		got, total, err := s.ListUsers(ctx, mfa.UserFilter{Page: tt.give})
		call := fmt.Sprintf("ListUsers(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(users[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(users) {
			t.Errorf("%s total = %d, want %d", call, total, len(users))
		}
	}
}

func testUserListFilter(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s, func(u *mfa.User) {
		u.Username, u.Email, u.Aliases, u.Created = "alice", "Alice@Example.com", []string{"al"}, at(1*time.Second)
	})
	bob := NewUser(t, s, func(u *mfa.User) { u.Username, u.Email, u.Created = "bob", "bob@example.com", at(2*time.Second) })
	carol := NewUser(t, s, func(u *mfa.User) { u.Username, u.Email, u.Created = "carol", "shared@example.com", at(3*time.Second) })
	dave := NewUser(t, s, func(u *mfa.User) {
		u.Username, u.Email, u.Aliases, u.Created = "dave", "SHARED@example.com", []string{"bobby"}, at(4*time.Second)
	})
	tests := []struct {
		name string
		give mfa.UserFilter
		want []mfa.User
	}{
		{"none", mfa.UserFilter{}, []mfa.User{alice, bob, carol, dave}},
		{"username", mfa.UserFilter{Username: "bob"}, []mfa.User{bob}},
		{"username case", mfa.UserFilter{Username: "ALICE"}, []mfa.User{alice}},
		{"username alias", mfa.UserFilter{Username: "AL"}, []mfa.User{alice}},
		{"username alias 2", mfa.UserFilter{Username: "bobby"}, []mfa.User{dave}},
		{"username none", mfa.UserFilter{Username: "eve"}, nil},
		{"username prefix", mfa.UserFilter{Username: "ali"}, nil},
		{"email case", mfa.UserFilter{Email: "alice@example.COM"}, []mfa.User{alice}},
		{"email two", mfa.UserFilter{Email: "shared@example.com"}, []mfa.User{carol, dave}},
		{"email none", mfa.UserFilter{Email: "nobody@example.com"}, nil},
		{"ids", mfa.UserFilter{IDs: []string{dave.ID, alice.ID, "DUNOSUCHUSER000000X"}}, []mfa.User{alice, dave}},
		{"usernames", mfa.UserFilter{Usernames: []string{"carol", "alice", "nobody"}}, []mfa.User{alice, carol}},
		{"usernames not aliases", mfa.UserFilter{Usernames: []string{"al", "bobby"}}, nil},
		{"email and ids", mfa.UserFilter{Email: "shared@example.com", IDs: []string{alice.ID, dave.ID}}, []mfa.User{dave}},
		{"username and email", mfa.UserFilter{Username: "bob", Email: "shared@example.com"}, nil},
		{"paged", mfa.UserFilter{Email: "shared@example.com", Page: mfa.Page{Limit: 1, Offset: 1}}, []mfa.User{dave}},
	}
	wantTotal := map[string]int{"none": 4, "email two": 2, "paged": 2}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListUsers(ctx, tt.give)
			call := fmt.Sprintf("ListUsers(%+v)", tt.give)
			check(t, call, err)
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
			}
			want, ok := wantTotal[tt.name]
			if !ok {
				want = len(tt.want)
			}
			if total != want {
				t.Errorf("%s total = %d, want %d", call, total, want)
			}
		})
	}
}

func testUserUpdate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s, func(u *mfa.User) { u.Username = "alice"; u.Aliases = []string{"al", "ali"} })
	other := NewUser(t, s)

	want := u
	want.Username = "Alice2"
	want.RealName = "Alice Pleasance Liddell"
	want.FirstName = "Alice P."
	want.LastName = "Liddell"
	want.Email = "alice@wonderland.example"
	want.Status = mfa.StatusDisabled
	want.Aliases = []string{"ali", "wonder"}
	want.Notes = "updated"
	check(t, "UpdateUser()", s.UpdateUser(ctx, want))
	got, err := s.GetUser(ctx, u.ID)
	check(t, "GetUser()", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetUser(%s) after UpdateUser mismatch (-want +got):\n%s", u.ID, diff)
	}
	// The dropped alias and the old username are free again.
	if _, err := s.GetUserByName(ctx, "al"); !isKind(err, mfa.NotFound) {
		t.Errorf("GetUserByName(%q) after dropping the alias = %v, want not found", "al", err)
	}
	NewUser(t, s, func(u *mfa.User) { u.Username = "al"; u.Aliases = []string{"alice"} })

	// Clearing aliases.
	want.Aliases = nil
	check(t, "UpdateUser(no aliases)", s.UpdateUser(ctx, want))
	got, err = s.GetUser(ctx, u.ID)
	check(t, "GetUser()", err)
	if len(got.Aliases) != 0 {
		t.Errorf("GetUser(%s).Aliases after clearing = %q, want none", u.ID, got.Aliases)
	}
	// The other user is untouched.
	gotOther, err := s.GetUser(ctx, other.ID)
	check(t, "GetUser(other)", err)
	if diff := cmp.Diff(other, gotOther, cmpOpts); diff != "" {
		t.Errorf("GetUser(other) after UpdateUser mismatch (-want +got):\n%s", diff)
	}
}

func testUserDefaults(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	check(t, "SetUserDefaults()", s.SetUserDefaults(ctx, u.ID, "DPDEFAULT", "push"))
	got := getUser(t, s, u.ID)
	if got.DefaultDevice != "DPDEFAULT" || got.DefaultMethod != "push" {
		t.Errorf("defaults = %q %q, want DPDEFAULT push", got.DefaultDevice, got.DefaultMethod)
	}
	// UpdateUser leaves them.
	got.RealName, got.DefaultDevice, got.DefaultMethod = "Changed", "", ""
	check(t, "UpdateUser()", s.UpdateUser(ctx, got))
	if got := getUser(t, s, u.ID); got.DefaultDevice != "DPDEFAULT" || got.DefaultMethod != "push" || got.RealName != "Changed" {
		t.Errorf("after UpdateUser: %+v", got)
	}
	check(t, "SetUserDefaults(clear)", s.SetUserDefaults(ctx, u.ID, "", ""))
	if got := getUser(t, s, u.ID); got.DefaultDevice != "" || got.DefaultMethod != "" {
		t.Errorf("after clearing: %q %q", got.DefaultDevice, got.DefaultMethod)
	}
	if err := s.SetUserDefaults(ctx, "DUMISSING", "", ""); !isKind(err, mfa.NotFound) {
		t.Errorf("SetUserDefaults(missing) = %v, want NotFound", err)
	}
}

func testUserUpdateConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s, func(u *mfa.User) { u.Username = "alice"; u.Aliases = []string{"al"} })
	bob := NewUser(t, s, func(u *mfa.User) { u.Username = "bob"; u.Aliases = []string{"bobby"} })
	tests := []struct {
		name string
		give mfa.User
	}{
		{"username taken", func() mfa.User { u := bob; u.Username = "ALICE"; return u }()},
		{"username is an alias", func() mfa.User { u := bob; u.Username = "Al"; return u }()},
		{"alias is a username", func() mfa.User { u := bob; u.Aliases = []string{"bobby", "Alice"}; return u }()},
		{"alias is an alias", func() mfa.User { u := alice; u.Aliases = []string{"BOBBY"}; return u }()},
	}
	for _, tt := range tests {
		err := s.UpdateUser(ctx, tt.give)
		wantKind(t, fmt.Sprintf("UpdateUser(%s: username %q, aliases %q)", tt.name, tt.give.Username, tt.give.Aliases), err, mfa.Conflict)
	}
	for _, want := range []mfa.User{alice, bob} {
		got, err := s.GetUser(ctx, want.ID)
		check(t, "GetUser()", err)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("GetUser(%s) after refused updates mismatch (-want +got):\n%s", want.ID, diff)
		}
	}
	// Keeping one's own username and aliases, in another case, is no clash.
	bob.Username = "Bob"
	bob.Aliases = []string{"BOBBY", "robert"}
	check(t, "UpdateUser(bob keeps his names)", s.UpdateUser(ctx, bob))
	got, err := s.GetUserByName(ctx, "robert")
	check(t, `GetUserByName("robert")`, err)
	if diff := cmp.Diff(bob, got, cmpOpts); diff != "" {
		t.Errorf("GetUserByName(%q) mismatch (-want +got):\n%s", "robert", diff)
	}
}

// fail records one counted failure for userID at when.
func fail(t *testing.T, s mfa.Store, userID string, threshold int, when time.Time) mfa.FailureResult {
	t.Helper()
	out, err := s.ApplyAuth(t.Context(), mfa.AuthWrite{UserID: userID, CountFailure: true, Threshold: threshold, At: when})
	check(t, fmt.Sprintf("ApplyAuth(CountFailure %s, threshold %d)", userID, threshold), err)
	return out.Failure
}

// succeed records a successful login of userID at when.
func succeed(t *testing.T, s mfa.Store, userID string, when time.Time) {
	t.Helper()
	_, err := s.ApplyAuth(t.Context(), mfa.AuthWrite{UserID: userID, Success: true, At: when})
	check(t, fmt.Sprintf("ApplyAuth(Success %s)", userID), err)
}

// getUser reads a user, failing t at once if it cannot.
func getUser(t *testing.T, s mfa.Store, id string) mfa.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	check(t, fmt.Sprintf("GetUser(%s)", id), err)
	return u
}

func testUserUpdateKeepsAuthState(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	succeed(t, s, u.ID, at(time.Minute))
	fail(t, s, u.ID, 3, at(2*time.Minute))
	fail(t, s, u.ID, 3, at(3*time.Minute))

	give := getUser(t, s, u.ID)
	want := give
	give.RealName, want.RealName = "Renamed", "Renamed"
	give.FailedAttempts = 0
	give.LastLogin = time.Time{}
	give.LockedAt = at(time.Hour)
	give.Created = at(time.Hour)
	check(t, "UpdateUser()", s.UpdateUser(ctx, give))
	got := getUser(t, s, u.ID)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetUser(%s) after UpdateUser mismatch (-want +got):\n%s", u.ID, diff)
	}
	if got.FailedAttempts != 2 || !got.LastLogin.Equal(at(time.Minute)) || !got.LockedAt.IsZero() || !got.Created.Equal(u.Created) {
		t.Errorf("GetUser(%s) = FailedAttempts %d, LastLogin %v, LockedAt %v, Created %v; want 2, %v, zero, %v",
			u.ID, got.FailedAttempts, got.LastLogin, got.LockedAt, got.Created, at(time.Minute), u.Created)
	}

	// A locked-out user keeps the lock through a profile update.
	fail(t, s, u.ID, 3, at(4*time.Minute))
	give = getUser(t, s, u.ID)
	if give.Status != mfa.StatusLockedOut {
		t.Fatalf("GetUser(%s).Status after 3 failures = %q, want %q", u.ID, give.Status, mfa.StatusLockedOut)
	}
	want = give
	give.Notes, want.Notes = "called the help desk", "called the help desk"
	give.FailedAttempts = 0
	give.LockedAt = time.Time{}
	check(t, "UpdateUser(locked out)", s.UpdateUser(ctx, give))
	got = getUser(t, s, u.ID)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetUser(%s) after UpdateUser of a locked user mismatch (-want +got):\n%s", u.ID, diff)
	}
	if !got.LockedAt.Equal(at(4 * time.Minute)) {
		t.Errorf("GetUser(%s).LockedAt = %v, want %v", u.ID, got.LockedAt, at(4*time.Minute))
	}
}

func testUserDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s, func(u *mfa.User) { u.Username = "alice"; u.Aliases = []string{"al"} })
	keep := NewUser(t, s)
	p := NewPhone(t, s)
	tk := NewToken(t, s, mfa.TokenH6)
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
	check(t, "AttachPhone(keep)", s.AttachPhone(ctx, keep.ID, p.ID))
	check(t, "AttachToken()", s.AttachToken(ctx, u.ID, tk.ID))
	codes := newCodes(t, u.ID, 3, func(i int, c *mfa.BypassCode) { c.Code = mfa.Passcode(fmt.Sprintf("10000000%d", i)) })
	check(t, "CreateBypassCodes()", s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, Codes: codes, MaxActive: 100}, at(0)))
	keepCodes := newCodes(t, keep.ID, 1, nil)
	check(t, "CreateBypassCodes(keep)", s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: keep.ID, Codes: keepCodes, MaxActive: 100}, at(0)))
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(ctx, newBatch(t, u.ID, p.ID, 3, time.Time{})))

	check(t, "DeleteUser()", s.DeleteUser(ctx, u.ID))

	if _, err := s.GetUser(ctx, u.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetUser(%s) after DeleteUser = %v, want not found", u.ID, err)
	}
	for _, c := range codes {
		if _, err := s.GetBypassCode(ctx, c.ID); !isKind(err, mfa.NotFound) {
			t.Errorf("GetBypassCode(%s) after DeleteUser = %v, want not found", c.ID, err)
		}
	}
	if _, total, err := s.ListBypassCodes(ctx, mfa.BypassFilter{}); err != nil || total != 1 {
		t.Errorf("ListBypassCodes() after DeleteUser = total %d, %v, want 1 (the other user's), nil", total, err)
	}
	if _, _, err := s.SMSBatchState(ctx, u.ID, p.ID, at(0)); !isKind(err, mfa.NotFound) {
		t.Errorf("SMSBatchState(%s, %s) after DeleteUser = %v, want not found", u.ID, p.ID, err)
	}
	if _, err := s.GetPhone(ctx, p.ID); err != nil {
		t.Errorf("GetPhone(%s) after DeleteUser = %v, want nil (phones stay)", p.ID, err)
	}
	if _, err := s.GetToken(ctx, tk.ID); err != nil {
		t.Errorf("GetToken(%s) after DeleteUser = %v, want nil (tokens stay)", tk.ID, err)
	}
	users, err := s.PhoneUsers(ctx, p.ID)
	check(t, "PhoneUsers()", err)
	if diff := cmp.Diff([]mfa.User{keep}, users, cmpOpts); diff != "" {
		t.Errorf("PhoneUsers(%s) after DeleteUser mismatch (-want +got):\n%s", p.ID, diff)
	}
	users, err = s.TokenUsers(ctx, tk.ID)
	check(t, "TokenUsers()", err)
	if len(users) != 0 {
		t.Errorf("TokenUsers(%s) after DeleteUser = %d users, want 0", tk.ID, len(users))
	}
	wantKind(t, fmt.Sprintf("DeleteUser(%s) again", u.ID), s.DeleteUser(ctx, u.ID), mfa.NotFound)
	// Its username and aliases are free again.
	NewUser(t, s, func(u *mfa.User) { u.Username = "AL"; u.Aliases = []string{"Alice"} })
}

func testUserNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	NewUser(t, s)
	missing := mfa.User{ID: NewID(t, mfa.PrefixUser), Username: "ghost", Status: mfa.StatusActive, Created: at(0)}
	tests := []struct {
		call string
		give func() error
	}{
		{"GetUser", func() error { _, err := s.GetUser(ctx, missing.ID); return err }},
		{"GetUserByName", func() error { _, err := s.GetUserByName(ctx, missing.Username); return err }},
		{"UpdateUser", func() error { return s.UpdateUser(ctx, missing) }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, missing.ID) }},
		{"ResetAuthFailures", func() error { return s.ResetAuthFailures(ctx, missing.ID) }},
		{"LockUser", func() error { return s.LockUser(ctx, missing.ID) }},
		{"LockUser in Atomic", func() error {
			return s.Atomic(ctx, func(ctx context.Context) error { return s.LockUser(ctx, missing.ID) })
		}},
	}
	for _, tt := range tests {
		wantKind(t, fmt.Sprintf("%s(%s)", tt.call, missing.ID), tt.give(), mfa.NotFound)
	}
	if _, err := s.GetUserByName(ctx, "ghost"); !isKind(err, mfa.NotFound) {
		t.Errorf("GetUserByName(%q) after UpdateUser of a missing user = %v, want not found", "ghost", err)
	}
}

func testUserResetAuthFailures(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	locked := NewUser(t, s)
	fail(t, s, locked.ID, 2, at(time.Minute))
	if r := fail(t, s, locked.ID, 2, at(2*time.Minute)); !r.LockedOut {
		t.Fatalf("second failure at threshold 2 = %+v, want LockedOut", r)
	}
	bypass := NewUser(t, s, func(u *mfa.User) { u.Status = mfa.StatusBypass })
	fail(t, s, bypass.ID, 2, at(time.Minute))
	disabled := NewUser(t, s, func(u *mfa.User) { u.Status = mfa.StatusDisabled })
	fail(t, s, disabled.ID, 10, at(time.Minute))

	tests := []struct {
		give mfa.User
		want mfa.UserStatus
	}{
		{locked, mfa.StatusActive},
		{bypass, mfa.StatusBypass},
		{disabled, mfa.StatusDisabled},
	}
	for _, tt := range tests {
		check(t, fmt.Sprintf("ResetAuthFailures(%s)", tt.give.ID), s.ResetAuthFailures(ctx, tt.give.ID))
		got := getUser(t, s, tt.give.ID)
		if got.Status != tt.want || got.FailedAttempts != 0 || !got.LockedAt.IsZero() {
			t.Errorf("GetUser(%s) after ResetAuthFailures = status %q, %d failures, LockedAt %v; want %q, 0, zero",
				tt.give.ID, got.Status, got.FailedAttempts, got.LockedAt, tt.want)
		}
	}
	// After the reset the count starts again from zero.
	if r := fail(t, s, locked.ID, 2, at(3*time.Minute)); r.FailedAttempts != 1 || r.LockedOut || r.Status != mfa.StatusActive {
		t.Errorf("failure after ResetAuthFailures = %+v, want 1 failure, active, not locked", r)
	}
}

func testUserUnlockExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	lock := func(when time.Time) mfa.User {
		u := NewUser(t, s)
		if r := fail(t, s, u.ID, 1, when); !r.LockedOut {
			t.Fatalf("failure at threshold 1 = %+v, want LockedOut", r)
		}
		return u
	}
	first := lock(at(time.Minute))
	second := lock(at(2 * time.Minute))
	third := lock(at(3 * time.Minute))
	disabled := NewUser(t, s, func(u *mfa.User) { u.Status = mfa.StatusDisabled })
	failing := NewUser(t, s)
	fail(t, s, failing.ID, 10, at(time.Minute))

	n, err := s.UnlockExpired(ctx, at(2*time.Minute))
	check(t, "UnlockExpired()", err)
	if n != 2 {
		t.Errorf("UnlockExpired(%v) = %d, want 2", at(2*time.Minute), n)
	}
	tests := []struct {
		give mfa.User
		want mfa.UserStatus
	}{
		{first, mfa.StatusActive},
		{second, mfa.StatusActive},
		{third, mfa.StatusLockedOut},
		{disabled, mfa.StatusDisabled},
		{failing, mfa.StatusActive},
	}
	for _, tt := range tests {
		got := getUser(t, s, tt.give.ID)
		if got.Status != tt.want {
			t.Errorf("GetUser(%s).Status after UnlockExpired = %q, want %q", tt.give.ID, got.Status, tt.want)
		}
		if got.Status != mfa.StatusLockedOut && !got.LockedAt.IsZero() {
			t.Errorf("GetUser(%s).LockedAt = %v with status %q, want zero", tt.give.ID, got.LockedAt, got.Status)
		}
	}
	if n, err := s.UnlockExpired(ctx, at(2*time.Minute)); err != nil || n != 0 {
		t.Errorf("UnlockExpired(%v) again = %d, %v, want 0, nil", at(2*time.Minute), n, err)
	}
	if n, err := s.UnlockExpired(ctx, at(time.Hour)); err != nil || n != 1 {
		t.Errorf("UnlockExpired(%v) = %d, %v, want 1, nil", at(time.Hour), n, err)
	}
}

func testUserCreateConcurrent(t *testing.T, s mfa.Store) {
	const n = 20
	users := make([]mfa.User, n)
	for i := range users {
		users[i] = mfa.User{ID: NewID(t, mfa.PrefixUser), Status: mfa.StatusActive, Created: at(0)}
		switch i % 3 {
		case 0:
			users[i].Username = "shared"
		case 1:
			users[i].Username = "SHARED"
		default: // the same name, claimed as an alias
			users[i].Username = fmt.Sprintf("user%d", i)
			users[i].Aliases = []string{fmt.Sprintf("alias%d", i), "Shared"}
		}
	}
	errs := Race(t, n, func(ctx context.Context, i int) error { return s.CreateUser(ctx, users[i]) })
	wantRace(t, "CreateUser(same name)", errs, 1, mfa.Conflict)
	got, total, err := s.ListUsers(t.Context(), mfa.UserFilter{})
	check(t, "ListUsers()", err)
	if total != 1 || len(got) != 1 {
		t.Fatalf("ListUsers() after the race = %d users, total %d, want 1", len(got), total)
	}
	if byName, err := s.GetUserByName(t.Context(), "sHaReD"); err != nil || byName.ID != got[0].ID {
		t.Errorf("GetUserByName(%q) = %s, %v, want the winner %s", "sHaReD", byName.ID, err, got[0].ID)
	}
	// A loser's other alias was not claimed either.
	for i, u := range users {
		if errs[i] != nil && len(u.Aliases) > 0 {
			if _, err := s.GetUserByName(t.Context(), u.Aliases[0]); !isKind(err, mfa.NotFound) {
				t.Errorf("GetUserByName(%q) of a refused user = %v, want not found", u.Aliases[0], err)
			}
		}
	}
}

// testLockUserCheckThenAdd: transactions that each lock the user, look for
// a phone with a number and add it only when there is none leave exactly
// one such phone, however many run at once (without the lock, PostgreSQL's
// READ COMMITTED lets several find none).
func testLockUserCheckThenAdd(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	other := NewUser(t, s)
	const n = 20
	const number = "+15555550199"
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.Atomic(ctx, func(ctx context.Context) error {
			if err := s.LockUser(ctx, u.ID); err != nil {
				return err
			}
			have, err := s.UserPhones(ctx, u.ID)
			if err != nil {
				return err
			}
			for _, p := range have {
				if p.Number == number {
					return mfa.E(mfa.Conflict, "already there")
				}
			}
			p := mfa.Phone{ID: NewID(t, mfa.PrefixPhone), Number: number, Name: "race", Type: mfa.PhoneMobile, Created: at(time.Duration(i))}
			if err := s.CreatePhone(ctx, p); err != nil {
				return err
			}
			return s.AttachPhone(ctx, u.ID, p.ID)
		})
	})
	wantRace(t, "Atomic(LockUser + UserPhones + CreatePhone + AttachPhone)", errs, 1, mfa.Conflict)
	phones, err := s.UserPhones(ctx, u.ID)
	check(t, "UserPhones()", err)
	if len(phones) != 1 {
		t.Errorf("UserPhones() after %d concurrent check-then-adds = %d phones, want 1", n, len(phones))
	}
	// Outside Atomic it is an existence check; inside, a lock held by a
	// nested Atomic does not stop the outer transaction from going on.
	check(t, "LockUser(other) outside Atomic", s.LockUser(ctx, other.ID))
	err = s.Atomic(ctx, func(ctx context.Context) error {
		if err := s.Atomic(ctx, func(ctx context.Context) error { return s.LockUser(ctx, other.ID) }); err != nil {
			return err
		}
		return s.LockUser(ctx, other.ID)
	})
	check(t, "Atomic(Atomic(LockUser(other)), LockUser(other))", err)
}
