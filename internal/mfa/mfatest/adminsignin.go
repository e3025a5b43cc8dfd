package mfatest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// testAdminFailures: failures count atomically, the one reaching the
// threshold locks, Clear resets both, and UpdateAdmin touches neither.
func testAdminFailures(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewAdmin(t, s, func(a *mfa.Admin) { a.PasswordChangeRequired = true })
	if got := getAdmin(t, s, a.ID); !got.PasswordChangeRequired || got.FailedLogins != 0 || !got.LockedAt.IsZero() {
		t.Fatalf("new admin = %+v, want PasswordChangeRequired, no failures", got)
	}
	const n = 6
	errs := Race(t, n, func(ctx context.Context, i int) error {
		_, err := s.CountAdminFailure(ctx, a.ID, 4, at(time.Duration(i)*time.Second))
		return err
	})
	wantAllOK(t, "CountAdminFailure", errs)
	got := getAdmin(t, s, a.ID)
	if got.FailedLogins != n || got.LockedAt.IsZero() || got.CanSignIn() {
		t.Errorf("after %d concurrent failures with threshold 4: FailedLogins %d, LockedAt %v, want %d and locked", n, got.FailedLogins, got.LockedAt, n)
	}
	locked := got.LockedAt
	// An edit does not undo the count or the lockout.
	edit := a
	edit.Name, edit.PasswordChangeRequired = "Edited", false
	check(t, "UpdateAdmin", s.UpdateAdmin(ctx, edit))
	got = getAdmin(t, s, a.ID)
	if got.FailedLogins != n || !got.LockedAt.Equal(locked) || got.PasswordChangeRequired || got.Name != "Edited" {
		t.Errorf("after UpdateAdmin: %+v, want the failures kept and the edit stored", got)
	}
	// Later failures keep the first lockout time.
	got, err := s.CountAdminFailure(ctx, a.ID, 4, at(time.Hour))
	check(t, "CountAdminFailure(locked)", err)
	if !got.LockedAt.Equal(locked) || got.FailedLogins != n+1 {
		t.Errorf("CountAdminFailure(locked) = %d, %v, want %d, %v", got.FailedLogins, got.LockedAt, n+1, locked)
	}
	check(t, "ClearAdminFailures", s.ClearAdminFailures(ctx, a.ID, time.Time{}))
	if got := getAdmin(t, s, a.ID); got.FailedLogins != 0 || !got.LockedAt.IsZero() || !got.CanSignIn() || !got.LastLogin.IsZero() {
		t.Errorf("after ClearAdminFailures: %+v", got)
	}
	check(t, "ClearAdminFailures(signed in)", s.ClearAdminFailures(ctx, a.ID, at(2*time.Hour)))
	if got := getAdmin(t, s, a.ID); !got.LastLogin.Equal(at(2 * time.Hour)) {
		t.Errorf("ClearAdminFailures(signed in) LastLogin = %v, want %v", got.LastLogin, at(2*time.Hour))
	}
	// Threshold 0 never locks.
	got, err = s.CountAdminFailure(ctx, a.ID, 0, at(0))
	check(t, "CountAdminFailure(threshold 0)", err)
	if !got.LockedAt.IsZero() || got.FailedLogins != 1 {
		t.Errorf("CountAdminFailure(threshold 0) = %+v, want one failure and no lockout", got)
	}
	_, err = s.CountAdminFailure(ctx, "DEunknown", 1, at(0))
	wantKind(t, "CountAdminFailure(unknown)", err, mfa.NotFound)
	wantKind(t, "ClearAdminFailures(unknown)", s.ClearAdminFailures(ctx, "DEunknown", time.Time{}), mfa.NotFound)
}

// testAdminTOTP: the secret round-trips; a step is accepted once and only
// forward (of concurrent uses of one step exactly one wins); a confirmed
// secret cannot be replaced until deleted.
func testAdminTOTP(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewAdmin(t, s)
	_, err := s.GetAdminTOTP(ctx, a.ID)
	wantKind(t, "GetAdminTOTP(none)", err, mfa.NotFound)
	if ok, err := s.UseAdminTOTPStep(ctx, a.ID, 5); ok || err != nil {
		t.Errorf("UseAdminTOTPStep(no secret) = %v, %v, want false, nil", ok, err)
	}
	secret := mfa.Secret("12345678901234567890")
	check(t, "SetAdminTOTP", s.SetAdminTOTP(ctx, a.ID, secret))
	got, err := s.GetAdminTOTP(ctx, a.ID)
	check(t, "GetAdminTOTP", err)
	if string(got.Secret) != string(secret) || got.Confirmed || got.LastStep != 0 {
		t.Errorf("GetAdminTOTP = confirmed %v, step %d, secret equal %v", got.Confirmed, got.LastStep, string(got.Secret) == string(secret))
	}
	// Unconfirmed: may be replaced.
	secret2 := mfa.Secret("abcdefghijabcdefghij")
	check(t, "SetAdminTOTP(replace unconfirmed)", s.SetAdminTOTP(ctx, a.ID, secret2))

	const n = 8
	var won atomic.Int32
	errs := Race(t, n, func(ctx context.Context, i int) error {
		ok, err := s.UseAdminTOTPStep(ctx, a.ID, 1000)
		if ok {
			won.Add(1)
		}
		return err
	})
	wantAllOK(t, "UseAdminTOTPStep", errs)
	if won.Load() != 1 {
		t.Errorf("%d concurrent UseAdminTOTPStep(1000) won, want exactly 1", won.Load())
	}
	for _, step := range []int64{1000, 999} {
		if ok, err := s.UseAdminTOTPStep(ctx, a.ID, step); ok || err != nil {
			t.Errorf("UseAdminTOTPStep(%d) after 1000 = %v, %v, want false", step, ok, err)
		}
	}
	if ok, err := s.UseAdminTOTPStep(ctx, a.ID, 1001); !ok || err != nil {
		t.Errorf("UseAdminTOTPStep(1001) = %v, %v, want true", ok, err)
	}
	got, err = s.GetAdminTOTP(ctx, a.ID)
	check(t, "GetAdminTOTP", err)
	if !got.Confirmed || got.LastStep != 1001 || string(got.Secret) != string(secret2) {
		t.Errorf("after use: confirmed %v step %d, want confirmed at 1001 with the second secret", got.Confirmed, got.LastStep)
	}
	wantKind(t, "SetAdminTOTP(confirmed)", s.SetAdminTOTP(ctx, a.ID, secret), mfa.Conflict)
	check(t, "DeleteAdminTOTP", s.DeleteAdminTOTP(ctx, a.ID))
	_, err = s.GetAdminTOTP(ctx, a.ID)
	wantKind(t, "GetAdminTOTP(deleted)", err, mfa.NotFound)
	check(t, "SetAdminTOTP(after delete)", s.SetAdminTOTP(ctx, a.ID, secret))
	wantKind(t, "SetAdminTOTP(unknown)", s.SetAdminTOTP(ctx, "DEunknown", secret), mfa.NotFound)
	wantKind(t, "DeleteAdminTOTP(unknown)", s.DeleteAdminTOTP(ctx, "DEunknown"), mfa.NotFound)
	if err := s.DeleteAdminTOTP(ctx, a.ID); err != nil && !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("DeleteAdminTOTP = %v", err)
	}
}
