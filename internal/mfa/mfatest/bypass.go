package mfatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func bypassTests() []storeTest {
	return []storeTest{
		{"Create", testBypassCreate},
		{"List", testBypassList},
		{"Replace", testBypassReplace},
		{"PreserveExisting", testBypassPreserve},
		{"MaxActive", testBypassMaxActive},
		{"MaxActiveIgnoresSpent", testBypassMaxActiveSpent},
		{"Conflict", testBypassConflict},
		{"UnknownUser", testBypassUnknownUser},
		{"Delete", testBypassDelete},
		{"DeleteSpent", testBypassDeleteSpent},
		{"NotFound", testBypassNotFound},
		{"CreateConcurrent", testBypassCreateConcurrent},
		{"ReplaceConcurrent", testBypassReplaceConcurrent},
	}
}

// newCodes returns n single-use codes for userID, created at epoch, with
// random distinct 9-digit codes; mod (if not nil) adjusts code i.
func newCodes(t *testing.T, userID string, n int, mod func(i int, c *mfa.BypassCode)) []mfa.BypassCode {
	t.Helper()
	seen := make(map[string]bool)
	codes := make([]mfa.BypassCode, n)
	for i := range codes {
		code := digitsOf(t, mfa.BypassCodeDigits)
		for seen[code] {
			code = digitsOf(t, mfa.BypassCodeDigits)
		}
		seen[code] = true
		codes[i] = mfa.BypassCode{
			ID:        NewID(t, mfa.PrefixBypassCode),
			UserID:    userID,
			Code:      mfa.Passcode(code),
			UsesLeft:  1,
			CreatedBy: "admin@example.com",
			Created:   at(0),
		}
		if mod != nil {
			mod(i, &codes[i])
		}
	}
	return codes
}

// stored is what a list gives back for codes: everything but the code, in
// creation order, then id.
func stored(codes []mfa.BypassCode) []mfa.BypassCode {
	out := make([]mfa.BypassCode, len(codes))
	for i, c := range codes {
		c.Code = ""
		out[i] = c
	}
	sortCreated(out, func(c mfa.BypassCode) time.Time { return c.Created }, func(c mfa.BypassCode) string { return c.ID })
	return out
}

// createCodes stores codes for userID, failing t at once if it cannot.
func createCodes(t *testing.T, s mfa.Store, userID string, preserve bool, codes []mfa.BypassCode) {
	t.Helper()
	req := mfa.NewBypassCodes{UserID: userID, Codes: codes, PreserveExisting: preserve, MaxActive: mfa.MaxActiveBypassCodes}
	check(t, fmt.Sprintf("CreateBypassCodes(%s, %d codes, preserve %v)", userID, len(codes), preserve), s.CreateBypassCodes(t.Context(), req, at(0)))
}

// userCodes lists all of a user's codes.
func userCodes(t *testing.T, s mfa.Store, userID string) []mfa.BypassCode {
	t.Helper()
	codes, total, err := s.ListBypassCodes(t.Context(), mfa.BypassFilter{UserID: userID})
	check(t, fmt.Sprintf("ListBypassCodes(%s)", userID), err)
	if total != len(codes) {
		t.Errorf("ListBypassCodes(%s) = %d codes, total %d, want equal without a page", userID, len(codes), total)
	}
	return codes
}

