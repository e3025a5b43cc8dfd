package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func transactionTests() []storeTest {
	return []storeTest{
		{"Create", testTransactionCreate},
		{"SetStatus", testTransactionSetStatus},
		{"Complete", testTransactionComplete},
		{"CompleteUser", testTransactionCompleteUser},
		{"Pending", testTransactionPending},
		{"Expired", testTransactionExpired},
		{"DeleteFinished", testTransactionDeleteFinished},
		{"NotFound", testTransactionNotFound},
		{"CompleteConcurrent", testTransactionCompleteConcurrent},
	}
}

// newTransaction stores a pending push to phoneID for userID, created at
// epoch and expiring at expires, after applying mods.
func newTransaction(t *testing.T, s mfa.Store, userID, phoneID string, expires time.Time, mods ...func(*mfa.Transaction)) mfa.Transaction {
	t.Helper()
	tx := mfa.Transaction{
		ID:      NewTxID(t),
		UserID:  userID,
		IKey:    "DIXXXXXXXXXXXXXXXXXX",
		Factor:  mfa.FactorPush,
		PhoneID: phoneID,
		State:   mfa.TxPending,
		Status:  "pushed",
		Type:    "Login request",
		Created: at(0),
		Expires: expires,
	}
	for _, mod := range mods {
		mod(&tx)
	}
	check(t, fmt.Sprintf("CreateTransaction(%s)", tx.ID), s.CreateTransaction(t.Context(), tx))
	return tx
}

// getTransaction reads a transaction, failing t at once if it cannot.
func getTransaction(t *testing.T, s mfa.Store, id string) mfa.Transaction {
	t.Helper()
	tx, err := s.GetTransaction(t.Context(), id)
	check(t, fmt.Sprintf("GetTransaction(%s)", id), err)
	return tx
}

func testTransactionCreate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	tests := []struct {
		name string
		give mfa.Transaction
	}{
		{"push", mfa.Transaction{
			ID:               NewTxID(t),
			UserID:           u.ID,
			IKey:             "DIABCDEFGHIJKLMNOPQR",
			Factor:           mfa.FactorPush,
			PhoneID:          p.ID,
			State:            mfa.TxPending,
			Status:           "pushed",
			StatusMsg:        "Pushed a login request to your device...",
			PushInfo:         "from=login%20page&domain=example.com",
			Type:             "Login request",
			DisplayUsername:  "alice@example.com",
			IP:               "2001:db8::1",
			Hostname:         "workstation",
			VerificationCode: "123",
			Created:          at(0),
			Expires:          at(time.Minute).UTC(),
		}},
		{"phone call", mfa.Transaction{
			ID:      NewTxID(t),
			UserID:  u.ID,
			Factor:  mfa.FactorPhone,
			PhoneID: p.ID,
			State:   mfa.TxPending,
			Status:  "calling",
			Created: at(time.Second),
			Expires: at(time.Minute),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "CreateTransaction()", s.CreateTransaction(ctx, tt.give))
			got := getTransaction(t, s, tt.give.ID)
			if diff := cmp.Diff(tt.give, got, cmpOpts); diff != "" {
				t.Errorf("GetTransaction(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
			}
			if !got.Answered.IsZero() {
				t.Errorf("GetTransaction(%s).Answered = %v, want zero while pending", tt.give.ID, got.Answered)
			}
		})
	}
}

func testTransactionSetStatus(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	tx := newTransaction(t, s, u.ID, p.ID, at(time.Minute))
	other := newTransaction(t, s, u.ID, p.ID, at(time.Minute))

	want := tx
	for _, step := range []struct{ status, msg string }{
		{"answered", "The user answered the call."},
		{"calling", ""},
	} {
		check(t, fmt.Sprintf("SetTransactionStatus(%q)", step.status), s.SetTransactionStatus(ctx, tx.ID, step.status, step.msg))
		want.Status, want.StatusMsg = step.status, step.msg
		if diff := cmp.Diff(want, getTransaction(t, s, tx.ID), cmpOpts); diff != "" {
			t.Errorf("GetTransaction(%s) after SetTransactionStatus(%q) mismatch (-want +got):\n%s", tx.ID, step.status, diff)
		}
	}
	if diff := cmp.Diff(other, getTransaction(t, s, other.ID), cmpOpts); diff != "" {
		t.Errorf("GetTransaction(other) after SetTransactionStatus mismatch (-want +got):\n%s", diff)
	}

	done, err := s.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxDeny, Status: "timeout", StatusMsg: "Login timed out.", At: at(time.Minute)}, nil)
	check(t, "CompleteTransaction()", err)
	wantKind(t, "SetTransactionStatus(completed)", s.SetTransactionStatus(ctx, tx.ID, "pushed", "again"), mfa.Conflict)
	if diff := cmp.Diff(done, getTransaction(t, s, tx.ID), cmpOpts); diff != "" {
		t.Errorf("GetTransaction(%s) after a refused SetTransactionStatus mismatch (-want +got):\n%s", tx.ID, diff)
	}
}

