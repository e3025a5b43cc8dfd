package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func logTests() []storeTest {
	return []storeTest{
		{"AdminLog", testAdminLog},
		{"TelephonyLog", testTelephonyLog},
		{"TelephonyStatus", testTelephonyStatus},
		{"TelephonyStatusRace", testTelephonyStatusRace},
	}
}

// logFilterTests are the filters both logs are read with, over records at
// minutes 0..5 with ids ids[0..5]; want are indexes into the records.
func logFilterTests(ids []int64) []struct {
	give mfa.LogFilter
	want []int
} {
	tm := func(i int) time.Time { return at(time.Duration(i) * time.Minute) }
	return []struct {
		give mfa.LogFilter
		want []int
	}{
		{mfa.LogFilter{Limit: 100}, []int{0, 1, 2, 3, 4, 5}},
		{mfa.LogFilter{Limit: 2}, []int{0, 1}},
		{mfa.LogFilter{MinTime: tm(2), Limit: 100}, []int{2, 3, 4, 5}},
		{mfa.LogFilter{MaxTime: tm(2).UTC(), Limit: 100}, []int{0, 1, 2}},
		{mfa.LogFilter{MinTime: tm(1), MaxTime: tm(4), Limit: 100}, []int{1, 2, 3, 4}},
		{mfa.LogFilter{MinTime: tm(3), MaxTime: tm(3), Limit: 100}, []int{3}},
		{mfa.LogFilter{MinTime: tm(1).Add(time.Microsecond), MaxTime: tm(4).Add(-time.Microsecond), Limit: 100}, []int{2, 3}},
		{mfa.LogFilter{AfterID: ids[2], Limit: 100}, []int{3, 4, 5}},
		{mfa.LogFilter{AfterID: ids[2], Limit: 2}, []int{3, 4}},
		{mfa.LogFilter{AfterID: ids[5], Limit: 100}, nil},
		{mfa.LogFilter{AfterID: ids[0], MaxTime: tm(3), Limit: 100}, []int{1, 2, 3}},
		{mfa.LogFilter{AfterID: ids[3], MinTime: tm(1), Limit: 1}, []int{4}},
		{mfa.LogFilter{MinTime: tm(6), Limit: 100}, nil},
		{mfa.LogFilter{Descending: true, Limit: 100}, []int{5, 4, 3, 2, 1, 0}},
		{mfa.LogFilter{Descending: true, Limit: 2}, []int{5, 4}},
		{mfa.LogFilter{Descending: true, AfterID: ids[4], Limit: 2}, []int{3, 2}},
		{mfa.LogFilter{Descending: true, AfterID: ids[0], Limit: 100}, nil},
		{mfa.LogFilter{Descending: true, AfterID: ids[5], MinTime: tm(2), Limit: 100}, []int{4, 3, 2}},
	}
}

// wantIncreasing fails t unless ids increase strictly.
func wantIncreasing(t *testing.T, call string, ids []int64) {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Errorf("%s ids = %v, want strictly increasing", call, ids)
			return
		}
	}
}

