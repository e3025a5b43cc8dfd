package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func smsTests() []storeTest {
	return []storeTest{
		{"ReplaceAndState", testSMSReplaceAndState},
		{"Exhausted", testSMSExhausted},
		{"Expired", testSMSExpired},
		{"PerUserAndPhone", testSMSPerUserAndPhone},
		{"NotFound", testSMSNotFound},
		{"ReplaceConcurrent", testSMSReplaceConcurrent},
	}
}

// newBatch returns a batch of n distinct random codes for userID on phoneID,
// created at epoch.
func newBatch(t *testing.T, userID, phoneID string, n int, expires time.Time) mfa.SMSBatch {
	t.Helper()
	seen := make(map[string]bool)
	b := mfa.SMSBatch{
		ID:      NewID(t, mfa.PrefixSMSBatch),
		UserID:  userID,
		PhoneID: phoneID,
		Created: at(0),
		Expires: expires,
	}
	for len(b.Codes) < n {
		code := digitsOf(t, 8)
		if !seen[code] {
			seen[code] = true
			b.Codes = append(b.Codes, mfa.Passcode(code))
		}
	}
	return b
}

// useSMS spends an SMS passcode of userID at when.
func useSMS(t *testing.T, s mfa.Store, userID string, code mfa.Passcode, when time.Time) (mfa.SMSCodeUse, error) {
	t.Helper()
	out, err := s.ApplyAuth(t.Context(), mfa.AuthWrite{
		UserID:  userID,
		Guard:   mfa.Guard{Kind: mfa.GuardSMSCode, Code: code, Now: when},
		Success: true,
		At:      when,
	})
	return out.SMS, err
}

// wantState fails t unless SMSBatchState reports next and remaining.
func wantState(t *testing.T, s mfa.Store, userID, phoneID string, now time.Time, next, remaining int) {
	t.Helper()
	gotNext, gotRemaining, err := s.SMSBatchState(t.Context(), userID, phoneID, now)
	if err != nil || gotNext != next || gotRemaining != remaining {
		t.Errorf("SMSBatchState(%s, %s, %v) = %d, %d, %v, want %d, %d, nil", userID, phoneID, now, gotNext, gotRemaining, err, next, remaining)
	}
}

func testSMSReplaceAndState(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
	first := newBatch(t, u.ID, p.ID, 3, time.Time{})
	check(t, "ReplaceSMSBatch(first)", s.ReplaceSMSBatch(ctx, first))
	wantState(t, s, u.ID, p.ID, at(time.Minute), 0, 3)

	for i := range 2 {
		when := at(time.Duration(i+1) * time.Minute)
		got, err := useSMS(t, s, u.ID, first.Codes[i], when)
		check(t, fmt.Sprintf("ApplyAuth(SMS code %d)", i), err)
		want := mfa.SMSCodeUse{BatchID: first.ID, PhoneID: p.ID, Index: i, Remaining: 2 - i}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ApplyAuth(SMS code %d).SMS mismatch (-want +got):\n%s", i, diff)
		}
		wantState(t, s, u.ID, p.ID, when, i+1, 2-i)
	}

	// A new batch voids the old one: its unused code no longer works.
	second := newBatch(t, u.ID, p.ID, 5, time.Time{})
	second.Created = at(time.Hour)
	check(t, "ReplaceSMSBatch(second)", s.ReplaceSMSBatch(ctx, second))
	wantState(t, s, u.ID, p.ID, at(time.Hour), 0, 5)
	_, err := useSMS(t, s, u.ID, first.Codes[2], at(time.Hour))
	wantKind(t, "ApplyAuth(unused code of a voided batch)", err, mfa.NotFound)
	got, err := useSMS(t, s, u.ID, second.Codes[0], at(time.Hour))
	check(t, "ApplyAuth(code of the new batch)", err)
	if want := (mfa.SMSCodeUse{BatchID: second.ID, PhoneID: p.ID, Index: 0, Remaining: 4}); got != want {
		t.Errorf("ApplyAuth(code of the new batch).SMS = %+v, want %+v", got, want)
	}
	// A batch that never expires is still there in ten years.
	wantState(t, s, u.ID, p.ID, at(10*365*24*time.Hour), 1, 4)
}

func testSMSExhausted(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	p := NewPhone(t, s)
	b := newBatch(t, u.ID, p.ID, 2, at(time.Hour))
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(t.Context(), b))
	for i, code := range b.Codes {
		_, err := useSMS(t, s, u.ID, code, at(time.Minute))
		check(t, fmt.Sprintf("ApplyAuth(SMS code %d)", i), err)
	}
	if _, _, err := s.SMSBatchState(t.Context(), u.ID, p.ID, at(time.Minute)); !isKind(err, mfa.NotFound) {
		t.Errorf("SMSBatchState() of a used-up batch = %v, want not found", err)
	}
	for i, code := range b.Codes {
		_, err := useSMS(t, s, u.ID, code, at(2*time.Minute))
		wantKind(t, fmt.Sprintf("ApplyAuth(used SMS code %d)", i), err, mfa.Conflict)
	}
}

