package mfatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func atomicTests() []storeTest {
	return []storeTest{
		{"Commit", testAtomicCommit},
		{"RollbackOnError", testAtomicRollbackOnError},
		{"RollbackOnPanic", testAtomicRollbackOnPanic},
		{"NestedFailureUndoesItsPart", testAtomicNested},
		{"ApplyAuthInside", testAtomicApplyAuth},
		{"IntegrationCache", testAtomicIntegrationCache},
		{"Concurrent", testAtomicConcurrent},
		{"UpdateSettingsConcurrent", testUpdateSettingsConcurrent},
		{"UpdateSettingsError", testUpdateSettingsError},
	}
}

var errAtomicTest = errors.New("atomic test: fn failed")

// adminLogLen returns how many admin log records s holds.
func adminLogLen(t *testing.T, s mfa.Store) int {
	t.Helper()
	entries, err := s.ListAdminLog(t.Context(), mfa.LogFilter{})
	check(t, "ListAdminLog()", err)
	return len(entries)
}

func adminLogEntry(object string) mfa.AdminLogEntry {
	return mfa.AdminLogEntry{Time: at(time.Minute), Actor: "admin@example.com", ActorKind: "admin",
		Action: "user_update", ObjectType: "user", Object: object, Description: "{}"}
}

// testAtomicCommit: everything fn writes commits together, and fn's own
// reads see its writes.
func testAtomicCommit(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	err := s.Atomic(ctx, func(ctx context.Context) error {
		u.RealName = "Changed Inside"
		if err := s.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := s.ResetAuthFailures(ctx, u.ID); err != nil {
			return err
		}
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		if got.RealName != "Changed Inside" {
			t.Errorf("GetUser() inside Atomic: RealName = %q, want the transaction's own write", got.RealName)
		}
		if _, err := s.AppendAdminLog(ctx, adminLogEntry(u.ID)); err != nil {
			return err
		}
		entries, err := s.ListAdminLog(ctx, mfa.LogFilter{})
		if err != nil {
			return err
		}
		if len(entries) != 1 {
			t.Errorf("ListAdminLog() inside Atomic = %d records, want 1", len(entries))
		}
		return nil
	})
	check(t, "Atomic()", err)
	got, err := s.GetUser(ctx, u.ID)
	check(t, "GetUser()", err)
	if got.RealName != "Changed Inside" {
		t.Errorf("GetUser() after Atomic: RealName = %q, want %q", got.RealName, "Changed Inside")
	}
	if n := adminLogLen(t, s); n != 1 {
		t.Errorf("admin log after Atomic = %d records, want 1", n)
	}
}

// testAtomicRollbackOnError: an error from fn keeps nothing fn wrote, of
// any kind, and is returned.
func testAtomicRollbackOnError(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	in := NewIntegration(t, s, mfa.IntegrationAuthAPI)
	p := NewPhone(t, s)
	var newUser mfa.User
	err := s.Atomic(ctx, func(ctx context.Context) error {
		changed := u
		changed.Status = mfa.StatusBypass
		if err := s.UpdateUser(ctx, changed); err != nil {
			return err
		}
		newUser = mfa.User{ID: NewID(t, mfa.PrefixUser), Username: "atomic-rollback", Status: mfa.StatusActive, Created: at(0)}
		if err := s.CreateUser(ctx, newUser); err != nil {
			return err
		}
		if err := s.AttachPhone(ctx, u.ID, p.ID); err != nil {
			return err
		}
		if _, err := s.UpdateSettings(ctx, func(st *mfa.Settings) error { st.LockoutThreshold = 77; return nil }); err != nil {
			return err
		}
		changedIn := in
		changedIn.Name = "renamed inside"
		if err := s.UpdateIntegration(ctx, changedIn); err != nil {
			return err
		}
		if err := s.DeletePhone(ctx, p.ID); err != nil {
			return err
		}
		if _, err := s.AppendAdminLog(ctx, adminLogEntry(u.ID)); err != nil {
			return err
		}
		return errAtomicTest
	})
	if !errors.Is(err, errAtomicTest) {
		t.Fatalf("Atomic(fn failing) = %v, want fn's error", err)
	}
	got, err := s.GetUser(ctx, u.ID)
	check(t, "GetUser()", err)
	if got.Status != mfa.StatusActive {
		t.Errorf("user status after a failed Atomic = %q, want %q", got.Status, mfa.StatusActive)
	}
	_, err = s.GetUser(ctx, newUser.ID)
	wantKind(t, "GetUser(created in a failed Atomic)", err, mfa.NotFound)
	if _, err := s.GetPhone(ctx, p.ID); err != nil {
		t.Errorf("GetPhone(deleted in a failed Atomic) = %v, want the phone", err)
	}
	phones, err := s.UserPhones(ctx, u.ID)
	check(t, "UserPhones()", err)
	if len(phones) != 0 {
		t.Errorf("UserPhones() after a failed Atomic = %d phones, want 0", len(phones))
	}
	st, err := s.GetSettings(ctx)
	check(t, "GetSettings()", err)
	if st.LockoutThreshold != mfa.DefaultSettings().LockoutThreshold {
		t.Errorf("LockoutThreshold after a failed Atomic = %d, want the default %d", st.LockoutThreshold, mfa.DefaultSettings().LockoutThreshold)
	}
	gotIn, err := s.GetIntegration(ctx, in.IKey)
	check(t, "GetIntegration()", err)
	if gotIn.Name != in.Name {
		t.Errorf("integration name after a failed Atomic = %q, want %q", gotIn.Name, in.Name)
	}
	if n := adminLogLen(t, s); n != 0 {
		t.Errorf("admin log after a failed Atomic = %d records, want 0", n)
	}
	// The store is still usable: a later Atomic commits.
	check(t, "Atomic() after a failed one", s.Atomic(ctx, func(ctx context.Context) error {
		_, err := s.AppendAdminLog(ctx, adminLogEntry(u.ID))
		return err
	}))
	if n := adminLogLen(t, s); n != 1 {
		t.Errorf("admin log after a later Atomic = %d records, want 1", n)
	}
}

