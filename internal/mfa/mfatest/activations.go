package mfatest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func activationTests() []storeTest {
	return []storeTest{
		{"CreateGet", testActivationCreateGet},
		{"CreateNotFound", testActivationCreateNotFound},
		{"CreateConflict", testActivationCreateConflict},
		{"CreateInvalid", testActivationCreateInvalid},
		{"GetNotFound", testActivationGetNotFound},
		{"RedeemOnce", testActivationRedeemOnce},
		{"RedeemExpired", testActivationRedeemExpired},
		{"RedeemWrongCode", testActivationRedeemWrongCode},
		{"RedeemIndistinguishable", testActivationRedeemIndistinguishable},
		{"RedeemConcurrent", testActivationRedeemConcurrent},
		{"CascadeUser", testActivationCascadeUser},
		{"CascadePhone", testActivationCascadePhone},
		{"DeleteExpired", testActivationDeleteExpired},
	}
}

// activationAlphabet is the alphabet of the suite's activation codes.
const activationAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newActivationCode returns a fresh random activation code.
func newActivationCode(t *testing.T) mfa.Passcode {
	t.Helper()
	c, err := mfa.RandomString(rand.Reader, activationAlphabet, mfa.ActivationCodeLength)
	if err != nil {
		t.Fatalf("RandomString() = %v", err)
	}
	return mfa.Passcode(c)
}

// newActivation stores an activation of userID (on phoneID, if not empty),
// created at epoch and expiring an hour later, after applying mods. It
// returns it with its Code.
func newActivation(t *testing.T, s mfa.Store, userID, phoneID string, mods ...func(*mfa.Activation)) mfa.Activation {
	t.Helper()
	a := mfa.Activation{
		ID:      NewID(t, mfa.PrefixActivation),
		Code:    newActivationCode(t),
		UserID:  userID,
		PhoneID: phoneID,
		Created: at(0),
		Expires: at(time.Hour),
	}
	for _, mod := range mods {
		mod(&a)
	}
	check(t, fmt.Sprintf("CreateActivation(%s)", a.ID), s.CreateActivation(t.Context(), a))
	return a
}

// storedActivation is a as the store returns it: without the code.
func storedActivation(a mfa.Activation) mfa.Activation {
	a.Code = ""
	return a
}

func testActivationCreateGet(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	tests := []struct {
		name    string
		phoneID string
	}{
		{"new phone", ""},
		{"existing phone", p.ID},
	}
	for _, tt := range tests {
		a := newActivation(t, s, u.ID, tt.phoneID, func(a *mfa.Activation) {
			// Times in an odd zone, with nanoseconds: they come back as the
			// same instants at microsecond precision.
			a.Created = epoch.Add(time.Second)
			a.Expires = epoch.Add(24 * time.Hour)
		})
		got, err := s.GetActivation(ctx, a.ID)
		check(t, "GetActivation("+tt.name+")", err)
		want := storedActivation(a)
		want.Created, want.Expires = at(time.Second), at(24*time.Hour)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("GetActivation(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
		if got.Code != "" || !got.Redeemed.IsZero() {
			t.Errorf("GetActivation(%s) = Code set %v, Redeemed %v; want no code and a zero Redeemed", tt.name, got.Code != "", got.Redeemed)
		}
	}
}

func testActivationCreateNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	tests := []struct {
		name            string
		userID, phoneID string
	}{
		{"unknown user", NewID(t, mfa.PrefixUser), ""},
		{"unknown user, known phone", NewID(t, mfa.PrefixUser), p.ID},
		{"unknown phone", u.ID, NewID(t, mfa.PrefixPhone)},
	}
	for _, tt := range tests {
		a := mfa.Activation{ID: NewID(t, mfa.PrefixActivation), Code: newActivationCode(t), UserID: tt.userID,
			PhoneID: tt.phoneID, Created: at(0), Expires: at(time.Hour)}
		wantKind(t, "CreateActivation("+tt.name+")", s.CreateActivation(ctx, a), mfa.NotFound)
		_, err := s.GetActivation(ctx, a.ID)
		wantKind(t, "GetActivation(after CreateActivation("+tt.name+"))", err, mfa.NotFound)
		_, err = s.RedeemActivation(ctx, a.Code, at(time.Minute))
		wantKind(t, "RedeemActivation(after CreateActivation("+tt.name+"))", err, mfa.NotFound)
	}
}

func testActivationCreateConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	a := newActivation(t, s, u.ID, "")

	sameID := mfa.Activation{ID: a.ID, Code: newActivationCode(t), UserID: u.ID, Created: at(0), Expires: at(time.Hour)}
	wantKind(t, "CreateActivation(same id)", s.CreateActivation(ctx, sameID), mfa.Conflict)

	// A code is unique across users: redeeming names one activation.
	other := NewUser(t, s)
	sameCode := mfa.Activation{ID: NewID(t, mfa.PrefixActivation), Code: a.Code, UserID: other.ID, Created: at(0), Expires: at(time.Hour)}
	wantKind(t, "CreateActivation(same code)", s.CreateActivation(ctx, sameCode), mfa.Conflict)
	_, err := s.GetActivation(ctx, sameCode.ID)
	wantKind(t, "GetActivation(after a conflicting create)", err, mfa.NotFound)

	// The first one is untouched.
	got, err := s.RedeemActivation(ctx, a.Code, at(time.Minute))
	check(t, "RedeemActivation(first)", err)
	if got.ID != a.ID || got.UserID != u.ID {
		t.Errorf("RedeemActivation(first) = %s of %s, want %s of %s", got.ID, got.UserID, a.ID, u.ID)
	}
}

func testActivationCreateInvalid(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	tests := []struct {
		name  string
		mod   func(*mfa.Activation)
		field string
	}{
		{"no code", func(a *mfa.Activation) { a.Code = "" }, "code"},
		{"never expires", func(a *mfa.Activation) { a.Expires = time.Time{} }, "expires"},
	}
	for _, tt := range tests {
		a := mfa.Activation{ID: NewID(t, mfa.PrefixActivation), Code: newActivationCode(t), UserID: u.ID,
			Created: at(0), Expires: at(time.Hour)}
		tt.mod(&a)
		wantField(t, "CreateActivation("+tt.name+")", s.CreateActivation(ctx, a), mfa.Invalid, tt.field)
		_, err := s.GetActivation(ctx, a.ID)
		wantKind(t, "GetActivation(after CreateActivation("+tt.name+"))", err, mfa.NotFound)
	}
}

func testActivationGetNotFound(t *testing.T, s mfa.Store) {
	_, err := s.GetActivation(t.Context(), NewID(t, mfa.PrefixActivation))
	wantKind(t, "GetActivation(unknown)", err, mfa.NotFound)
}

func testActivationRedeemOnce(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	a := newActivation(t, s, u.ID, p.ID)

	now := epoch.Add(10 * time.Minute) // nanoseconds: stored at microseconds
	got, err := s.RedeemActivation(ctx, a.Code, now)
	check(t, "RedeemActivation()", err)
	want := storedActivation(a)
	want.Redeemed = at(10 * time.Minute)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("RedeemActivation() mismatch (-want +got):\n%s", diff)
	}
	if got.Code != "" {
		t.Error("RedeemActivation() returned the code, want it empty")
	}
	read, err := s.GetActivation(ctx, a.ID)
	check(t, "GetActivation(redeemed)", err)
	if diff := cmp.Diff(want, read, cmpOpts); diff != "" {
		t.Errorf("GetActivation(redeemed) mismatch (-want +got):\n%s", diff)
	}

	for _, when := range []time.Duration{10 * time.Minute, 11 * time.Minute} {
		_, err = s.RedeemActivation(ctx, a.Code, at(when))
		wantKind(t, fmt.Sprintf("RedeemActivation(again at +%v)", when), err, mfa.NotFound)
	}
	read, err = s.GetActivation(ctx, a.ID)
	check(t, "GetActivation(after a second redeem)", err)
	if !read.Redeemed.Equal(want.Redeemed) {
		t.Errorf("GetActivation(after a second redeem).Redeemed = %v, want %v (the first redeem's)", read.Redeemed, want.Redeemed)
	}
}

func testActivationRedeemExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	expires := at(time.Hour)
	tests := []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"a microsecond before expiry", expires.Add(-time.Microsecond), true},
		{"at expiry", expires, false},
		{"after expiry", expires.Add(time.Minute), false},
	}
	for _, tt := range tests {
		a := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = expires })
		got, err := s.RedeemActivation(ctx, a.Code, tt.now)
		if tt.ok {
			check(t, "RedeemActivation("+tt.name+")", err)
			if got.ID != a.ID {
				t.Errorf("RedeemActivation(%s) = %s, want %s", tt.name, got.ID, a.ID)
			}
			continue
		}
		wantKind(t, "RedeemActivation("+tt.name+")", err, mfa.NotFound)
		read, err := s.GetActivation(ctx, a.ID)
		check(t, "GetActivation("+tt.name+")", err)
		if !read.Redeemed.IsZero() {
			t.Errorf("GetActivation(%s).Redeemed = %v after a failed redeem, want zero", tt.name, read.Redeemed)
		}
	}
}

func testActivationRedeemWrongCode(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	a := newActivation(t, s, u.ID, "")
	code := string(a.Code)
	for _, wrong := range []mfa.Passcode{
		"",
		newActivationCode(t),
		mfa.Passcode(code[:len(code)-1]),
		mfa.Passcode(code + "x"),
		mfa.Passcode(" " + code),
	} {
		_, err := s.RedeemActivation(ctx, wrong, at(time.Minute))
		wantKind(t, fmt.Sprintf("RedeemActivation(wrong code of %d characters)", len(wrong)), err, mfa.NotFound)
	}
	// A bypass code with the same characters is a different thing.
	check(t, "CreateBypassCodes()", s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, MaxActive: 100,
		Codes: []mfa.BypassCode{{ID: NewID(t, mfa.PrefixBypassCode), Code: "123456789", UsesLeft: 1, Created: at(0)}}}, at(0)))
	_, err := s.RedeemActivation(ctx, "123456789", at(time.Minute))
	wantKind(t, "RedeemActivation(a bypass code)", err, mfa.NotFound)

	got, err := s.RedeemActivation(ctx, a.Code, at(time.Minute))
	check(t, "RedeemActivation(right code after wrong ones)", err)
	if got.ID != a.ID {
		t.Errorf("RedeemActivation(right code) = %s, want %s", got.ID, a.ID)
	}
}

// testActivationRedeemIndistinguishable: an unknown, a used and an expired
// code get the same answer, so that a caller cannot tell them apart.
func testActivationRedeemIndistinguishable(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	used := newActivation(t, s, u.ID, "")
	_, err := s.RedeemActivation(ctx, used.Code, at(time.Minute))
	check(t, "RedeemActivation(first use)", err)
	expired := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = at(time.Minute) })

	msgs := map[string]string{}
	for name, code := range map[string]mfa.Passcode{
		"unknown": newActivationCode(t),
		"used":    used.Code,
		"expired": expired.Code,
	} {
		_, err := s.RedeemActivation(ctx, code, at(2*time.Minute))
		wantKind(t, "RedeemActivation("+name+")", err, mfa.NotFound)
		var e *mfa.Error
		if errors.As(err, &e) {
			msgs[name] = e.Msg
		}
	}
	if msgs["unknown"] != msgs["used"] || msgs["unknown"] != msgs["expired"] {
		t.Errorf("RedeemActivation() messages differ: %q; want one message for unknown, used and expired codes", msgs)
	}
}

func testActivationRedeemConcurrent(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	a := newActivation(t, s, u.ID, "")
	const n = 20
	winners := make([]mfa.Activation, n)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		var err error
		winners[i], err = s.RedeemActivation(ctx, a.Code, at(time.Minute+time.Duration(i)*time.Microsecond))
		return err
	})
	wantRace(t, "RedeemActivation(one code)", errs, 1, mfa.NotFound)
	read, err := s.GetActivation(t.Context(), a.ID)
	check(t, "GetActivation()", err)
	for i, err := range errs {
		if err != nil {
			continue
		}
		if winners[i].ID != a.ID || !winners[i].Redeemed.Equal(read.Redeemed) {
			t.Errorf("winning RedeemActivation() = %s redeemed %v; stored %v, want %s and the stored time",
				winners[i].ID, winners[i].Redeemed, read.Redeemed, a.ID)
		}
	}
}