func testSMSExpired(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	p := NewPhone(t, s)
	b := newBatch(t, u.ID, p.ID, 3, at(time.Hour))
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(t.Context(), b))
	wantState(t, s, u.ID, p.ID, at(59*time.Minute), 0, 3)
	if _, err := useSMS(t, s, u.ID, b.Codes[0], at(59*time.Minute).UTC()); err != nil {
		t.Errorf("ApplyAuth(SMS code before expiry) = %v, want nil", err)
	}
	later := at(time.Hour + time.Second)
	if _, _, err := s.SMSBatchState(t.Context(), u.ID, p.ID, later); !isKind(err, mfa.NotFound) {
		t.Errorf("SMSBatchState(after expiry) = %v, want not found", err)
	}
	_, err := useSMS(t, s, u.ID, b.Codes[1], later)
	wantKind(t, "ApplyAuth(SMS code after expiry)", err, mfa.NotFound)
}

func testSMSPerUserAndPhone(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	p1 := NewPhone(t, s)
	p2 := NewPhone(t, s)
	aliceP1 := newBatch(t, alice.ID, p1.ID, 3, time.Time{})
	aliceP2 := newBatch(t, alice.ID, p2.ID, 3, time.Time{})
	bobP1 := newBatch(t, bob.ID, p1.ID, 3, time.Time{})
	for _, b := range []mfa.SMSBatch{aliceP1, aliceP2, bobP1} {
		check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(ctx, b))
	}
	// Replacing alice's batch on p1 voids neither her batch on p2 nor
	// bob's batch on p1.
	check(t, "ReplaceSMSBatch(alice, p1)", s.ReplaceSMSBatch(ctx, newBatch(t, alice.ID, p1.ID, 4, time.Time{})))
	wantState(t, s, alice.ID, p1.ID, at(0), 0, 4)
	wantState(t, s, alice.ID, p2.ID, at(0), 0, 3)
	wantState(t, s, bob.ID, p1.ID, at(0), 0, 3)

	got, err := useSMS(t, s, alice.ID, aliceP2.Codes[1], at(time.Minute))
	check(t, "ApplyAuth(alice's code on p2)", err)
	if want := (mfa.SMSCodeUse{BatchID: aliceP2.ID, PhoneID: p2.ID, Index: 1, Remaining: 2}); got != want {
		t.Errorf("ApplyAuth(alice's code on p2).SMS = %+v, want %+v", got, want)
	}
	// Bob's code is not alice's.
	_, err = useSMS(t, s, alice.ID, bobP1.Codes[0], at(time.Minute))
	wantKind(t, "ApplyAuth(alice, bob's SMS code)", err, mfa.NotFound)
	if _, err := useSMS(t, s, bob.ID, bobP1.Codes[0], at(time.Minute)); err != nil {
		t.Errorf("ApplyAuth(bob, his SMS code) after alice tried it = %v, want nil", err)
	}
	wantKind(t, "ApplyAuth(alice, her voided code)", func() error { _, err := useSMS(t, s, alice.ID, aliceP1.Codes[0], at(time.Minute)); return err }(), mfa.NotFound)
}

func testSMSNotFound(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	p := NewPhone(t, s)
	if _, _, err := s.SMSBatchState(t.Context(), u.ID, p.ID, at(0)); !isKind(err, mfa.NotFound) {
		t.Errorf("SMSBatchState(no batch) = %v, want not found", err)
	}
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(t.Context(), newBatch(t, u.ID, p.ID, 2, time.Time{})))
	_, err := useSMS(t, s, u.ID, "00000000x", at(0))
	wantKind(t, "ApplyAuth(unknown SMS code)", err, mfa.NotFound)
	other := NewPhone(t, s)
	if _, _, err := s.SMSBatchState(t.Context(), u.ID, other.ID, at(0)); !isKind(err, mfa.NotFound) {
		t.Errorf("SMSBatchState(phone without a batch) = %v, want not found", err)
	}
}

func testSMSReplaceConcurrent(t *testing.T, s mfa.Store) {
	const n = 10
	u := NewUser(t, s)
	p := NewPhone(t, s)
	batches := make([]mfa.SMSBatch, n)
	for i := range batches {
		batches[i] = newBatch(t, u.ID, p.ID, 3, time.Time{})
	}
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.ReplaceSMSBatch(ctx, batches[i])
	})
	wantAllOK(t, "ReplaceSMSBatch(same user and phone)", errs)
	// Each replacement voided the one before: one batch is left, whichever
	// committed last.
	wantState(t, s, u.ID, p.ID, at(0), 0, 3)
	live := 0
	for i, b := range batches {
		_, err := useSMS(t, s, u.ID, b.Codes[0], at(time.Minute))
		switch {
		case err == nil:
			live++
		case !isKind(err, mfa.NotFound):
			t.Errorf("ApplyAuth(first code of batch %d) = %v, want nil (the last batch) or not found (voided)", i, err)
		}
	}
	if live != 1 {
		t.Errorf("after %d concurrent ReplaceSMSBatch, the codes of %d batches work, want exactly 1", n, live)
	}
}
