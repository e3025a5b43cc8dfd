package mfatest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// storeTest is one leaf of the suite. run gets a fresh store of its own.
type storeTest struct {
	name string
	run  func(t *testing.T, s mfa.Store)
}

// RunStoreTests runs the conformance suite. newStore must return a fresh,
// empty, migrated store for each call; every leaf subtest calls it once,
// with its own t (on which newStore may register cleanups). The subtests
// do not run in parallel, so newStore is never called concurrently, but
// the concurrency subtests call one store from up to 100 goroutines at
// once and accept no transient error (busy, serialization failure): the
// contract leaves retrying to the store. The Events subtests wait at most
// 5 s for an event that must come, and watch 200 ms for one that must not
// (always after a positive control has shown events flowing).
//
// The subtests are named area/method ("Users/Create", "ApplyAuth/HOTPConcurrent"),
// so that a backend can run one with -run.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) mfa.Store) {
	t.Helper()
	areas := []struct {
		name  string
		tests []storeTest
	}{
		{"Users", userTests()},
		{"Groups", groupTests()},
		{"Phones", phoneTests()},
		{"Authenticators", authenticatorTests()},
		{"Tokens", tokenTests()},
		{"BypassCodes", bypassTests()},
		{"SMS", smsTests()},
		{"ApplyAuth", append(applyAuthTests(), claimWriteTests()...)},
		{"LoginAccount", loginAccountTests()},
		{"Transactions", transactionTests()},
		{"AuthLog", authLogTests()},
		{"Integrations", integrationTests()},
		{"Admins", adminTests()},
		{"AdminActivations", adminActivationTests()},
		{"Settings", settingsTests()},
		{"Atomic", atomicTests()},
		{"Logs", logTests()},
		{"Activations", activationTests()},
		{"ActivationDevice", activationDeviceTests()},
		{"TrustedDevices", trustedDeviceTests()},
		{"PushMute", pushMuteTests()},
		{"RevokedAuthenticators", revokedAuthenticatorTests()},
		{"RateLimits", rateLimitTests()},
		{"Signatures", signatureTests()},
		{"Sessions", sessionTests()},
		{"LoginRequests", loginRequestTests()},
		{"Passwords", passwordTests()},
		{"Identity", identityTests()},
		{"SigningKeys", signingKeyTests()},
		{"WebAuthn", webauthnTests()},
		{"Events", eventTests()},
		{"IDs", idTests()},
	}
	for _, area := range areas {
		t.Run(area.name, func(t *testing.T) {
			for _, tt := range area.tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.run(t, newStore(t))
				})
			}
		})
	}
	t.Run("Ping", func(t *testing.T) {
		s := newStore(t)
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping() = %v, want nil", err)
		}
	})
}

// zone is a location that is neither UTC nor a whole number of hours away
// from it: a time that comes back as the same instant in it proves that the
// backend keeps instants, not wall clocks.
var zone = time.FixedZone("X", -5*3600+1800)

// epoch is the suite's "now". The nanoseconds are cut by at.
var epoch = time.Date(2025, time.June, 15, 9, 30, 0, 123456789, zone)

// at returns epoch+d truncated to the microsecond precision the contract
// promises.
func at(d time.Duration) time.Time { return epoch.Add(d).Truncate(time.Microsecond) }

// cmpOpts compare times as instants and treat nil and empty slices alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

// sortByID sorts lists whose order the contract leaves open.
func sortByID[T any](id func(T) string) cmp.Option {
	return cmpopts.SortSlices(func(a, b T) bool { return id(a) < id(b) })
}

var (
	sortUsers          = sortByID(func(u mfa.User) string { return u.ID })
	sortPhones         = sortByID(func(p mfa.Phone) string { return p.ID })
	sortTokens         = sortByID(func(tk mfa.Token) string { return tk.ID })
	sortAuthenticators = sortByID(func(a mfa.Authenticator) string { return a.ID })
	sortTransactions   = sortByID(func(tx mfa.Transaction) string { return tx.ID })
)

var sentinels = map[mfa.Kind]error{
	mfa.Internal:     mfa.ErrInternal,
	mfa.NotFound:     mfa.ErrNotFound,
	mfa.Conflict:     mfa.ErrConflict,
	mfa.Invalid:      mfa.ErrInvalid,
	mfa.Denied:       mfa.ErrDenied,
	mfa.Unauthorized: mfa.ErrUnauthorized,
	mfa.RateLimited:  mfa.ErrRateLimited,
	mfa.Unavailable:  mfa.ErrUnavailable,
}

// isKind reports whether err is an *mfa.Error of kind k, by both errors.Is
// and mfa.KindOf.
func isKind(err error, k mfa.Kind) bool {
	return err != nil && errors.Is(err, sentinels[k]) && mfa.KindOf(err) == k
}

// wantKind fails t unless err is of kind k. call names the call for the
// message: `GetUser(DU...) = got, want not found`.
func wantKind(t *testing.T, call string, err error, k mfa.Kind) {
	t.Helper()
	if !isKind(err, k) {
		t.Errorf("%s = %v (kind %v), want a %v error", call, err, errKind(err), k)
	}
}

// wantField fails t unless err is of kind k and its *mfa.Error names field.
func wantField(t *testing.T, call string, err error, k mfa.Kind, field string) {
	t.Helper()
	if !isKind(err, k) {
		t.Errorf("%s = %v (kind %v), want a %v error", call, err, errKind(err), k)
		return
	}
	var e *mfa.Error
	if errors.As(err, &e) && e.Field != field {
		t.Errorf("%s = %v with Field %q, want Field %q", call, err, e.Field, field)
	}
}

// errKind is a printable kind: "none" for a nil error.
func errKind(err error) string {
	if err == nil {
		return "none"
	}
	return mfa.KindOf(err).String()
}

// check fails t at once if err is not nil; call names the call.
func check(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v, want nil", call, err)
	}
}

// Race runs f n times, started together behind a barrier, each with its own
// context (bounded to a minute), and returns the errors in call order. The
// suite's concurrency subtests use it, and so do services' race tests.
func Race(t *testing.T, n int, f func(ctx context.Context, i int) error) []error {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	for i := range n {
		done.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			ready.Done()
			<-start
			errs[i] = f(ctx, i)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// wantAllOK fails t unless every one of errs is nil.
func wantAllOK(t *testing.T, call string, errs []error) {
	t.Helper()
	wantRace(t, call, errs, len(errs), mfa.Internal)
}

// wantRace fails t unless exactly wantOK of errs are nil and every other is
// of kind lose. A transient error (busy, serialization failure, deadlock) is
// a failure: the contract leaves the retrying to the store.
func wantRace(t *testing.T, call string, errs []error, wantOK int, lose mfa.Kind) {
	t.Helper()
	ok, lost := 0, 0
	var other []string
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case isKind(err, lose):
			lost++
		default:
			if len(other) < 5 {
				other = append(other, fmt.Sprintf("#%d: %v (kind %v)", i, err, errKind(err)))
			}
		}
	}
	if ok != wantOK || lost != len(errs)-wantOK {
		t.Errorf("%d concurrent %s: %d nil, %d %v, %d other errors; want %d nil, %d %v; other: %q",
			len(errs), call, ok, lost, lose, len(errs)-ok-lost, wantOK, len(errs)-wantOK, lose, other)
	}
}
