package authflow_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// wantCapped checks err is RateLimited with msg, lifting at the next UTC
// midnight after the request made at (within a second of) now.
func wantCapped(t *testing.T, call string, err error, msg string, now time.Time) {
	t.Helper()
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.RateLimited || me.Msg != msg {
		t.Fatalf("%s = %v, want RateLimited %q", call, err, msg)
	}
	midnight := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if d := midnight.Sub(now) - me.RetryAfter; d < -time.Second || d > time.Second {
		t.Errorf("%s: retry after %s, want until midnight (%s)", call, me.RetryAfter, midnight.Sub(now))
	}
}

// TestTelephonyCaps: the per-user daily cap counts SMS batches and calls
// together, refuses the next one with a clear RateLimited error (no SMS
// sent, no call placed, no transaction), leaves other users alone, and
// lifts at UTC midnight; the account-wide cap refuses every user.
func TestTelephonyCaps(t *testing.T) {
	n := &mfatest.Notifier{}
	e := newEnv(t, authflow.WithNotifier(n), authflow.WithSMSLimit(authflow.Limit{}), authflow.WithRecheck(5*time.Millisecond))
	alice := e.user("alice", mfa.StatusActive)
	e.phone(alice, "+15555550100", mfa.PhoneMobile)
	bob := e.user("bob", mfa.StatusActive)
	e.phone(bob, "+15555550101", mfa.PhoneMobile)
	e.settings(func(s *mfa.Settings) { s.TelephonyDailyUserLimit, s.TelephonyDailyLimit = 3, 0 })

	for i := range 2 {
		if _, err := e.authSMS("alice", "auto"); err != nil {
			t.Fatalf("SMS %d = %v", i+1, err)
		}
	}
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"},
		Factor: mfa.FactorPhone, Device: "auto", Async: true})
	if err != nil || res.TxID == "" {
		t.Fatalf("call (3rd send) = %+v, %v", res, err)
	}
	sent := len(n.Messages())
	_, err = e.authSMS("alice", "auto")
	wantCapped(t, "SMS over the cap", err, mfa.MsgUserTelephonyCap, e.Clock.Now())
	_, err = e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"},
		Factor: mfa.FactorPhone, Device: "auto", Async: true})
	wantCapped(t, "call over the cap", err, mfa.MsgUserTelephonyCap, e.Clock.Now())
	if got := len(n.Messages()); got != sent {
		t.Errorf("refused sends reached the carrier: %d messages, want %d", got, sent)
	}
	if _, err := e.authSMS("bob", "auto"); err != nil {
		t.Errorf("bob's SMS = %v, want sent (caps are per user)", err)
	}
	if tl, err := e.Store.ListTelephonyLog(e.ctx, mfa.LogFilter{}); err != nil || len(tl) != 4 {
		t.Errorf("telephony log = %d records, %v; want 4 (refused sends are not logged as sent)", len(tl), err)
	}

	// The next UTC day: allowed again.
	now := e.Clock.Now()
	e.Clock.Advance(now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now))
	if _, err := e.authSMS("alice", "auto"); err != nil {
		t.Errorf("SMS the next day = %v, want sent", err)
	}

	// The account-wide cap.
	e.settings(func(s *mfa.Settings) { s.TelephonyDailyUserLimit, s.TelephonyDailyLimit = 0, 2 })
	// (Sends while a cap is off count nothing against it.)
	for range 2 {
		if _, err := e.authSMS("bob", "auto"); err != nil {
			t.Fatalf("bob's SMS = %v", err)
		}
	}
	_, err = e.authSMS("bob", "auto")
	wantCapped(t, "SMS over the account cap", err, mfa.MsgAccountTelephonyCap, e.Clock.Now())
	_, err = e.authSMS("alice", "auto")
	wantCapped(t, "alice's SMS over the account cap", err, mfa.MsgAccountTelephonyCap, e.Clock.Now())
}

func TestTelephonyCapConcurrent(t *testing.T) {
	testTelephonyCapConcurrent(t, newEnv(t, authflow.WithNotifier(&mfatest.Notifier{}), authflow.WithSMSLimit(authflow.Limit{})))
}

func TestTelephonyCapConcurrentPostgres(t *testing.T) {
	testTelephonyCapConcurrent(t, newEnvDSN(t, sqltest.PostgresDSN(t), authflow.WithNotifier(&mfatest.Notifier{}),
		authflow.WithSMSLimit(authflow.Limit{})))
}

// testTelephonyCapConcurrent: N parallel SMS requests for one user (and,
// for the account cap, for several users) send exactly the cap, whatever
// the interleaving: the counters are single atomic writes in the store.
func testTelephonyCapConcurrent(t *testing.T, e *env) {
	const parallel, userCap, accountCap = 16, 5, 9
	var users []string
	for _, name := range []string{"alice", "bob", "carol"} {
		u := e.user(name, mfa.StatusActive)
		e.phone(u, "+1555555010"+name[:1], mfa.PhoneMobile)
		users = append(users, name)
	}
	e.settings(func(s *mfa.Settings) { s.TelephonyDailyUserLimit, s.TelephonyDailyLimit = userCap, accountCap })
	run := func(names []string) (sent, capped int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range parallel {
			wg.Go(func() {
				_, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: names[i%len(names)]},
					Factor: mfa.FactorSMS, Device: "auto"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					sent++
				case errors.Is(err, mfa.ErrRateLimited):
					capped++
				default:
					t.Errorf("Auth(sms) = %v", err)
				}
			})
		}
		wg.Wait()
		return sent, capped
	}
	if sent, capped := run(users[:1]); sent != userCap || capped != parallel-userCap {
		t.Errorf("%d parallel SMS for one user: %d sent, %d capped; want %d and %d", parallel, sent, capped, userCap, parallel-userCap)
	}
	// The account has accountCap-userCap sends left; bob and carol ask
	// for 16 more between them.
	if sent, capped := run(users[1:]); sent != accountCap-userCap || capped != parallel-(accountCap-userCap) {
		t.Errorf("%d parallel SMS for two users: %d sent, %d capped; want %d (the account's rest)", parallel, sent, capped, accountCap-userCap)
	}
	if tl, err := e.Store.ListTelephonyLog(e.ctx, mfa.LogFilter{}); err != nil || len(tl) != accountCap {
		t.Errorf("telephony log = %d records, %v; want %d", len(tl), err, accountCap)
	}
}