func testBypassCreate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	codes := newCodes(t, u.ID, 4, func(i int, c *mfa.BypassCode) {
		c.Created = at(time.Duration(i) * time.Second)
		switch i {
		case 0:
			c.UsesLeft = 3
		case 1:
			c.Unlimited, c.UsesLeft = true, 0
		case 2:
			c.Expires = at(24 * time.Hour)
			c.CreatedBy = "Admin API integration"
		case 3:
			c.Expires = at(48 * time.Hour).UTC()
			c.UsesLeft = 10
			c.CreatedBy = ""
		}
	})
	createCodes(t, s, u.ID, false, codes)
	want := stored(codes)
	for i, c := range codes {
		got, err := s.GetBypassCode(ctx, c.ID)
		check(t, "GetBypassCode()", err)
		if got.Code != "" {
			t.Errorf("GetBypassCode(%s).Code is set, want empty: codes never come back", c.ID)
		}
		if diff := cmp.Diff(want[i], got, cmpOpts); diff != "" {
			t.Errorf("GetBypassCode(%s) mismatch (-want +got):\n%s", c.ID, diff)
		}
		if c.Expires.IsZero() && !got.Expires.IsZero() {
			t.Errorf("GetBypassCode(%s).Expires = %v, want zero", c.ID, got.Expires)
		}
	}
	got := userCodes(t, s, u.ID)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListBypassCodes(%s) mismatch (-want +got):\n%s", u.ID, diff)
	}
	for _, c := range got {
		if c.Code != "" {
			t.Errorf("ListBypassCodes(%s) returned the code of %s, want empty", u.ID, c.ID)
		}
	}
}