// testAtomicRollbackOnPanic: a panic in fn is re-raised, nothing is kept,
// and the store stays usable (the transaction did not leak).
func testAtomicRollbackOnPanic(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("Atomic(fn panicking) recovered %v, want the panic re-raised", p)
			}
		}()
		s.Atomic(ctx, func(ctx context.Context) error {
			if _, err := s.AppendAdminLog(ctx, adminLogEntry(u.ID)); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if n := adminLogLen(t, s); n != 0 {
		t.Errorf("admin log after a panicking Atomic = %d records, want 0", n)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	check(t, "DeleteUser() after a panicking Atomic", s.DeleteUser(ctx, u.ID))
}

// testAtomicNested: a failing nested Atomic, or a failing store write,
// undoes only its own part; the rest commits.
func testAtomicNested(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewUser(t, s)
	var b mfa.User
	err := s.Atomic(ctx, func(ctx context.Context) error {
		if _, err := s.AppendAdminLog(ctx, adminLogEntry("outer")); err != nil {
			return err
		}
		inner := s.Atomic(ctx, func(ctx context.Context) error {
			if _, err := s.AppendAdminLog(ctx, adminLogEntry("inner")); err != nil {
				return err
			}
			return errAtomicTest
		})
		if !errors.Is(inner, errAtomicTest) {
			t.Errorf("nested Atomic(fn failing) = %v, want fn's error", inner)
		}
		// A write that fails (username taken) inside the transaction.
		dup := mfa.User{ID: NewID(t, mfa.PrefixUser), Username: a.Username, Status: mfa.StatusActive, Created: at(0)}
		wantKind(t, "CreateUser(taken name) inside Atomic", s.CreateUser(ctx, dup), mfa.Conflict)
		b = mfa.User{ID: NewID(t, mfa.PrefixUser), Username: "atomic-nested-b", Status: mfa.StatusActive, Created: at(0)}
		return s.CreateUser(ctx, b)
	})
	check(t, "Atomic()", err)
	entries, err := s.ListAdminLog(ctx, mfa.LogFilter{})
	check(t, "ListAdminLog()", err)
	if len(entries) != 1 || entries[0].Object != "outer" {
		t.Errorf("admin log = %+v, want only the outer record", entries)
	}
	if _, err := s.GetUser(ctx, b.ID); err != nil {
		t.Errorf("GetUser(created after a failed write in the same Atomic) = %v, want the user", err)
	}
}

// testAtomicApplyAuth: authentication writes inside Atomic join it (a
// backend that batches them on a writer of its own must not deadlock).
func testAtomicApplyAuth(t *testing.T, s mfa.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	u := NewUser(t, s)
	tok := NewToken(t, s, mfa.TokenH6)
	e := newLogEntry(t, u.ID, at(time.Minute))
	err := s.Atomic(ctx, func(ctx context.Context) error {
		_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(time.Minute), Log: &e,
			Guard: mfa.Guard{Kind: mfa.GuardTokenCounter, ID: tok.ID, Counter: 0}})
		if err != nil {
			return err
		}
		return errAtomicTest
	})
	if !errors.Is(err, errAtomicTest) {
		t.Fatalf("Atomic(ApplyAuth, then fail) = %v, want fn's error", err)
	}
	if n := len(authLog(t, s)); n != 0 {
		t.Errorf("auth log after a failed Atomic = %d records, want 0", n)
	}
	check(t, "Atomic(ApplyAuth)", s.Atomic(ctx, func(ctx context.Context) error {
		_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: at(time.Minute), Log: &e,
			Guard: mfa.Guard{Kind: mfa.GuardTokenCounter, ID: tok.ID, Counter: 0}})
		return err
	}))
	if n := len(authLog(t, s)); n != 1 {
		t.Errorf("auth log after Atomic(ApplyAuth) = %d records, want 1", n)
	}
}

