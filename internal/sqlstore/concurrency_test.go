package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

func TestConcurrentGuards(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		tests := []struct {
			name     string
			n        int
			setup    func(t *testing.T, s mfa.Store) mfa.AuthWrite
			wantOK   int
			loseKind mfa.Kind
			check    func(t *testing.T, s mfa.Store, w mfa.AuthWrite, outs []mfa.AuthOutcome)
		}{
			{
				name: "hotp counter", n: 50, wantOK: 1, loseKind: mfa.Conflict,
				setup: func(t *testing.T, s mfa.Store) mfa.AuthWrite {
					u := newUser(t, s, "DUHOTP000000000000001", "hotp")
					must(t, "CreatePhone", s.CreatePhone(t.Context(), mfa.Phone{ID: "DPHOTP00000000000001", Type: mfa.PhoneMobile, Created: epoch}))
					must(t, "ActivateAuthenticator", s.ActivateAuthenticator(t.Context(), mfa.Authenticator{
						ID: "DAHOTP00000000000001", PhoneID: "DPHOTP00000000000001", HOTPSecret: mfa.Secret("12345678901234567890"),
						HOTPCounter: 5, Created: epoch}))
					return mfa.AuthWrite{UserID: u.ID, Success: true, At: epoch,
						Guard: mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: "DAHOTP00000000000001", Counter: 7},
						Log:   &mfa.AuthLogEntry{TxID: "hotp", UserID: u.ID, Result: mfa.ResultSuccess}}
				},
				check: func(t *testing.T, s mfa.Store, w mfa.AuthWrite, _ []mfa.AuthOutcome) {
					a, err := s.GetAuthenticator(t.Context(), w.Guard.ID)
					must(t, "GetAuthenticator", err)
					if a.HOTPCounter != 8 {
						t.Errorf("GetAuthenticator().HOTPCounter = %d, want 8", a.HOTPCounter)
					}
					wantLog(t, s, 1)
				},
			},
			{
				name: "bypass code with 3 uses", n: 50, wantOK: 3, loseKind: mfa.NotFound,
				setup: func(t *testing.T, s mfa.Store) mfa.AuthWrite {
					u := newUser(t, s, "DUBYPASS0000000000001", "bypass")
					must(t, "CreateBypassCodes", s.CreateBypassCodes(t.Context(), mfa.NewBypassCodes{UserID: u.ID, MaxActive: 100,
						Codes: []mfa.BypassCode{{ID: "DBBYPASS000000000001", Code: "123456789", UsesLeft: 3, Created: epoch}}}, epoch))
					return mfa.AuthWrite{UserID: u.ID, Success: true, At: epoch,
						Guard: mfa.Guard{Kind: mfa.GuardBypassCode, Code: "123456789", Now: epoch},
						Log:   &mfa.AuthLogEntry{TxID: "bypass", UserID: u.ID, Result: mfa.ResultSuccess}}
				},
				check: func(t *testing.T, s mfa.Store, w mfa.AuthWrite, outs []mfa.AuthOutcome) {
					left := map[int]int{}
					for _, o := range outs {
						left[o.BypassUsesLeft]++
					}
					if want := map[int]int{0: 1, 1: 1, 2: 1}; fmt.Sprint(left) != fmt.Sprint(want) {
						t.Errorf("BypassUsesLeft of the winners = %v, want %v", left, want)
					}
					if _, err := s.GetBypassCode(t.Context(), "DBBYPASS000000000001"); mfa.KindOf(err) != mfa.NotFound {
						t.Errorf("GetBypassCode(spent) = %v, want not found (deleted)", err)
					}
					wantLog(t, s, 3)
				},
			},
			{
				name: "failures past the threshold", n: 100, wantOK: 100,
				setup: func(t *testing.T, s mfa.Store) mfa.AuthWrite {
					u := newUser(t, s, "DULOCK00000000000001", "lock")
					return mfa.AuthWrite{UserID: u.ID, CountFailure: true, Threshold: 10, At: epoch,
						Log: &mfa.AuthLogEntry{TxID: "fail", UserID: u.ID, Result: mfa.ResultFailure}}
				},
				check: func(t *testing.T, s mfa.Store, w mfa.AuthWrite, outs []mfa.AuthOutcome) {
					locked := 0
					seen := map[int]bool{}
					for _, o := range outs {
						if o.Failure.LockedOut {
							locked++
							if o.Failure.FailedAttempts != 10 {
								t.Errorf("the locking failure reports FailedAttempts %d, want 10", o.Failure.FailedAttempts)
							}
						}
						seen[o.Failure.FailedAttempts] = true
					}
					if locked != 1 {
						t.Errorf("%d failures reported LockedOut, want exactly 1", locked)
					}
					if len(seen) != 100 {
						t.Errorf("failures reported %d distinct counts, want 100 (1..100)", len(seen))
					}
					u, err := s.GetUser(t.Context(), w.UserID)
					must(t, "GetUser", err)
					if u.FailedAttempts != 100 || u.Status != mfa.StatusLockedOut || !u.LockedAt.Equal(epoch) {
						t.Errorf("GetUser() = FailedAttempts %d, Status %q, LockedAt %v; want 100, %q, %v",
							u.FailedAttempts, u.Status, u.LockedAt, mfa.StatusLockedOut, epoch)
					}
					wantLog(t, s, 100)
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := b.open(t, b.dsn(t), sqlstore.Options{})
				w := tt.setup(t, s)
				outs := make([]mfa.AuthOutcome, tt.n)
				errs := race(t, tt.n, func(ctx context.Context, i int) error {
					var err error
					outs[i], err = s.ApplyAuth(ctx, w)
					return err
				})
				ok, lost, other := count(errs, tt.loseKind)
				if ok != tt.wantOK || lost != tt.n-tt.wantOK {
					t.Errorf("%d concurrent ApplyAuth = %d nil, %d %v, other %v; want %d nil, %d %v",
						tt.n, ok, lost, tt.loseKind, other, tt.wantOK, tt.n-tt.wantOK, tt.loseKind)
				}
				var won []mfa.AuthOutcome
				for i, err := range errs {
					if err == nil {
						won = append(won, outs[i])
					}
				}
				tt.check(t, s, w, won)
			})
		}
	})
}