func testBypassList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	// Pairs share a creation time; each pair is created newest first.
	var all []mfa.BypassCode
	for i := 2; i >= 0; i-- {
		for _, u := range []mfa.User{alice, bob} {
			codes := newCodes(t, u.ID, 2, func(_ int, c *mfa.BypassCode) { c.Created = at(time.Duration(i) * time.Second) })
			createCodes(t, s, u.ID, true, codes)
			all = append(all, stored(codes)...)
		}
	}
	sortCreated(all, func(c mfa.BypassCode) time.Time { return c.Created }, func(c mfa.BypassCode) string { return c.ID })
	var ofAlice []mfa.BypassCode
	for _, c := range all {
		if c.UserID == alice.ID {
			ofAlice = append(ofAlice, c)
		}
	}
	for _, tt := range pageTests(len(all)) {
		got, total, err := s.ListBypassCodes(ctx, mfa.BypassFilter{Page: tt.give})
		call := fmt.Sprintf("ListBypassCodes(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(all[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(all) {
			t.Errorf("%s total = %d, want %d", call, total, len(all))
		}
	}
	for _, tt := range pageTests(len(ofAlice)) {
		f := mfa.BypassFilter{UserID: alice.ID, Page: tt.give}
		got, total, err := s.ListBypassCodes(ctx, f)
		call := fmt.Sprintf("ListBypassCodes(%+v)", f)
		check(t, call, err)
		if diff := cmp.Diff(ofAlice[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(ofAlice) {
			t.Errorf("%s total = %d, want %d", call, total, len(ofAlice))
		}
	}
	got, total, err := s.ListBypassCodes(ctx, mfa.BypassFilter{UserID: NewUser(t, s).ID})
	if err != nil || len(got) != 0 || total != 0 {
		t.Errorf("ListBypassCodes(user without codes) = %d codes, total %d, %v; want 0, 0, nil", len(got), total, err)
	}
}

func testBypassReplace(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	other := NewUser(t, s)
	old := newCodes(t, u.ID, 3, nil)
	createCodes(t, s, u.ID, false, old)
	kept := newCodes(t, other.ID, 2, nil)
	createCodes(t, s, other.ID, false, kept)

	// The new codes replace the old, even one with the same code.
	fresh := newCodes(t, u.ID, 2, func(i int, c *mfa.BypassCode) {
		c.Created = at(time.Minute)
		if i == 0 {
			c.Code = old[0].Code
		}
	})
	createCodes(t, s, u.ID, false, fresh)
	for _, c := range old {
		if _, err := s.GetBypassCode(ctx, c.ID); !isKind(err, mfa.NotFound) {
			t.Errorf("GetBypassCode(%s) after replacement = %v, want not found", c.ID, err)
		}
	}
	if diff := cmp.Diff(stored(fresh), userCodes(t, s, u.ID), cmpOpts); diff != "" {
		t.Errorf("ListBypassCodes(%s) after replacement mismatch (-want +got):\n%s", u.ID, diff)
	}
	if diff := cmp.Diff(stored(kept), userCodes(t, s, other.ID), cmpOpts); diff != "" {
		t.Errorf("ListBypassCodes(other user) after replacement mismatch (-want +got):\n%s", diff)
	}
}

func testBypassPreserve(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	first := newCodes(t, u.ID, 2, nil)
	createCodes(t, s, u.ID, true, first)
	second := newCodes(t, u.ID, 3, func(_ int, c *mfa.BypassCode) { c.Created = at(time.Minute) })
	createCodes(t, s, u.ID, true, second)
	want := append(stored(first), stored(second)...)
	if diff := cmp.Diff(want, userCodes(t, s, u.ID), cmpOpts); diff != "" {
		t.Errorf("ListBypassCodes(%s) after preserving create mismatch (-want +got):\n%s", u.ID, diff)
	}
}

// fill gives userID n unspent single-use codes, 10 per request, with codes
// distinct from those of other fill calls with another batch number.
func fill(t *testing.T, s mfa.Store, userID string, batch, n int) []mfa.BypassCode {
	t.Helper()
	var all []mfa.BypassCode
	for len(all) < n {
		k := min(10, n-len(all))
		codes := newCodes(t, userID, k, func(i int, c *mfa.BypassCode) {
			c.Code = mfa.Passcode(fmt.Sprintf("%03d%06d", batch, len(all)+i))
		})
		createCodes(t, s, userID, true, codes)
		all = append(all, codes...)
	}
	return all
}

// countCodes counts a user's stored codes.
func countCodes(t *testing.T, s mfa.Store, userID string) int {
	t.Helper()
	_, total, err := s.ListBypassCodes(t.Context(), mfa.BypassFilter{UserID: userID, Page: mfa.Page{Limit: 1}})
	check(t, fmt.Sprintf("ListBypassCodes(%s)", userID), err)
	return total
}

func testBypassMaxActive(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	other := NewUser(t, s)
	fill(t, s, other.ID, 9, 50) // another user's codes do not count
	fill(t, s, u.ID, 1, mfa.MaxActiveBypassCodes)

	tests := []struct {
		name     string
		n        int
		preserve bool
		max      int
	}{
		{"one more", 1, true, mfa.MaxActiveBypassCodes},
		{"ten more", 10, true, mfa.MaxActiveBypassCodes},
		{"lower limit", 1, true, 50},
		{"replace over the limit", 11, false, 10},
	}
	for _, tt := range tests {
		codes := newCodes(t, u.ID, tt.n, func(i int, c *mfa.BypassCode) { c.Code = mfa.Passcode(fmt.Sprintf("%03d%06d", 2, i)) })
		err := s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, Codes: codes, PreserveExisting: tt.preserve, MaxActive: tt.max}, at(0))
		wantField(t, fmt.Sprintf("CreateBypassCodes(%s: %d codes, preserve %v, max %d)", tt.name, tt.n, tt.preserve, tt.max), err, mfa.Invalid, "count")
		if got := countCodes(t, s, u.ID); got != mfa.MaxActiveBypassCodes {
			t.Errorf("after a refused CreateBypassCodes(%s) the user holds %d codes, want %d: nothing may change", tt.name, got, mfa.MaxActiveBypassCodes)
		}
		if _, err := s.GetBypassCode(ctx, codes[0].ID); !isKind(err, mfa.NotFound) {
			t.Errorf("GetBypassCode(%s) after a refused create = %v, want not found", codes[0].ID, err)
		}
	}
	if got := countCodes(t, s, other.ID); got != 50 {
		t.Errorf("the other user holds %d codes, want 50", got)
	}

	// Replacing (not preserving) deletes the old codes first, so ten fit.
	fresh := newCodes(t, u.ID, 10, nil)
	createCodes(t, s, u.ID, false, fresh)
	if got := countCodes(t, s, u.ID); got != 10 {
		t.Errorf("after replacing, the user holds %d codes, want 10", got)
	}
}

