package mfatest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func authLogTests() []storeTest {
	return []storeTest{
		{"Append", testAuthLogAppend},
		{"TimeBounds", testAuthLogTimeBounds},
		{"Filter", testAuthLogFilter},
		{"Order", testAuthLogOrder},
		{"Cursor", testAuthLogCursor},
		{"CursorFiltered", testAuthLogCursorFiltered},
	}
}

// sortLog sorts records in the auth log's order: (Time, TxID).
func sortLog(entries []mfa.AuthLogEntry) {
	slices.SortFunc(entries, func(a, b mfa.AuthLogEntry) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.TxID, b.TxID)
	})
}

// appendLog stores entries with AppendAuthLog.
func appendLog(t *testing.T, s mfa.Store, entries ...mfa.AuthLogEntry) {
	t.Helper()
	for _, e := range entries {
		check(t, fmt.Sprintf("AppendAuthLog(%s)", e.TxID), s.AppendAuthLog(t.Context(), e))
	}
}

// zoned alternates a time between the suite's zone and UTC, so that a
// backend that compares wall clocks instead of instants gets the order wrong.
func zoned(i int, tm time.Time) time.Time {
	if i%2 == 0 {
		return tm.UTC()
	}
	return tm.In(zone)
}

func testAuthLogAppend(t *testing.T, s mfa.Store) {
	full := newLogEntry(t, NewID(t, mfa.PrefixUser), at(time.Minute))
	full.EventType = "enrollment"
	full.Reason = "user_marked_fraud"
	full.Result = mfa.ResultFraud
	bare := mfa.AuthLogEntry{TxID: NewTxID(t), Time: at(2 * time.Minute).UTC(), Result: mfa.ResultError}
	odd := newLogEntry(t, "", at(0))
	odd.Username = "ünïcödé 'quoted' \"user\""
	odd.Hostname = strings.Repeat("h", 255)
	appendLog(t, s, full, bare, odd)
	if diff := cmp.Diff([]mfa.AuthLogEntry{odd, full, bare}, authLog(t, s), cmpOpts); diff != "" {
		t.Errorf("ListAuthLog() after AppendAuthLog mismatch (-want +got):\n%s", diff)
	}
}

