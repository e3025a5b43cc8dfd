package authflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestRoundTripsPostgres counts, through the driver, what one login costs
// the database on PostgreSQL with the durable limits on (as twostepd
// serve runs there) and the request's signature claim carried by the
// decision (as POST /auth/v2/auth hands it over): a passcode login is at
// most 2 round trips and 1 commit (the account read as one batch, then the
// decision with its log record, claim and both counters as one statement),
// and a preauth 1 round trip. Nodes then scale out until the database is
// the limit. Each case runs once to warm the connection's statement cache
// and is then counted.
func TestRoundTripsPostgres(t *testing.T) {
	rt := &sqltest.RoundTrips{}
	st := sqltest.Open(t, sqltest.PostgresDSN(t), sqlstore.Options{Tracer: rt, MaxOpenConns: 1})
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := newEnvStore(t, st, authflow.WithDurableLimits(authflow.DefaultDurableUserLimit, authflow.DefaultDurableIPLimit))
	alice := e.user("alice", mfa.StatusActive)
	e.token(alice, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
	bob := e.user("bob", mfa.StatusActive)
	e.app(bob, 0, false)
	e.phone(bob, "+15555550101", mfa.PhoneLandline)

	claims := 0
	auth := func(user, code string) (authflow.AuthResult, *mfa.PendingClaim, error) {
		claims++
		now := e.Clock.Now()
		c := &mfa.PendingClaim{SignatureClaim: mfa.SignatureClaim{
			Key: mfa.SignatureKey(e.In.IKey, 2, strings.Repeat("a", claims)), Now: now, Expires: now.Add(time.Minute)}}
		res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
			Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(code), IP: "192.0.2.1", Claim: c})
		return res, c, err
	}
	count := func(name string, maxTrips, wantCommits int, f func() error) {
		t.Helper()
		rt.Reset()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		trips, commits, stmts := rt.Counts()
		if trips > maxTrips || commits != wantCommits {
			t.Errorf("%s: %d round trips and %d commits, want at most %d and %d; sent:\n%s",
				name, trips, commits, maxTrips, wantCommits, strings.Join(stmts, "\n"))
		}
		t.Logf("%s: %d round trips, %d commits", name, trips, commits)
	}
	login := func(user, code, want string) func() error {
		return func() error {
			res, c, err := auth(user, code)
			if err == nil && (res.Result != want || !c.Claimed) {
				t.Errorf("Auth(%s, %s) = %+v, claimed %v; want %s and claimed", user, code, res, c.Claimed, want)
			}
			return err
		}
	}
	preauth := func(user string) func() error {
		return func() error {
			res, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: user}})
			if err == nil && res.Result != authflow.ResultAuth {
				t.Errorf("Preauth(%s) = %+v, want auth", user, res)
			}
			return err
		}
	}

	for i, pass := range []string{"warm", "count"} {
		trips := 100
		if pass == "count" {
			trips = 2
		}
		c := uint64(2 * i)
		count(pass+": token passcode allowed", trips, 1, login("alice", otp.HOTP(seed, c, 6), authflow.ResultAllow))
		count(pass+": wrong passcode denied", trips, 1, login("alice", "000000", authflow.ResultDeny))
		count(pass+": app passcode allowed", trips, 1, login("bob", otp.HOTP(seed, c, 6), authflow.ResultAllow))
		count(pass+": app passcode with the next", trips, 1, login("bob", otp.HOTP(seed, c+1, 6), authflow.ResultAllow))
		if pass == "count" {
			trips = 1
		}
		count(pass+": preauth", trips, 0, preauth("alice"))
		count(pass+": preauth of a user with phones", trips, 0, preauth("bob"))
	}

	// The same request again is refused on its claim and decides nothing.
	now := e.Clock.Now()
	c := &mfa.PendingClaim{SignatureClaim: mfa.SignatureClaim{Key: mfa.SignatureKey(e.In.IKey, 2, "a"), Now: now, Expires: now.Add(time.Minute)}}
	_, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"},
		Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(otp.HOTP(seed, 4, 6)), IP: "192.0.2.1", Claim: c})
	if !mfa.IsSignatureConflict(err) {
		t.Errorf("Auth(replayed claim) = %v, want a Conflict on the signature", err)
	}
	if res := e.auth("alice", otp.HOTP(seed, 4, 6)); res.Result != authflow.ResultAllow {
		t.Errorf("Auth(the code the replay carried) = %+v, want allow: the replay spent nothing", res)
	}
}