func testBypassMaxActiveSpent(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	// 90 usable codes and 10 that are spent at epoch: expired, or used up.
	fill(t, s, u.ID, 1, 90)
	spent := newCodes(t, u.ID, 10, func(i int, c *mfa.BypassCode) {
		c.Code = mfa.Passcode(fmt.Sprintf("%03d%06d", 2, i))
		switch {
		case i < 5:
			c.Expires = at(-time.Second)
		case i < 9:
			c.Expires = at(0) // expires exactly now: spent (see BypassCode.Spent)
		default:
			c.UsesLeft = 0
		}
	})
	createCodes(t, s, u.ID, true, spent)

	// Ten more fit: the user then holds 100 unspent codes.
	fill(t, s, u.ID, 3, 10)
	if got := countCodes(t, s, u.ID); got != 110 {
		t.Errorf("user holds %d codes, want 110 (100 unspent)", got)
	}
	// One more does not.
	one := newCodes(t, u.ID, 1, func(_ int, c *mfa.BypassCode) { c.Code = "004000000" })
	err := s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, Codes: one, PreserveExisting: true, MaxActive: mfa.MaxActiveBypassCodes}, at(0))
	wantField(t, "CreateBypassCodes(101st unspent code)", err, mfa.Invalid, "count")
	// A code that is spent on arrival takes no room either.
	late := newCodes(t, u.ID, 1, func(_ int, c *mfa.BypassCode) { c.Code = "005000000"; c.Expires = at(-time.Hour) })
	err = s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, Codes: late, PreserveExisting: true, MaxActive: mfa.MaxActiveBypassCodes}, at(0))
	if err != nil {
		t.Errorf("CreateBypassCodes(an expired code at the limit) = %v, want nil: it is not unspent", err)
	}
}

func testBypassConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	held := newCodes(t, u.ID, 2, nil)
	createCodes(t, s, u.ID, false, held)

	tests := []struct {
		name  string
		codes []mfa.BypassCode
	}{
		{"held code", newCodes(t, u.ID, 3, func(i int, c *mfa.BypassCode) {
			if i == 2 {
				c.Code = held[1].Code
			}
		})},
		{"twice in the request", newCodes(t, u.ID, 3, func(i int, c *mfa.BypassCode) {
			if i == 2 {
				c.Code = "123123123"
			}
			if i == 0 {
				c.Code = "123123123"
			}
		})},
	}
	for _, tt := range tests {
		err := s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, Codes: tt.codes, PreserveExisting: true, MaxActive: 100}, at(0))
		wantField(t, fmt.Sprintf("CreateBypassCodes(%s)", tt.name), err, mfa.Conflict, "codes")
		if diff := cmp.Diff(stored(held), userCodes(t, s, u.ID), cmpOpts); diff != "" {
			t.Errorf("ListBypassCodes(%s) after refused CreateBypassCodes(%s) mismatch (-want +got):\n%s", u.ID, tt.name, diff)
		}
	}

	// Another user may hold the same code.
	other := NewUser(t, s)
	same := newCodes(t, other.ID, 1, func(_ int, c *mfa.BypassCode) { c.Code = held[0].Code })
	createCodes(t, s, other.ID, true, same)
}

func testBypassUnknownUser(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	missing := NewID(t, mfa.PrefixUser)
	codes := newCodes(t, missing, 2, nil)
	for _, preserve := range []bool{false, true} {
		err := s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: missing, Codes: codes, PreserveExisting: preserve, MaxActive: 100}, at(0))
		wantKind(t, fmt.Sprintf("CreateBypassCodes(missing user, preserve %v)", preserve), err, mfa.NotFound)
	}
	if _, total, err := s.ListBypassCodes(ctx, mfa.BypassFilter{}); err != nil || total != 0 {
		t.Errorf("ListBypassCodes() after refused creates = total %d, %v, want 0, nil", total, err)
	}
}

func testBypassDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	codes := newCodes(t, u.ID, 3, func(i int, c *mfa.BypassCode) { c.Created = at(time.Duration(i) * time.Second) })
	createCodes(t, s, u.ID, false, codes)
	check(t, "DeleteBypassCode()", s.DeleteBypassCode(ctx, codes[1].ID))
	if _, err := s.GetBypassCode(ctx, codes[1].ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetBypassCode(%s) after DeleteBypassCode = %v, want not found", codes[1].ID, err)
	}
	want := stored([]mfa.BypassCode{codes[0], codes[2]})
	if diff := cmp.Diff(want, userCodes(t, s, u.ID), cmpOpts); diff != "" {
		t.Errorf("ListBypassCodes(%s) after DeleteBypassCode mismatch (-want +got):\n%s", u.ID, diff)
	}
	wantKind(t, "DeleteBypassCode() again", s.DeleteBypassCode(ctx, codes[1].ID), mfa.NotFound)
	// The deleted code no longer logs in.
	_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: mfa.Guard{Kind: mfa.GuardBypassCode, Code: codes[1].Code, Now: at(time.Minute)}, Success: true, At: at(time.Minute)})
	wantKind(t, "ApplyAuth(deleted bypass code)", err, mfa.NotFound)
}

func testBypassDeleteSpent(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	const kept, deleted = false, true
	tests := []struct {
		name string
		user mfa.User
		mod  func(*mfa.BypassCode)
		want bool // deleted
	}{
		{"single use", alice, func(c *mfa.BypassCode) {}, kept},
		{"unlimited", alice, func(c *mfa.BypassCode) { c.Unlimited, c.UsesLeft = true, 0 }, kept},
		{"expires later", alice, func(c *mfa.BypassCode) { c.Expires = now.Add(time.Microsecond) }, kept},
		{"unlimited expires later", bob, func(c *mfa.BypassCode) { c.Unlimited, c.Expires = true, now.Add(time.Hour) }, kept},
		{"expired", alice, func(c *mfa.BypassCode) { c.Expires = now.Add(-time.Minute) }, deleted},
		{"expires now", bob, func(c *mfa.BypassCode) { c.Expires = now.UTC() }, deleted},
		{"unlimited expired", bob, func(c *mfa.BypassCode) { c.Unlimited, c.Expires = true, now.Add(-time.Hour) }, deleted},
		{"used up", bob, func(c *mfa.BypassCode) { c.UsesLeft = 0 }, deleted},
	}
	codes := make([]mfa.BypassCode, len(tests))
	for i, tt := range tests {
		codes[i] = newCodes(t, tt.user.ID, 1, func(_ int, c *mfa.BypassCode) {
			c.Code = mfa.Passcode(fmt.Sprintf("77700000%d", i))
			tt.mod(c)
		})[0]
		createCodes(t, s, tt.user.ID, true, codes[i:i+1])
	}
	n, err := s.DeleteSpentBypassCodes(ctx, now)
	check(t, "DeleteSpentBypassCodes()", err)
	if n != 4 {
		t.Errorf("DeleteSpentBypassCodes(%v) = %d, want 4", now, n)
	}
	for i, tt := range tests {
		_, err := s.GetBypassCode(ctx, codes[i].ID)
		switch {
		case tt.want == kept && err != nil:
			t.Errorf("GetBypassCode(%s) after DeleteSpentBypassCodes = %v, want nil", tt.name, err)
		case tt.want == deleted && !isKind(err, mfa.NotFound):
			t.Errorf("GetBypassCode(%s) after DeleteSpentBypassCodes = %v, want not found", tt.name, err)
		}
	}
	if n, err := s.DeleteSpentBypassCodes(ctx, now); err != nil || n != 0 {
		t.Errorf("DeleteSpentBypassCodes(%v) again = %d, %v, want 0, nil", now, n, err)
	}
}

func testBypassNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	createCodes(t, s, u.ID, false, newCodes(t, u.ID, 1, nil))
	missing := NewID(t, mfa.PrefixBypassCode)
	if _, err := s.GetBypassCode(ctx, missing); !isKind(err, mfa.NotFound) {
		t.Errorf("GetBypassCode(%s) = %v, want not found", missing, err)
	}
	wantKind(t, fmt.Sprintf("DeleteBypassCode(%s)", missing), s.DeleteBypassCode(ctx, missing), mfa.NotFound)
	if got := countCodes(t, s, u.ID); got != 1 {
		t.Errorf("user holds %d codes, want 1", got)
	}
}

func testBypassCreateConcurrent(t *testing.T, s mfa.Store) {
	const n, per = 20, 10
	u := NewUser(t, s)
	reqs := make([]mfa.NewBypassCodes, n)
	for i := range reqs {
		reqs[i] = mfa.NewBypassCodes{
			UserID: u.ID,
			Codes: newCodes(t, u.ID, per, func(j int, c *mfa.BypassCode) {
				c.Code = mfa.Passcode(fmt.Sprintf("%03d%06d", i, j))
			}),
			PreserveExisting: true,
			MaxActive:        mfa.MaxActiveBypassCodes,
		}
	}
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.CreateBypassCodes(ctx, reqs[i], at(0))
	})
	// Starting from none, exactly MaxActive/per requests fit; the others
	// must be refused whole.
	wantRace(t, "CreateBypassCodes(10 codes, preserve)", errs, mfa.MaxActiveBypassCodes/per, mfa.Invalid)
	for i, err := range errs {
		var e *mfa.Error
		if errors.As(err, &e) && e.Kind == mfa.Invalid && e.Field != "count" {
			t.Errorf("CreateBypassCodes(request %d) = %v with Field %q, want Field %q", i, err, e.Field, "count")
		}
	}
	got := userCodes(t, s, u.ID)
	if len(got) > mfa.MaxActiveBypassCodes {
		t.Errorf("after %d concurrent creates the user holds %d codes, want at most %d", n, len(got), mfa.MaxActiveBypassCodes)
	}
	// Each request is all or nothing: exactly the winners' codes are stored.
	var want []mfa.BypassCode
	for i, err := range errs {
		if err == nil {
			want = append(want, stored(reqs[i].Codes)...)
		}
	}
	if diff := cmp.Diff(want, got, cmpOpts, sortByID(func(c mfa.BypassCode) string { return c.ID })); diff != "" {
		t.Errorf("codes after the race: the winning requests' codes, all of them (-want +got):\n%s", diff)
	}
}

func testBypassReplaceConcurrent(t *testing.T, s mfa.Store) {
	const n, per = 20, 10
	u := NewUser(t, s)
	fill(t, s, u.ID, 999, 50)
	reqs := make([]mfa.NewBypassCodes, n)
	for i := range reqs {
		reqs[i] = mfa.NewBypassCodes{
			UserID: u.ID,
			Codes: newCodes(t, u.ID, per, func(j int, c *mfa.BypassCode) {
				c.Code = mfa.Passcode(fmt.Sprintf("%03d%06d", i, j))
			}),
			MaxActive: mfa.MaxActiveBypassCodes,
		}
	}
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.CreateBypassCodes(ctx, reqs[i], at(0))
	})
	// Every replacement stands; the one that committed last is what is left.
	wantAllOK(t, "CreateBypassCodes(10 codes, replacing)", errs)
	got := userCodes(t, s, u.ID)
	last := -1
	for i, r := range reqs {
		if len(got) > 0 && slices.ContainsFunc(r.Codes, func(c mfa.BypassCode) bool { return c.ID == got[0].ID }) {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("after %d concurrent replacements the user holds %d codes, none from the requests", n, len(got))
	}
	if diff := cmp.Diff(stored(reqs[last].Codes), got, cmpOpts); diff != "" {
		t.Errorf("codes after %d concurrent replacements: one request's codes, no more (-want +got):\n%s", n, diff)
	}
}