func testAdminLog(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	var entries []mfa.AdminLogEntry
	var ids []int64
	for i := range 6 {
		e := mfa.AdminLogEntry{
			Time:        zoned(i, at(time.Duration(i)*time.Minute)),
			Actor:       "admin@example.com",
			ActorKind:   "admin",
			Action:      "user_create",
			ObjectType:  "user",
			Object:      fmt.Sprintf("user%d", i),
			Description: fmt.Sprintf(`{"username":"user%d","notes":"ünï \"q\""}`, i),
		}
		if i == 4 {
			e = mfa.AdminLogEntry{Time: e.Time, ActorKind: "system", Action: "lockout_expire"}
		}
		id, err := s.AppendAdminLog(ctx, e)
		check(t, "AppendAdminLog()", err)
		e.ID = id
		ids = append(ids, id)
		entries = append(entries, e)
	}
	wantIncreasing(t, "AppendAdminLog()", ids)
	for _, tt := range logFilterTests(ids) {
		got, err := s.ListAdminLog(ctx, tt.give)
		call := fmt.Sprintf("ListAdminLog(%+v)", tt.give)
		check(t, call, err)
		var want []mfa.AdminLogEntry
		for _, i := range tt.want {
			want = append(want, entries[i])
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
	}
	id, err := s.AppendAdminLog(ctx, mfa.AdminLogEntry{Time: at(0), ActorKind: "system", Action: "late"})
	check(t, "AppendAdminLog(late)", err)
	wantIncreasing(t, "AppendAdminLog(an earlier time)", append(ids, id))
}

func testTelephonyLog(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	var entries []mfa.TelephonyLogEntry
	var ids []int64
	for i := range 6 {
		e := mfa.TelephonyLogEntry{
			Time:    zoned(i, at(time.Duration(i)*time.Minute)),
			Type:    "sms",
			Context: "authentication",
			Phone:   fmt.Sprintf("+1555555010%d", i),
			UserID:  NewID(t, mfa.PrefixUser),
			Credits: i + 1,
		}
		if i%3 == 2 {
			e.Type, e.Context, e.UserID, e.Credits = "phone", "administrator", "", 0
		}
		if i%2 == 1 {
			e.CarrierID = fmt.Sprintf("SM%032d", i)
		}
		if i == 3 {
			e.Status = "queued"
		}
		id, err := s.AppendTelephonyLog(ctx, e)
		check(t, "AppendTelephonyLog()", err)
		e.ID = id
		ids = append(ids, id)
		entries = append(entries, e)
	}
	wantIncreasing(t, "AppendTelephonyLog()", ids)
	for _, tt := range logFilterTests(ids) {
		got, err := s.ListTelephonyLog(ctx, tt.give)
		call := fmt.Sprintf("ListTelephonyLog(%+v)", tt.give)
		check(t, call, err)
		var want []mfa.TelephonyLogEntry
		for _, i := range tt.want {
			want = append(want, entries[i])
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
	}
}

// telephonyStatuses returns the status of each carrier id's records (the
// records without one under "").
func telephonyStatuses(t *testing.T, s mfa.Store) map[string][]string {
	t.Helper()
	all, err := s.ListTelephonyLog(t.Context(), mfa.LogFilter{})
	check(t, "ListTelephonyLog()", err)
	out := map[string][]string{}
	for _, e := range all {
		out[e.CarrierID] = append(out[e.CarrierID], e.Status)
	}
	return out
}

func testTelephonyStatus(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		give []string // statuses reported in this order
		want string
	}{
		{"in order", []string{"queued", "sending", "sent", "delivered"}, "delivered"},
		{"late sent after delivered", []string{"queued", "delivered", "sent"}, "delivered"},
		{"late queued after sent", []string{"sent", "queued", "sending"}, "sent"},
		{"first final stays", []string{"failed", "delivered", "undelivered"}, "failed"},
		{"call", []string{"initiated", "ringing", "in-progress", "completed", "ringing"}, "completed"},
		{"call not answered", []string{"ringing", "no-answer", "in-progress"}, "no-answer"},
		{"repeated", []string{"sending", "sending"}, "sending"},
		{"messaging service", []string{"accepted", "queued", "sent"}, "sent"},
	}
	want := map[string][]string{"": {""}}
	_, err := s.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: at(0), Type: "sms", Context: "authentication",
		Phone: "+15555550100", Credits: 1})
	check(t, "AppendTelephonyLog(no carrier id)", err)
	for i, tt := range tests {
		cid := fmt.Sprintf("SM%032d", i)
		typ := "sms"
		if tt.name == "call" || tt.name == "call not answered" {
			typ = "phone"
		}
		_, err := s.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: at(time.Duration(i) * time.Second), Type: typ,
			Context: "authentication", Phone: "+15555550101", UserID: NewID(t, mfa.PrefixUser), Credits: 1, CarrierID: cid})
		check(t, "AppendTelephonyLog()", err)
		for _, st := range tt.give {
			check(t, fmt.Sprintf("%s: SetTelephonyStatus(%s, %s)", tt.name, cid, st), s.SetTelephonyStatus(ctx, cid, st))
		}
		want[cid] = []string{tt.want}
	}
	// Two records of one carrier id (a retried send) move together.
	for range 2 {
		_, err := s.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: at(time.Minute), Type: "sms",
			Context: "administrator", Phone: "+15555550102", Credits: 2, CarrierID: "SMtwice"})
		check(t, "AppendTelephonyLog(SMtwice)", err)
	}
	check(t, "SetTelephonyStatus(SMtwice, sent)", s.SetTelephonyStatus(ctx, "SMtwice", "sent"))
	want["SMtwice"] = []string{"sent", "sent"}

	// Refusals change nothing.
	refusals := []struct {
		cid, status string
		kind        mfa.Kind
	}{
		{"SMnosuch", "delivered", mfa.NotFound},
		{"", "delivered", mfa.Invalid},
		{"SMtwice", "", mfa.Invalid},
		{"SMtwice", "bogus", mfa.Invalid},
		{"SMtwice", "Delivered", mfa.Invalid},
		{"SMtwice", "delivered' OR '1'='1", mfa.Invalid},
	}
	for _, r := range refusals {
		err := s.SetTelephonyStatus(ctx, r.cid, r.status)
		if !isKind(err, r.kind) {
			t.Errorf("SetTelephonyStatus(%q, %q) = %v, want kind %v", r.cid, r.status, err, r.kind)
		}
	}
	if diff := cmp.Diff(want, telephonyStatuses(t, s)); diff != "" {
		t.Errorf("statuses by carrier id mismatch (-want +got):\n%s", diff)
	}
}

// testTelephonyStatusRace: callbacks for one message arrive at once, out
// of order; every one succeeds and the final status stays, whichever ran
// last.
func testTelephonyStatusRace(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	finals := []string{"delivered", "undelivered", "completed", "no-answer"}
	lower := []string{"queued", "sending", "sent", "initiated", "ringing", "in-progress", "accepted"}
	want := map[string][]string{}
	for round, final := range finals {
		cid := fmt.Sprintf("SMrace%d", round)
		_, err := s.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: at(0), Type: "sms", Context: "authentication",
			Phone: "+15555550103", Credits: 1, CarrierID: cid})
		check(t, "AppendTelephonyLog()", err)
		const n = 12
		finalAt := (round * 5) % n // the final status among the racers
		errs := Race(t, n, func(ctx context.Context, i int) error {
			st := lower[i%len(lower)]
			if i == finalAt {
				st = final
			}
			return s.SetTelephonyStatus(ctx, cid, st)
		})
		wantAllOK(t, "SetTelephonyStatus", errs)
		want[cid] = []string{final}
	}
	if diff := cmp.Diff(want, telephonyStatuses(t, s)); diff != "" {
		t.Errorf("statuses after racing callbacks mismatch (-want +got):\n%s", diff)
	}
}