func wantLog(t *testing.T, s mfa.Store, n int) {
	t.Helper()
	_, total, err := s.ListAuthLog(t.Context(), mfa.AuthLogFilter{})
	must(t, "ListAuthLog", err)
	if total != n {
		t.Errorf("ListAuthLog() total = %d, want %d", total, n)
	}
}

// TestApplyAuthUnitIsolation sends units that fail after their guard
// already moved (the user does not exist) among units that succeed: each
// failed unit must leave no trace, each other unit all of its effects. With
// group commit the units share transactions, so this tests the savepoints.
func TestApplyAuthUnitIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.open(t, b.dsn(t), sqlstore.Options{})
		ctx := t.Context()
		const n = 40
		u := newUser(t, s, "DUISOLATION000000001", "isolation")
		for i := range n {
			phone := fmt.Sprintf("DPISO%015d", i)
			must(t, "CreatePhone", s.CreatePhone(ctx, mfa.Phone{ID: phone, Type: mfa.PhoneMobile, Created: epoch}))
			must(t, "ActivateAuthenticator", s.ActivateAuthenticator(ctx, mfa.Authenticator{
				ID: fmt.Sprintf("DAISO%015d", i), PhoneID: phone, HOTPSecret: mfa.Secret("seed"), Created: epoch}))
		}
		errs := race(t, n, func(ctx context.Context, i int) error {
			user := u.ID
			if i%2 == 1 {
				user = "DUNOSUCHUSER00000000" // fails after the guard moved
			}
			_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: user, CountFailure: true, Threshold: 1000, At: epoch,
				Guard: mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: fmt.Sprintf("DAISO%015d", i), Counter: 3},
				Log:   &mfa.AuthLogEntry{TxID: fmt.Sprintf("tx%02d", i), UserID: user}})
			return err
		})
		for i, err := range errs {
			wantKind := mfa.Kind(-1)
			if i%2 == 1 {
				wantKind = mfa.NotFound
			}
			if (err == nil) != (wantKind == -1) || (err != nil && mfa.KindOf(err) != wantKind) {
				t.Errorf("ApplyAuth(unit %d) = %v, want kind %v", i, err, wantKind)
			}
			a, err := s.GetAuthenticator(ctx, fmt.Sprintf("DAISO%015d", i))
			must(t, "GetAuthenticator", err)
			want := uint64(4)
			if i%2 == 1 {
				want = 0
			}
			if a.HOTPCounter != want {
				t.Errorf("unit %d: HOTPCounter = %d, want %d", i, a.HOTPCounter, want)
			}
		}
		logs, _, err := s.ListAuthLog(ctx, mfa.AuthLogFilter{})
		must(t, "ListAuthLog", err)
		if len(logs) != n/2 {
			t.Errorf("ListAuthLog() = %d records, want %d", len(logs), n/2)
		}
		for _, e := range logs {
			if e.UserID != u.ID {
				t.Errorf("ListAuthLog() holds %+v of a failed unit", e)
			}
		}
		got, err := s.GetUser(ctx, u.ID)
		must(t, "GetUser", err)
		if got.FailedAttempts != n/2 {
			t.Errorf("GetUser().FailedAttempts = %d, want %d", got.FailedAttempts, n/2)
		}
	})
}