func testTransactionComplete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	tests := []struct {
		name string
		give mfa.TxOutcome
		log  bool
	}{
		{"allow", mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", StatusMsg: "Success. Logging you in...", At: at(20 * time.Second)}, true},
		{"deny", mfa.TxOutcome{State: mfa.TxDeny, Status: "deny", StatusMsg: "Login request denied.", At: at(30 * time.Second).UTC()}, true},
		{"fraud", mfa.TxOutcome{State: mfa.TxDeny, Status: "fraud", At: at(40 * time.Second)}, true},
		{"no log", mfa.TxOutcome{State: mfa.TxDeny, Status: "timeout", At: at(time.Minute)}, false},
	}
	var wantLog []mfa.AuthLogEntry
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := newTransaction(t, s, u.ID, p.ID, at(time.Minute))
			var entry *mfa.AuthLogEntry
			if tt.log {
				e := newLogEntry(t, u.ID, tt.give.At)
				e.TxID, e.Factor, e.Result = tx.ID, "duo_push", mfa.ResultDenied
				if tt.give.State == mfa.TxAllow {
					e.Result = mfa.ResultSuccess
				}
				entry = &e
				wantLog = append(wantLog, e)
			}
			got, err := s.CompleteTransaction(ctx, tx.ID, tt.give, entry)
			check(t, "CompleteTransaction()", err)
			want := tx
			want.State, want.Status, want.StatusMsg, want.Answered = tt.give.State, tt.give.Status, tt.give.StatusMsg, tt.give.At
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("CompleteTransaction(%s, %s) mismatch (-want +got):\n%s", tx.ID, tt.name, diff)
			}
			if diff := cmp.Diff(want, getTransaction(t, s, tx.ID), cmpOpts); diff != "" {
				t.Errorf("GetTransaction(%s) after CompleteTransaction mismatch (-want +got):\n%s", tx.ID, diff)
			}

			// Completing again is refused and changes nothing.
			again := newLogEntry(t, u.ID, at(2*time.Minute))
			_, err = s.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: at(2 * time.Minute)}, &again)
			wantKind(t, "CompleteTransaction() again", err, mfa.Conflict)
			if diff := cmp.Diff(want, getTransaction(t, s, tx.ID), cmpOpts); diff != "" {
				t.Errorf("GetTransaction(%s) after a second completion mismatch (-want +got):\n%s", tx.ID, diff)
			}
		})
	}
	if diff := cmp.Diff(wantLog, authLog(t, s), cmpOpts); diff != "" {
		t.Errorf("auth log after completions: the first completions' records only (-want +got):\n%s", diff)
	}
}