// testAtomicIntegrationCache: a change inside Atomic is visible inside it,
// everywhere once committed, and nowhere once rolled back (a backend's
// cache must not keep what the transaction read).
func testAtomicIntegrationCache(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	in := NewIntegration(t, s, mfa.IntegrationAuthAPI)
	rename := func(name string, fail bool) error {
		return s.Atomic(ctx, func(ctx context.Context) error {
			changed := in
			changed.Name = name
			if err := s.UpdateIntegration(ctx, changed); err != nil {
				return err
			}
			got, err := s.GetIntegration(ctx, in.IKey)
			if err != nil {
				return err
			}
			if got.Name != name {
				t.Errorf("GetIntegration() inside Atomic: Name = %q, want %q", got.Name, name)
			}
			if fail {
				return errAtomicTest
			}
			return nil
		})
	}
	wantName := func(when, want string) {
		t.Helper()
		got, err := s.GetIntegration(ctx, in.IKey)
		check(t, "GetIntegration()", err)
		if got.Name != want {
			t.Errorf("GetIntegration() %s: Name = %q, want %q", when, got.Name, want)
		}
	}
	wantName("before", in.Name) // warms any cache
	if err := rename("rolled back", true); !errors.Is(err, errAtomicTest) {
		t.Fatalf("Atomic(rename, fail) = %v, want fn's error", err)
	}
	wantName("after a failed Atomic", in.Name)
	check(t, "Atomic(rename)", rename("committed", false))
	wantName("after Atomic", "committed")
}

// testAtomicConcurrent: concurrent Atomic read-modify-writes of one row do
// not lose updates when they change it through a locking store method.
func testAtomicConcurrent(t *testing.T, s mfa.Store) {
	const n = 20
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.Atomic(ctx, func(ctx context.Context) error {
			if _, err := s.UpdateSettings(ctx, func(st *mfa.Settings) error { st.SMSBatchSize++; return nil }); err != nil {
				return err
			}
			_, err := s.AppendAdminLog(ctx, adminLogEntry("settings"))
			return err
		})
	})
	wantAllOK(t, "Atomic(UpdateSettings + AppendAdminLog)", errs)
	st, err := s.GetSettings(t.Context())
	check(t, "GetSettings()", err)
	if want := mfa.DefaultSettings().SMSBatchSize + n; st.SMSBatchSize != want {
		t.Errorf("SMSBatchSize after %d concurrent increments = %d, want %d", n, st.SMSBatchSize, want)
	}
	if got := adminLogLen(t, s); got != n {
		t.Errorf("admin log = %d records, want %d", got, n)
	}
}

// testUpdateSettingsConcurrent: concurrent updates of different fields all
// survive (no read-modify-write of the whole settings loses one).
func testUpdateSettingsConcurrent(t *testing.T, s mfa.Store) {
	const n = 20
	errs := Race(t, 2*n, func(ctx context.Context, i int) error {
		_, err := s.UpdateSettings(ctx, func(st *mfa.Settings) error {
			if i%2 == 0 {
				st.LockoutThreshold++
			} else {
				st.InactiveUserExpiration++
			}
			return nil
		})
		return err
	})
	wantAllOK(t, "UpdateSettings()", errs)
	st, err := s.GetSettings(t.Context())
	check(t, "GetSettings()", err)
	def := mfa.DefaultSettings()
	if st.LockoutThreshold != def.LockoutThreshold+n || st.InactiveUserExpiration != def.InactiveUserExpiration+n {
		t.Errorf("after %d concurrent increments of each: LockoutThreshold = %d, InactiveUserExpiration = %d; want %d, %d",
			n, st.LockoutThreshold, st.InactiveUserExpiration, def.LockoutThreshold+n, def.InactiveUserExpiration+n)
	}
}

// testUpdateSettingsError: fn's error changes nothing and comes back.
func testUpdateSettingsError(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	_, err := s.UpdateSettings(ctx, func(st *mfa.Settings) error {
		st.LockoutThreshold = 99
		return mfa.InvalidField("lockout_threshold", "no")
	})
	wantField(t, "UpdateSettings(fn failing)", err, mfa.Invalid, "lockout_threshold")
	st, err := s.GetSettings(ctx)
	check(t, "GetSettings()", err)
	if st.LockoutThreshold != mfa.DefaultSettings().LockoutThreshold {
		t.Errorf("LockoutThreshold after a failed UpdateSettings = %d, want the default", st.LockoutThreshold)
	}
	got, err := s.UpdateSettings(ctx, func(st *mfa.Settings) error { st.SMSRefresh = !st.SMSRefresh; return nil })
	check(t, "UpdateSettings()", err)
	if got.SMSRefresh == mfa.DefaultSettings().SMSRefresh {
		t.Errorf("UpdateSettings() = SMSRefresh %v, want the changed value", got.SMSRefresh)
	}
}