// TestSQLiteNeverLocked runs 50 goroutines of mixed reads and writes with a
// busy timeout of 1ms: any lock contention would surface as "database is
// locked" at once instead of being waited out.
func TestSQLiteNeverLocked(t *testing.T) {
	for _, gc := range []bool{false, true} {
		t.Run(fmt.Sprintf("groupcommit=%v", gc), func(t *testing.T) {
			path := t.TempDir() + "/locked.db"
			s := backend{}.open(t, path, sqlstore.Options{BusyTimeout: time.Millisecond, MaxOpenConns: 8, GroupCommit: gc})
			ctx := t.Context()
			const workers, rounds = 50, 20
			var ops atomic.Int64
			errs := race(t, workers, func(ctx context.Context, w int) error {
				uid := fmt.Sprintf("DUW%017d", w)
				if err := s.CreateUser(ctx, mfa.User{ID: uid, Username: uid, Status: mfa.StatusActive, Created: epoch}); err != nil {
					return fmt.Errorf("CreateUser: %w", err)
				}
				for r := range rounds {
					var err error
					switch r % 5 {
					case 0:
						_, err = s.ApplyAuth(ctx, mfa.AuthWrite{UserID: uid, CountFailure: true, Threshold: 1000, At: epoch,
							Log: &mfa.AuthLogEntry{TxID: fmt.Sprintf("%s-%d", uid, r), UserID: uid}})
					case 1:
						_, _, err = s.ListUsers(ctx, mfa.UserFilter{Page: mfa.Page{Limit: 10}})
					case 2:
						err = s.UpdateUser(ctx, mfa.User{ID: uid, Username: uid, Status: mfa.StatusActive,
							Aliases: []string{fmt.Sprintf("alias-%d-%d", w, r)}})
					case 3:
						_, err = s.GetUserByName(ctx, uid)
					case 4:
						_, _, err = s.ListAuthLog(ctx, mfa.AuthLogFilter{UserIDs: []string{uid}, Descending: true, Limit: 5})
					}
					if err != nil {
						return fmt.Errorf("round %d: %w", r, err)
					}
					ops.Add(1)
				}
				return nil
			})
			for w, err := range errs {
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
				}
			}
			if got := ops.Load(); got != workers*rounds {
				t.Errorf("completed %d operations, want %d", got, workers*rounds)
			}
			_, total, err := s.ListAuthLog(ctx, mfa.AuthLogFilter{})
			must(t, "ListAuthLog", err)
			if total != workers*rounds/5 {
				t.Errorf("ListAuthLog() total = %d, want %d", total, workers*rounds/5)
			}
		})
	}
}
