package mfatest

import (
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func identityTests() []storeTest {
	return []storeTest{
		{"SetCheckClear", testIdentitySetCheckClear},
		{"BoundToUserAndCheck", testIdentityBound},
		{"Invalid", testIdentityInvalid},
		{"UserDeleted", testIdentityUserDeleted},
	}
}

func testIdentitySetCheckClear(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	st, err := s.UserIdentity(ctx, u.ID)
	check(t, "UserIdentity(none)", err)
	if st.Has(mfa.IdentityPIN) || st.Has(mfa.IdentityDOBID) {
		t.Fatalf("UserIdentity(none) = %+v, want nothing set", st)
	}
	ok, err := s.CheckUserIdentity(ctx, u.ID, mfa.IdentityPIN, "482913")
	check(t, "CheckUserIdentity(none)", err)
	if ok {
		t.Fatal("CheckUserIdentity(none set) = true")
	}
	check(t, "SetUserIdentity(pin)", s.SetUserIdentity(ctx, u.ID, mfa.IdentityPIN, "482913", at(time.Minute)))
	check(t, "SetUserIdentity(dob_id)", s.SetUserIdentity(ctx, u.ID, mfa.IdentityDOBID, "1980-02-29|1234", at(2*time.Minute)))
	st, err = s.UserIdentity(ctx, u.ID)
	check(t, "UserIdentity", err)
	if !st.PINSet.Equal(at(time.Minute)) || !st.DOBIDSet.Equal(at(2*time.Minute)) {
		t.Fatalf("UserIdentity = %+v, want pin at %v, dob_id at %v", st, at(time.Minute), at(2*time.Minute))
	}
	tests := []struct {
		c    mfa.IdentityCheck
		give mfa.Passcode
		want bool
	}{
		{mfa.IdentityPIN, "482913", true},
		{mfa.IdentityPIN, "482914", false},
		{mfa.IdentityPIN, "", false},
		{mfa.IdentityDOBID, "1980-02-29|1234", true},
		{mfa.IdentityDOBID, "1980-02-29|1235", false},
	}
	for _, tt := range tests {
		got, err := s.CheckUserIdentity(ctx, u.ID, tt.c, tt.give)
		check(t, "CheckUserIdentity", err)
		if got != tt.want {
			t.Errorf("CheckUserIdentity(%s, %d chars) = %v, want %v", tt.c, len(tt.give), got, tt.want)
		}
	}
	// Replacing a PIN leaves the old one useless.
	check(t, "SetUserIdentity(new pin)", s.SetUserIdentity(ctx, u.ID, mfa.IdentityPIN, "739120", at(3*time.Minute)))
	if ok, _ := s.CheckUserIdentity(ctx, u.ID, mfa.IdentityPIN, "482913"); ok {
		t.Error("the replaced PIN still matches")
	}
	if ok, _ := s.CheckUserIdentity(ctx, u.ID, mfa.IdentityPIN, "739120"); !ok {
		t.Error("the new PIN does not match")
	}
	// Clearing one answer keeps the other.
	check(t, "SetUserIdentity(clear pin)", s.SetUserIdentity(ctx, u.ID, mfa.IdentityPIN, "", at(4*time.Minute)))
	st, err = s.UserIdentity(ctx, u.ID)
	check(t, "UserIdentity(cleared)", err)
	if st.Has(mfa.IdentityPIN) || !st.Has(mfa.IdentityDOBID) {
		t.Errorf("UserIdentity after clearing the PIN = %+v, want only dob_id", st)
	}
	if ok, _ := s.CheckUserIdentity(ctx, u.ID, mfa.IdentityPIN, "739120"); ok {
		t.Error("a cleared PIN still matches")
	}
}

func testIdentityBound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a, b := NewUser(t, s), NewUser(t, s)
	check(t, "SetUserIdentity(a)", s.SetUserIdentity(ctx, a.ID, mfa.IdentityPIN, "555123", at(0)))
	if ok, _ := s.CheckUserIdentity(ctx, b.ID, mfa.IdentityPIN, "555123"); ok {
		t.Error("a's PIN matches for b")
	}
	// The same characters as the other check's answer match nothing.
	if ok, _ := s.CheckUserIdentity(ctx, a.ID, mfa.IdentityDOBID, "555123"); ok {
		t.Error("a's PIN matches as a's dob_id")
	}
}

func testIdentityInvalid(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	wantKind(t, "SetUserIdentity(unknown user)", s.SetUserIdentity(ctx, "DUNOSUCHUSER0000000", mfa.IdentityPIN, "555123", at(0)), mfa.NotFound)
	_, err := s.UserIdentity(ctx, "DUNOSUCHUSER0000000")
	wantKind(t, "UserIdentity(unknown user)", err, mfa.NotFound)
	wantKind(t, "SetUserIdentity(bad check)", s.SetUserIdentity(ctx, u.ID, "ssn", "555123", at(0)), mfa.Invalid)
	_, err = s.CheckUserIdentity(ctx, u.ID, "ssn", "555123")
	wantKind(t, "CheckUserIdentity(bad check)", err, mfa.Invalid)
}

func testIdentityUserDeleted(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	check(t, "SetUserIdentity", s.SetUserIdentity(ctx, u.ID, mfa.IdentityPIN, "555123", at(0)))
	check(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	if ok, err := s.CheckUserIdentity(ctx, u.ID, mfa.IdentityPIN, "555123"); ok || err != nil {
		t.Errorf("CheckUserIdentity(deleted user) = %v, %v; want false, nil", ok, err)
	}
}