func testAuthLogTimeBounds(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	var entries []mfa.AuthLogEntry
	for i := range 5 {
		entries = append(entries, newLogEntry(t, "", zoned(i, at(time.Duration(i)*time.Minute))))
	}
	appendLog(t, s, entries...)
	tm := func(i int) time.Time { return at(time.Duration(i) * time.Minute) }
	tests := []struct {
		name     string
		give     mfa.AuthLogFilter
		from, to int // want entries[from:to]
	}{
		{"none", mfa.AuthLogFilter{}, 0, 5},
		{"min", mfa.AuthLogFilter{MinTime: tm(1)}, 1, 5},
		{"max", mfa.AuthLogFilter{MaxTime: tm(3)}, 0, 4},
		{"both", mfa.AuthLogFilter{MinTime: tm(1), MaxTime: tm(3).UTC()}, 1, 4},
		{"one instant", mfa.AuthLogFilter{MinTime: tm(2).UTC(), MaxTime: tm(2)}, 2, 3},
		{"min just after", mfa.AuthLogFilter{MinTime: tm(1).Add(time.Microsecond)}, 2, 5},
		{"max just before", mfa.AuthLogFilter{MaxTime: tm(3).Add(-time.Microsecond)}, 0, 3},
		{"after all", mfa.AuthLogFilter{MinTime: tm(5)}, 5, 5},
		{"before all", mfa.AuthLogFilter{MaxTime: tm(-1)}, 0, 0},
	}
	for _, tt := range tests {
		tt.give.Limit = 100
		got, total, err := s.ListAuthLog(ctx, tt.give)
		call := fmt.Sprintf("ListAuthLog(%s: %v..%v)", tt.name, tt.give.MinTime, tt.give.MaxTime)
		check(t, call, err)
		if diff := cmp.Diff(entries[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != tt.to-tt.from {
			t.Errorf("%s total = %d, want %d", call, total, tt.to-tt.from)
		}
	}
}

func testAuthLogFilter(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u1, u2, u3 := NewID(t, mfa.PrefixUser), NewID(t, mfa.PrefixUser), NewID(t, mfa.PrefixUser)
	ik1, ik2 := NewID(t, mfa.PrefixIntegration), NewID(t, mfa.PrefixIntegration)
	mk := func(i int, user, ikey string, result mfa.AuthResult, factor, reason string) mfa.AuthLogEntry {
		e := newLogEntry(t, user, at(time.Duration(i)*time.Second))
		e.IKey, e.Result, e.Factor, e.Reason = ikey, result, factor, reason
		return e
	}
	e := []mfa.AuthLogEntry{
		mk(0, u1, ik1, mfa.ResultSuccess, "duo_push", "user_approved"),
		mk(1, u1, ik2, mfa.ResultFailure, "passcode", "invalid_passcode"),
		mk(2, u2, ik1, mfa.ResultSuccess, "passcode", "valid_passcode"),
		mk(3, u2, ik2, mfa.ResultDenied, "duo_push", "user_marked_fraud"),
		mk(4, u3, ik1, mfa.ResultFraud, "duo_push", "user_marked_fraud"),
		mk(5, "", ik1, mfa.ResultDenied, "", "user_not_found"),
		mk(6, u1, ik1, mfa.ResultSuccess, "bypass_code", "bypass_user"),
	}
	e[2].EventType, e[5].EventType = "enrollment", "enrollment"
	e[0].DeviceID, e[3].DeviceID, e[1].DeviceID = "DPDEVICE1", "DPDEVICE1", "DHTOKEN1"
	appendLog(t, s, e...)
	pick := func(idx ...int) []mfa.AuthLogEntry {
		var out []mfa.AuthLogEntry
		for _, i := range idx {
			out = append(out, e[i])
		}
		return out
	}
	tests := []struct {
		name string
		give mfa.AuthLogFilter
		want []mfa.AuthLogEntry
	}{
		{"users", mfa.AuthLogFilter{UserIDs: []string{u1}}, pick(0, 1, 6)},
		{"users any of", mfa.AuthLogFilter{UserIDs: []string{u3, u2}}, pick(2, 3, 4)},
		{"users none", mfa.AuthLogFilter{UserIDs: []string{NewID(t, mfa.PrefixUser)}}, nil},
		{"ikeys", mfa.AuthLogFilter{IKeys: []string{ik2}}, pick(1, 3)},
		{"ikeys any of", mfa.AuthLogFilter{IKeys: []string{ik1, ik2}}, pick(0, 1, 2, 3, 4, 5, 6)},
		{"results", mfa.AuthLogFilter{Results: []mfa.AuthResult{mfa.ResultDenied}}, pick(3, 5)},
		{"results any of", mfa.AuthLogFilter{Results: []mfa.AuthResult{mfa.ResultFailure, mfa.ResultFraud}}, pick(1, 4)},
		{"factors", mfa.AuthLogFilter{Factors: []string{"duo_push"}}, pick(0, 3, 4)},
		{"factors any of", mfa.AuthLogFilter{Factors: []string{"passcode", "bypass_code"}}, pick(1, 2, 6)},
		{"reasons", mfa.AuthLogFilter{Reasons: []string{"user_marked_fraud"}}, pick(3, 4)},
		{"reasons any of", mfa.AuthLogFilter{Reasons: []string{"user_not_found", "bypass_user"}}, pick(5, 6)},
		{"users and results", mfa.AuthLogFilter{UserIDs: []string{u1, u2}, Results: []mfa.AuthResult{mfa.ResultSuccess}}, pick(0, 2, 6)},
		{"ikey and factor", mfa.AuthLogFilter{IKeys: []string{ik1}, Factors: []string{"duo_push"}}, pick(0, 4)},
		{"all five", mfa.AuthLogFilter{
			UserIDs: []string{u2, u3}, IKeys: []string{ik2}, Results: []mfa.AuthResult{mfa.ResultDenied},
			Factors: []string{"duo_push"}, Reasons: []string{"user_marked_fraud"},
		}, pick(3)},
		{"filter and time", mfa.AuthLogFilter{UserIDs: []string{u1}, MinTime: at(time.Second), MaxTime: at(5 * time.Second)}, pick(1)},
		{"txid", mfa.AuthLogFilter{TxIDs: []string{e[3].TxID}}, pick(3)},
		{"txids any of", mfa.AuthLogFilter{TxIDs: []string{e[6].TxID, e[0].TxID}}, pick(0, 6)},
		{"txid none", mfa.AuthLogFilter{TxIDs: []string{NewTxID(t)}}, nil},
		{"event types", mfa.AuthLogFilter{EventTypes: []string{"enrollment"}}, pick(2, 5)},
		{"event types any of", mfa.AuthLogFilter{EventTypes: []string{"enrollment", "authentication"}}, pick(0, 1, 2, 3, 4, 5, 6)},
		{"device ids", mfa.AuthLogFilter{DeviceIDs: []string{"DPDEVICE1"}}, pick(0, 3)},
		{"device ids any of", mfa.AuthLogFilter{DeviceIDs: []string{"DHTOKEN1", "DPDEVICE1"}}, pick(0, 1, 3)},
		{"device and event type", mfa.AuthLogFilter{DeviceIDs: []string{"DPDEVICE1"}, EventTypes: []string{"authentication"}}, pick(0, 3)},
	}
	for _, tt := range tests {
		tt.give.Limit = 100
		got, total, err := s.ListAuthLog(ctx, tt.give)
		call := fmt.Sprintf("ListAuthLog(%s)", tt.name)
		check(t, call, err)
		if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(tt.want) {
			t.Errorf("%s total = %d, want %d", call, total, len(tt.want))
		}
		// The total ignores the limit.
		tt.give.Limit = 1
		if _, total, err := s.ListAuthLog(ctx, tt.give); err != nil || total != len(tt.want) {
			t.Errorf("%s with limit 1: total = %d, %v, want %d, nil", call, total, err, len(tt.want))
		}
	}
}

// sameTimeLog returns n records in groups of three that share a timestamp,
// in alternating locations, each with a random txid, in random order.
func sameTimeLog(t *testing.T, n int, user func(i int) string) []mfa.AuthLogEntry {
	t.Helper()
	entries := make([]mfa.AuthLogEntry, n)
	for i := range entries {
		entries[i] = newLogEntry(t, user(i), zoned(i, at(time.Duration(i/3)*time.Second)))
	}
	// Append in an order that is neither the time nor the txid order.
	slices.SortFunc(entries, func(a, b mfa.AuthLogEntry) int { return strings.Compare(a.Username+a.TxID[9:], b.Username+b.TxID[9:]) })
	return entries
}

func testAuthLogOrder(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	entries := sameTimeLog(t, 12, func(int) string { return "" })
	appendLog(t, s, entries...)
	want := slices.Clone(entries)
	sortLog(want)
	got, total, err := s.ListAuthLog(ctx, mfa.AuthLogFilter{Limit: 100})
	check(t, "ListAuthLog()", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListAuthLog(): (Time, TxID) order (-want +got):\n%s", diff)
	}
	slices.Reverse(want)
	got, totalDesc, err := s.ListAuthLog(ctx, mfa.AuthLogFilter{Limit: 100, Descending: true})
	check(t, "ListAuthLog(Descending)", err)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("ListAuthLog(Descending): reverse (Time, TxID) order (-want +got):\n%s", diff)
	}
	if total != 12 || totalDesc != 12 {
		t.Errorf("ListAuthLog() totals = %d ascending, %d descending, want 12", total, totalDesc)
	}
	got, _, err = s.ListAuthLog(ctx, mfa.AuthLogFilter{Limit: 4, Descending: true})
	check(t, "ListAuthLog(Descending, Limit 4)", err)
	if diff := cmp.Diff(want[:4], got, cmpOpts); diff != "" {
		t.Errorf("ListAuthLog(Descending, Limit 4): the newest four (-want +got):\n%s", diff)
	}
}

// pageLog reads the whole listing f, limit records at a time, following the
// cursor, and checks every page's total.
func pageLog(t *testing.T, s mfa.Store, f mfa.AuthLogFilter, limit, wantTotal int) []mfa.AuthLogEntry {
	t.Helper()
	var all []mfa.AuthLogEntry
	f.Limit = limit
	for page := 0; ; page++ {
		if page > wantTotal/limit+2 {
			t.Fatalf("ListAuthLog(%+v) still returns records after %d pages of %d: the cursor does not advance", f, page, limit)
		}
		got, total, err := s.ListAuthLog(t.Context(), f)
		check(t, fmt.Sprintf("ListAuthLog(page %d)", page), err)
		if total != wantTotal {
			t.Errorf("ListAuthLog(page %d, descending %v) total = %d, want %d (the cursor and limit are ignored)", page, f.Descending, total, wantTotal)
		}
		if len(got) > limit {
			t.Fatalf("ListAuthLog(page %d) = %d records, want at most %d", page, len(got), limit)
		}
		all = append(all, got...)
		if len(got) < limit {
			return all
		}
		last := got[len(got)-1]
		f.AfterTime, f.AfterTxID = last.Time, last.TxID
	}
}

func testAuthLogCursor(t *testing.T, s mfa.Store) {
	const n = 25
	entries := sameTimeLog(t, n, func(int) string { return "" })
	appendLog(t, s, entries...)
	want := slices.Clone(entries)
	sortLog(want)
	for _, desc := range []bool{false, true} {
		got := pageLog(t, s, mfa.AuthLogFilter{Descending: desc}, 10, n)
		w := slices.Clone(want)
		if desc {
			slices.Reverse(w)
		}
		if diff := cmp.Diff(w, got, cmpOpts); diff != "" {
			t.Errorf("paging through %d records 10 at a time, descending %v: each once, in order (-want +got):\n%s", n, desc, diff)
		}
	}
	// A cursor in the middle of a group of equal times.
	mid := want[10]
	got, total, err := s.ListAuthLog(t.Context(), mfa.AuthLogFilter{AfterTime: mid.Time.UTC(), AfterTxID: mid.TxID, Limit: 3})
	check(t, "ListAuthLog(after record 10)", err)
	if diff := cmp.Diff(want[11:14], got, cmpOpts); diff != "" {
		t.Errorf("ListAuthLog(after record 10, limit 3) mismatch (-want +got):\n%s", diff)
	}
	if total != n {
		t.Errorf("ListAuthLog(after record 10) total = %d, want %d", total, n)
	}
	got, _, err = s.ListAuthLog(t.Context(), mfa.AuthLogFilter{AfterTime: mid.Time, AfterTxID: mid.TxID, Limit: 3, Descending: true})
	check(t, "ListAuthLog(before record 10)", err)
	w := slices.Clone(want[7:10])
	slices.Reverse(w)
	if diff := cmp.Diff(w, got, cmpOpts); diff != "" {
		t.Errorf("ListAuthLog(descending after record 10, limit 3) mismatch (-want +got):\n%s", diff)
	}
}

func testAuthLogCursorFiltered(t *testing.T, s mfa.Store) {
	u1, u2 := NewID(t, mfa.PrefixUser), NewID(t, mfa.PrefixUser)
	entries := sameTimeLog(t, 30, func(i int) string {
		if i%3 == 1 {
			return u2
		}
		return u1
	})
	appendLog(t, s, entries...)
	var want []mfa.AuthLogEntry
	for _, e := range entries {
		if e.UserID == u1 {
			want = append(want, e)
		}
	}
	sortLog(want)
	minTime, maxTime := at(2*time.Second), at(7*time.Second)
	var bounded []mfa.AuthLogEntry
	for _, e := range want {
		if !e.Time.Before(minTime) && !e.Time.After(maxTime) {
			bounded = append(bounded, e)
		}
	}
	for _, desc := range []bool{false, true} {
		got := pageLog(t, s, mfa.AuthLogFilter{UserIDs: []string{u1}, Descending: desc}, 4, len(want))
		w := slices.Clone(want)
		if desc {
			slices.Reverse(w)
		}
		if diff := cmp.Diff(w, got, cmpOpts); diff != "" {
			t.Errorf("paging through user %s's records 4 at a time, descending %v (-want +got):\n%s", u1, desc, diff)
		}
		got = pageLog(t, s, mfa.AuthLogFilter{UserIDs: []string{u1}, MinTime: minTime, MaxTime: maxTime, Descending: desc}, 3, len(bounded))
		w = slices.Clone(bounded)
		if desc {
			slices.Reverse(w)
		}
		if diff := cmp.Diff(w, got, cmpOpts); diff != "" {
			t.Errorf("paging through user %s's records in %v..%v 3 at a time, descending %v (-want +got):\n%s", u1, minTime, maxTime, desc, diff)
		}
	}
}