func testActivationCascadeUser(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	keep := NewUser(t, s)
	p := NewPhone(t, s)
	gone := []mfa.Activation{newActivation(t, s, u.ID, ""), newActivation(t, s, u.ID, p.ID)}
	kept := newActivation(t, s, keep.ID, p.ID)

	check(t, "DeleteUser()", s.DeleteUser(ctx, u.ID))
	for _, a := range gone {
		_, err := s.GetActivation(ctx, a.ID)
		wantKind(t, "GetActivation(of a deleted user)", err, mfa.NotFound)
		_, err = s.RedeemActivation(ctx, a.Code, at(time.Minute))
		wantKind(t, "RedeemActivation(of a deleted user)", err, mfa.NotFound)
	}
	if _, err := s.GetActivation(ctx, kept.ID); err != nil {
		t.Errorf("GetActivation(of another user) = %v, want nil", err)
	}
}

func testActivationCascadePhone(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	other := NewPhone(t, s)
	gone := newActivation(t, s, u.ID, p.ID)
	kept := []mfa.Activation{newActivation(t, s, u.ID, ""), newActivation(t, s, u.ID, other.ID)}

	check(t, "DeletePhone()", s.DeletePhone(ctx, p.ID))
	_, err := s.GetActivation(ctx, gone.ID)
	wantKind(t, "GetActivation(of a deleted phone)", err, mfa.NotFound)
	_, err = s.RedeemActivation(ctx, gone.Code, at(time.Minute))
	wantKind(t, "RedeemActivation(of a deleted phone)", err, mfa.NotFound)
	for _, a := range kept {
		got, err := s.GetActivation(ctx, a.ID)
		if err != nil || got.PhoneID != a.PhoneID {
			t.Errorf("GetActivation(%s, phone %q) after deleting another phone = phone %q, %v; want it kept", a.ID, a.PhoneID, got.PhoneID, err)
		}
	}
}

func testActivationDeleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	now := at(2 * time.Hour)
	expired := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = at(time.Hour) })
	expiresNow := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = now })
	live := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = now.Add(time.Microsecond) })
	redeemed := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = at(24 * time.Hour) })
	_, err := s.RedeemActivation(ctx, redeemed.Code, at(time.Minute))
	check(t, "RedeemActivation()", err)
	redeemedLater := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = at(24 * time.Hour) })
	_, err = s.RedeemActivation(ctx, redeemedLater.Code, now.Add(time.Minute))
	check(t, "RedeemActivation(after now)", err)

	n, err := s.DeleteExpiredActivations(ctx, now)
	if err != nil || n != 3 {
		t.Errorf("DeleteExpiredActivations(now) = %d, %v, want 3, nil", n, err)
	}
	for _, a := range []mfa.Activation{expired, expiresNow, redeemed} {
		_, err := s.GetActivation(ctx, a.ID)
		wantKind(t, "GetActivation(reaped "+a.ID+")", err, mfa.NotFound)
	}
	for _, a := range []mfa.Activation{live, redeemedLater} {
		if _, err := s.GetActivation(ctx, a.ID); err != nil {
			t.Errorf("GetActivation(%s) after DeleteExpiredActivations = %v, want it kept", a.ID, err)
		}
	}
	if n, err := s.DeleteExpiredActivations(ctx, now); err != nil || n != 0 {
		t.Errorf("DeleteExpiredActivations(now) again = %d, %v, want 0, nil", n, err)
	}
	got, err := s.RedeemActivation(ctx, live.Code, now)
	check(t, "RedeemActivation(kept, live)", err)
	if got.ID != live.ID {
		t.Errorf("RedeemActivation(kept, live) = %s, want %s", got.ID, live.ID)
	}
}