// testTransactionCompleteUser: an ending's user side is written with it: a
// failure counts toward the lockout (locking at the threshold), a success
// resets the count and sets the last login, a refused completion changes
// nothing, and no user side leaves the user alone.
func testTransactionCompleteUser(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	complete := func(out mfa.TxOutcome) mfa.Transaction {
		t.Helper()
		tx := newTransaction(t, s, u.ID, p.ID, at(time.Hour))
		_, err := s.CompleteTransaction(ctx, tx.ID, out, nil)
		check(t, "CompleteTransaction()", err)
		return tx
	}
	wantUser := func(what string, failed int, status mfa.UserStatus, lastLogin, lockedAt time.Time) {
		t.Helper()
		got := getUser(t, s, u.ID)
		if got.FailedAttempts != failed || got.Status != status || !got.LastLogin.Equal(lastLogin) || !got.LockedAt.Equal(lockedAt) {
			t.Errorf("%s: user has failed_attempts %d, status %q, last_login %v, locked_at %v; want %d, %q, %v, %v",
				what, got.FailedAttempts, got.Status, got.LastLogin, got.LockedAt, failed, status, lastLogin, lockedAt)
		}
	}
	deny := mfa.TxOutcome{State: mfa.TxDeny, Status: "deny", At: at(time.Second), UserFailure: true, Threshold: 3}
	complete(deny)
	wantUser("one failure", 1, mfa.StatusActive, time.Time{}, time.Time{})
	complete(mfa.TxOutcome{State: mfa.TxDeny, Status: "timeout", At: at(2 * time.Second)})
	wantUser("an ending without a user side", 1, mfa.StatusActive, time.Time{}, time.Time{})
	complete(mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: at(3 * time.Second), UserSuccess: true})
	wantUser("a success", 0, mfa.StatusActive, at(3*time.Second), time.Time{})
	complete(deny)
	complete(deny)
	last := complete(mfa.TxOutcome{State: mfa.TxDeny, Status: "fraud", At: at(4 * time.Second), UserFailure: true, Threshold: 3})
	wantUser("three failures", 3, mfa.StatusLockedOut, at(3*time.Second), at(4*time.Second))
	// Completing again is refused, and counts nothing.
	_, err := s.CompleteTransaction(ctx, last.ID, deny, nil)
	wantKind(t, "CompleteTransaction() again", err, mfa.Conflict)
	wantUser("after a refused completion", 3, mfa.StatusLockedOut, at(3*time.Second), at(4*time.Second))
}

func testTransactionPending(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p1 := NewPhone(t, s)
	p2 := NewPhone(t, s)
	now := at(time.Hour)
	soon := newTransaction(t, s, u.ID, p1.ID, now.Add(time.Microsecond))
	later := newTransaction(t, s, u.ID, p1.ID, now.Add(time.Minute).UTC(), func(tx *mfa.Transaction) { tx.Created = at(time.Second) })
	newTransaction(t, s, u.ID, p1.ID, now)                   // expires exactly now
	newTransaction(t, s, u.ID, p1.ID, now.Add(-time.Second)) // expired
	newTransaction(t, s, u.ID, p2.ID, now.Add(time.Minute))  // another phone
	done := newTransaction(t, s, u.ID, p1.ID, now.Add(time.Minute))
	if _, err := s.CompleteTransaction(ctx, done.ID, mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: now}, nil); err != nil {
		t.Fatalf("CompleteTransaction() = %v, want nil", err)
	}
	answered := newTransaction(t, s, u.ID, p1.ID, now.Add(time.Minute))
	check(t, "SetTransactionStatus()", s.SetTransactionStatus(ctx, answered.ID, "answered", ""))
	answered.Status = "answered"

	got, err := s.PendingTransactions(ctx, p1.ID, now)
	check(t, "PendingTransactions()", err)
	if diff := cmp.Diff([]mfa.Transaction{soon, later, answered}, got, cmpOpts, sortTransactions); diff != "" {
		t.Errorf("PendingTransactions(%s, %v) mismatch (-want +got):\n%s", p1.ID, now, diff)
	}
	if got, err := s.PendingTransactions(ctx, NewPhone(t, s).ID, now); err != nil || len(got) != 0 {
		t.Errorf("PendingTransactions(phone without transactions) = %d, %v, want 0, nil", len(got), err)
	}
}

func testTransactionExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p1 := NewPhone(t, s)
	p2 := NewPhone(t, s)
	now := at(time.Hour)
	exactly := newTransaction(t, s, u.ID, p1.ID, now)
	before := newTransaction(t, s, u.ID, p2.ID, now.Add(-time.Minute).UTC())
	newTransaction(t, s, u.ID, p1.ID, now.Add(time.Microsecond)) // still pending
	done := newTransaction(t, s, u.ID, p1.ID, now.Add(-time.Minute))
	if _, err := s.CompleteTransaction(ctx, done.ID, mfa.TxOutcome{State: mfa.TxDeny, Status: "deny", At: now}, nil); err != nil {
		t.Fatalf("CompleteTransaction() = %v, want nil", err)
	}

	got, err := s.ExpiredTransactions(ctx, now, 10)
	check(t, "ExpiredTransactions()", err)
	if diff := cmp.Diff([]mfa.Transaction{exactly, before}, got, cmpOpts, sortTransactions); diff != "" {
		t.Errorf("ExpiredTransactions(%v, 10) mismatch (-want +got):\n%s", now, diff)
	}
	got, err = s.ExpiredTransactions(ctx, now, 1)
	check(t, "ExpiredTransactions(limit 1)", err)
	if len(got) != 1 || (got[0].ID != exactly.ID && got[0].ID != before.ID) {
		t.Errorf("ExpiredTransactions(%v, 1) = %d transactions, want one of the two expired", now, len(got))
	}
	if got, err := s.ExpiredTransactions(ctx, now.Add(-time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("ExpiredTransactions(an hour earlier) = %d, %v, want 0, nil", len(got), err)
	}
}

func testTransactionNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	missing := NewTxID(t)
	if _, err := s.GetTransaction(ctx, missing); !isKind(err, mfa.NotFound) {
		t.Errorf("GetTransaction(%s) = %v, want not found", missing, err)
	}
	wantKind(t, "SetTransactionStatus(missing)", s.SetTransactionStatus(ctx, missing, "pushed", ""), mfa.NotFound)
	entry := newLogEntry(t, "", at(0))
	entry.TxID = missing
	_, err := s.CompleteTransaction(ctx, missing, mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: at(0)}, &entry)
	wantKind(t, "CompleteTransaction(missing)", err, mfa.NotFound)
	if got := authLog(t, s); len(got) != 0 {
		t.Errorf("auth log after completing a missing transaction = %d records, want 0", len(got))
	}
}

func testTransactionCompleteConcurrent(t *testing.T, s mfa.Store) {
	const n = 20
	u := NewUser(t, s)
	p := NewPhone(t, s)
	tx := newTransaction(t, s, u.ID, p.ID, at(time.Minute))
	entries := newLogEntries(t, u.ID, at(30*time.Second), n)
	outs := make([]mfa.Transaction, n)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		state := mfa.TxAllow
		if i%2 == 1 {
			state = mfa.TxDeny
		}
		entries[i].TxID = tx.ID
		entries[i].IP = fmt.Sprintf("192.0.2.%d", i)
		var err error
		outs[i], err = s.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: state, Status: string(state), At: at(30 * time.Second)}, &entries[i])
		return err
	})
	wantRace(t, "CompleteTransaction()", errs, 1, mfa.Conflict)
	winner := -1
	for i, err := range errs {
		if err == nil {
			winner = i
		}
	}
	if winner < 0 {
		return
	}
	if diff := cmp.Diff(outs[winner], getTransaction(t, s, tx.ID), cmpOpts); diff != "" {
		t.Errorf("GetTransaction(%s): the winner's outcome (-want +got):\n%s", tx.ID, diff)
	}
	if diff := cmp.Diff([]mfa.AuthLogEntry{entries[winner]}, authLog(t, s), cmpOpts); diff != "" {
		t.Errorf("auth log after the race: the winner's record only (-want +got):\n%s", diff)
	}
}

func testTransactionDeleteFinished(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	now := at(time.Hour)
	complete := func(tx mfa.Transaction) {
		t.Helper()
		if _, err := s.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: now}, nil); err != nil {
			t.Fatalf("CompleteTransaction() = %v, want nil", err)
		}
	}
	oldDone := newTransaction(t, s, u.ID, p.ID, now.Add(-time.Minute))
	complete(oldDone)
	atBoundary := newTransaction(t, s, u.ID, p.ID, now)
	complete(atBoundary)
	oldPending := newTransaction(t, s, u.ID, p.ID, now.Add(-time.Minute))
	freshDone := newTransaction(t, s, u.ID, p.ID, now.Add(time.Minute))
	complete(freshDone)

	n, err := s.DeleteFinishedTransactions(ctx, now)
	check(t, "DeleteFinishedTransactions()", err)
	if n != 1 {
		t.Errorf("DeleteFinishedTransactions(%v) = %d, want 1 (only the finished one that expired before)", now, n)
	}
	if _, err := s.GetTransaction(ctx, oldDone.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetTransaction(deleted) = %v, want NotFound", err)
	}
	for _, keep := range []mfa.Transaction{atBoundary, oldPending, freshDone} {
		if _, err := s.GetTransaction(ctx, keep.ID); err != nil {
			t.Errorf("GetTransaction(%s) = %v, want it kept", keep.ID, err)
		}
	}
}
