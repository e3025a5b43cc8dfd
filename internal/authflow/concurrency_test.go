package authflow_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func backends(t *testing.T, run func(t *testing.T, dsn func(t *testing.T) string)) {
	t.Run("sqlite", func(t *testing.T) {
		run(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "twostep.db") })
	})
	t.Run("postgres", func(t *testing.T) {
		run(t, func(t *testing.T) string { return sqltest.PostgresDSN(t) })
	})
}

// concurrently runs n identical passcode attempts at once.
func concurrently(e *env, n int, user, code string) []authflow.AuthResult {
	e.t.Helper()
	res := make([]authflow.AuthResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			res[i], errs[i] = e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
				Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(code), IP: "192.0.2.1"})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			e.t.Fatalf("attempt %d: %v", i, err)
		}
	}
	return res
}

func TestConcurrentSameHOTPCode(t *testing.T) {
	backends(t, func(t *testing.T, dsn func(t *testing.T) string) {
		e := newEnvDSN(t, dsn(t))
		u := e.user("alice", mfa.StatusActive)
		e.app(u, 0, false)
		res := concurrently(e, 50, "alice", otp.HOTP(seed, 2, 6))
		allows := 0
		for _, r := range res {
			switch {
			case r.Result == authflow.ResultAllow:
				allows++
			case r.StatusMsg != authflow.MsgUsed:
				t.Errorf("losing attempt = %+v, want %q", r, authflow.MsgUsed)
			}
		}
		if allows != 1 {
			t.Errorf("%d of 50 identical codes allowed, want exactly 1", allows)
		}
		if n := len(e.logs(u.ID)); n != 50 {
			t.Errorf("auth log holds %d records, want 50", n)
		}
		if got := e.getUser(u.ID); got.FailedAttempts != 0 || got.Status != mfa.StatusActive {
			t.Errorf("user = %s with %d failures, want active with 0", got.Status, got.FailedAttempts)
		}
	})
}

func TestConcurrentWrongCodesLockOut(t *testing.T) {
	backends(t, func(t *testing.T, dsn func(t *testing.T) string) {
		e := newEnvDSN(t, dsn(t))
		u := e.user("alice", mfa.StatusActive)
		e.app(u, 0, false)
		e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 10 })
		res := concurrently(e, 100, "alice", "999999")
		for _, r := range res {
			if r.Result != authflow.ResultDeny {
				t.Fatalf("wrong code = %+v, want deny", r)
			}
		}
		got := e.getUser(u.ID)
		if got.Status != mfa.StatusLockedOut || got.FailedAttempts != 100 {
			t.Errorf("user = %s with %d failures, want locked out with 100", got.Status, got.FailedAttempts)
		}
		logs := e.logs(u.ID)
		if len(logs) != 100 {
			t.Errorf("auth log holds %d records, want 100", len(logs))
		}
		// Locked out: the right code no longer works.
		if r := e.auth("alice", otp.HOTP(seed, 0, 6)); r.Status != authflow.StatusLockedOut {
			t.Errorf("right code after lockout = %+v, want locked_out", r)
		}
	})
}
