package authflow_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// node is a second authflow.Service on the env's store and clock: another
// twostepd process sharing the database. In-memory limits are off, so
// only the durable ones can refuse.
func (e *env) node(opts ...authflow.Option) *authflow.Service {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return authflow.New(e.Store, e.Clock.Now, rand.Reader, log,
		append([]authflow.Option{authflow.WithLimits(authflow.Limit{}, authflow.Limit{})}, opts...)...)
}

// try makes one passcode attempt through svc.
func (e *env) try(svc *authflow.Service, user, ip, code string) (authflow.AuthResult, error) {
	return svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
		Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(code), IP: ip})
}

// retryAfter returns the RetryAfter of a RateLimited error, failing t if
// err is not one.
func retryAfter(t *testing.T, call string, err error) time.Duration {
	t.Helper()
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.RateLimited {
		t.Fatalf("%s = %v, want RateLimited", call, err)
	}
	return me.RetryAfter
}

func TestDurableUserLimitAcrossNodes(t *testing.T) {
	limits := authflow.WithDurableLimits(authflow.DurableLimit{Limit: 5, Window: time.Minute}, authflow.DurableLimit{})
	e := newEnv(t, limits)
	nodes := []*authflow.Service{e.Svc, e.node(limits)}
	alice := e.user("alice", mfa.StatusActive)
	e.app(alice, 0, false)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 0 })
	start := e.Clock.Now()

	// Three attempts on each node, all at once: the count is shared.
	var (
		mu      sync.Mutex
		decided int
		limited []error
		wg      sync.WaitGroup
	)
	for i := range 6 {
		wg.Go(func() {
			res, err := e.try(nodes[i%2], "alice", fmt.Sprintf("192.0.2.%d", i), "000000")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && res.Result == authflow.ResultDeny:
				decided++
			case err != nil:
				limited = append(limited, err)
			default:
				t.Errorf("attempt %d = %+v, want deny", i, res)
			}
		})
	}
	wg.Wait()
	if decided != 5 || len(limited) != 1 {
		t.Fatalf("6 attempts on two nodes with a shared limit of 5 a minute: %d decided, refused %v; want 5 decided and 1 RateLimited",
			decided, limited)
	}
	if got := retryAfter(t, "6th attempt", limited[0]); got != time.Minute {
		t.Errorf("6th attempt at the window's start: RetryAfter = %v, want 1m", got)
	}
	if n := len(e.logs(alice.ID)); n != 5 {
		t.Errorf("auth log holds %d records, want 5 (a refused attempt decides nothing)", n)
	}

	// Later in the window, either node refuses and says how long is left.
	e.Clock.Advance(40 * time.Second)
	for i, svc := range nodes {
		_, err := e.try(svc, "alice", "192.0.2.1", "000000")
		if got := retryAfter(t, fmt.Sprintf("node %d at +40s", i), err); got != 20*time.Second {
			t.Errorf("node %d at +40s: RetryAfter = %v, want 20s", i, got)
		}
	}

	// The window ends a minute after its first attempt; then both nodes
	// decide again, and the right code works.
	e.Clock.Advance(start.Add(time.Minute).Sub(e.Clock.Now()))
	for i, svc := range nodes {
		if res, err := e.try(svc, "alice", "192.0.2.1", "000000"); err != nil || res.Result != authflow.ResultDeny {
			t.Errorf("node %d after the window = %+v, %v; want deny incorrect", i, res, err)
		}
	}
	if res, err := e.try(nodes[1], "alice", "192.0.2.1", otp.HOTP(seed, 0, 6)); err != nil || res.Result != authflow.ResultAllow {
		t.Errorf("right code after the window = %+v, %v; want allow", res, err)
	}
}

func TestDurableIPLimitAcrossNodes(t *testing.T) {
	limits := authflow.WithDurableLimits(authflow.DurableLimit{}, authflow.DurableLimit{Limit: 4, Window: time.Minute})
	e := newEnv(t, limits)
	nodes := []*authflow.Service{e.Svc, e.node(limits)}
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 0 })
	users := []string{"alice", "bob", "carol"}
	for _, name := range users {
		e.app(e.user(name, mfa.StatusActive), 0, false)
	}
	const ip = "198.51.100.7"

	// Asking for another factor is not a passcode attempt and counts
	// nothing: factor auto, and "push" or "sms" typed as the passcode.
	for i, svc := range nodes {
		if _, err := svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "nobody"},
			Factor: mfa.FactorAuto, Device: "auto", IP: ip}); err != nil {
			t.Fatalf("factor auto on node %d = %v", i, err)
		}
		if _, err := e.try(svc, "nobody", ip, "push"); err != nil {
			t.Fatalf("keyword push on node %d = %v", i, err)
		}
	}

	// Four passcode attempts for different users (one unknown: the
	// address is counted before the user is looked up) through both nodes.
	for i, user := range []string{"alice", "bob", "mallory", "carol"} {
		if _, err := e.try(nodes[i%2], user, ip, "000000"); err != nil {
			t.Fatalf("attempt %d (%s on node %d) = %v, want decided", i+1, user, i%2, err)
		}
	}
	for i, svc := range nodes {
		_, err := e.try(svc, users[i], ip, "000000")
		if got := retryAfter(t, fmt.Sprintf("5th attempt from %s on node %d", ip, i), err); got != time.Minute {
			t.Errorf("RetryAfter = %v, want 1m", got)
		}
	}
	// Other addresses, and attempts without one, are not limited by it.
	for i, other := range []string{"198.51.100.8", ""} {
		if _, err := e.try(nodes[i], "alice", other, "000000"); err != nil {
			t.Errorf("attempt from %q = %v, want decided", other, err)
		}
	}
	e.Clock.Advance(time.Minute)
	if _, err := e.try(nodes[1], "bob", ip, "000000"); err != nil {
		t.Errorf("attempt from %s after the window = %v, want decided", ip, err)
	}
}

func TestDurableIPLimitIPv6Prefix(t *testing.T) {
	limits := authflow.WithDurableLimits(authflow.DurableLimit{}, authflow.DurableLimit{Limit: 2, Window: time.Minute})
	e := newEnv(t, limits)
	e.app(e.user("alice", mfa.StatusActive), 0, false)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 0 })
	tests := []struct {
		ip      string
		limited bool
	}{
		{"2001:db8::1", false},
		{"2001:db8::2", false},
		{"2001:db8::ffff:1", true}, // the same /64: its third attempt
		{"2001:db8:0:1::1", false}, // another /64
		{"::ffff:192.0.2.9", false},
		{"192.0.2.9", false},
		{"192.0.2.9", true}, // IPv4-mapped and plain IPv4 are one address
		{"192.0.2.10", false},
	}
	for _, tt := range tests {
		_, err := e.try(e.Svc, "alice", tt.ip, "000000")
		if limited := errors.Is(err, mfa.ErrRateLimited); limited != tt.limited || (err != nil && !limited) {
			t.Errorf("attempt from %s = %v, want limited %v", tt.ip, err, tt.limited)
		}
	}
}

// TestDurableLimitRetryAfterHeader follows a refusal to the wire: the
// Auth API answers 429/42901 with the limit's own Retry-After.
func TestDurableLimitRetryAfterHeader(t *testing.T) {
	e := newEnv(t, authflow.WithDurableLimits(authflow.DurableLimit{Limit: 1, Window: 10 * time.Minute}, authflow.DurableLimit{}))
	e.app(e.user("alice", mfa.StatusActive), 0, false)
	e.try(e.Svc, "alice", "192.0.2.1", "000000")
	e.Clock.Advance(90 * time.Second)
	_, err := e.try(e.Svc, "alice", "192.0.2.1", "000000")
	if got := retryAfter(t, "2nd attempt", err); got != 510*time.Second {
		t.Fatalf("RetryAfter = %v, want 8m30s", got)
	}
	if de := api.ToDuo(err); de.Status != 429 || de.Code != 42901 || de.RetryAfter != 510*time.Second {
		t.Errorf("ToDuo() = %d/%d retry %v, want 429/42901 retry 8m30s", de.Status, de.Code, de.RetryAfter)
	}
	rec := httptest.NewRecorder()
	s := &api.Surface{Logger: slog.New(slog.DiscardHandler)}
	s.WriteError(rec, httptest.NewRequest("POST", "/auth/v2/auth", nil), err)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "510" {
		t.Errorf("WriteError() = %d with Retry-After %q, want 429 with 510", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// failingLimits is a store whose rate-limit counters are broken.
type failingLimits struct {
	mfa.Store
	hits int
}

func (f *failingLimits) HitRateLimit(context.Context, string, int, time.Duration, time.Time) (mfa.RateLimitResult, error) {
	f.hits++
	return mfa.RateLimitResult{}, mfa.Wrap(mfa.Unavailable, "database busy; try again", errors.New("rate_limits: disk I/O error"))
}

// ApplyAuth fails every write that counts hits, as a store whose
// rate_limits table is broken would; the others go through.
func (f *failingLimits) ApplyAuth(ctx context.Context, w mfa.AuthWrite) (mfa.AuthOutcome, error) {
	if len(w.Hits) > 0 {
		f.hits += len(w.Hits)
		return mfa.AuthOutcome{}, mfa.Wrap(mfa.Unavailable, "database busy; try again", errors.New("rate_limits: disk I/O error"))
	}
	return f.Store.ApplyAuth(ctx, w)
}

// TestDurableLimitStoreFailureAllows: a rate-limit bookkeeping failure is
// logged and the attempt decided as usual (fail open), never an error for
// every user.
func TestDurableLimitStoreFailureAllows(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	st := &failingLimits{Store: e.Store}
	svc := authflow.New(st, e.Clock.Now, rand.Reader, slog.New(slog.NewTextHandler(&logs, nil)),
		authflow.WithLimits(authflow.Limit{}, authflow.Limit{}),
		authflow.WithDurableLimits(authflow.DurableLimit{Limit: 1, Window: time.Minute}, authflow.DurableLimit{Limit: 1, Window: time.Minute}))
	e.app(e.user("alice", mfa.StatusActive), 0, false)
	for i, code := range []string{"000000", otp.HOTP(seed, 0, 6)} {
		res, err := e.try(svc, "alice", "192.0.2.1", code)
		if err != nil {
			t.Fatalf("attempt %d with the counters failing = %v, want decided", i+1, err)
		}
		if want := []string{authflow.ResultDeny, authflow.ResultAllow}[i]; res.Result != want {
			t.Errorf("attempt %d = %+v, want %s", i+1, res, want)
		}
	}
	if st.hits != 4 {
		t.Errorf("%d hits tried, want 4 (address and user, per attempt)", st.hits)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 2 || !strings.Contains(out, "durable rate limit not counted") ||
		!strings.Contains(out, "disk I/O error") || !strings.Contains(out, "remote_ip=192.0.2.1") {
		t.Errorf("log = %q, want 2 warnings (one a write) naming the cause and who", out)
	}
}

// TestDurableLimitsOffByDefault: New alone counts nothing in the store.
func TestDurableLimitsOffByDefault(t *testing.T) {
	e := newEnv(t)
	st := &failingLimits{Store: e.Store}
	svc := authflow.New(st, e.Clock.Now, rand.Reader, slog.New(slog.DiscardHandler))
	e.app(e.user("alice", mfa.StatusActive), 0, false)
	if _, err := e.try(svc, "alice", "192.0.2.1", "000000"); err != nil {
		t.Fatal(err)
	}
	if st.hits != 0 {
		t.Errorf("%d hits tried without WithDurableLimits, want 0", st.hits)
	}
}

func TestReapRateLimits(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	now := e.Clock.Now()
	for _, key := range []string{"user:DUGONE", "ip:192.0.2.1"} {
		if _, err := e.Store.HitRateLimit(ctx, key, 5, time.Minute, now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Store.HitRateLimit(ctx, "user:DUKEPT", 5, time.Minute, now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.ReapTransactions(ctx); err != nil {
		t.Fatalf("ReapTransactions() = %v", err)
	}
	if n, err := e.Store.DeleteExpiredRateLimits(ctx, now.Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("counters left after the reaper = %d, %v; want 1 (the live one)", n, err)
	}
}

// BenchmarkPasscodeAuth measures one passcode login (a valid bypass code
// of unlimited use, so every iteration is an allow with its store write)
// without and with the durable limits, which add two conditional upserts
// (address and user) per attempt: one login at a time (serial: latency)
// and from GOMAXPROCS goroutines over 64 users (parallel: throughput).
// SQLite runs with group commit, as twostepd serves it; PostgreSQL runs
// when TWOSTEP_TEST_POSTGRES is set. In-memory limits are off throughout,
// so the difference is the store's cost.
func BenchmarkPasscodeAuth(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		for _, mode := range []string{"serial", "parallel"} {
			for _, durable := range []bool{false, true} {
				name := db + "/" + mode + "/memory-only"
				if durable {
					name = db + "/" + mode + "/durable"
				}
				b.Run(name, func(b *testing.B) {
					dsn := sqltest.SQLitePath(b)
					if db == "postgres" {
						dsn = sqltest.PostgresDSN(b)
					}
					benchPasscodeAuth(b, dsn, durable, mode == "parallel")
				})
			}
		}
	}
}

// newBenchEnv is newEnv on dsn opened as twostepd opens it (group commit
// on SQLite).
func newBenchEnv(b *testing.B, dsn string, opts ...authflow.Option) *env {
	b.Helper()
	st := sqltest.Open(b, dsn, sqlstore.Options{GroupCommit: true})
	if _, err := st.Migrate(b.Context()); err != nil {
		b.Fatalf("Migrate() = %v", err)
	}
	return newEnvStore(b, st, opts...)
}

func benchPasscodeAuth(b *testing.B, dsn string, durable, parallel bool) {
	const users = 64
	var opts []authflow.Option
	if durable {
		huge := authflow.DurableLimit{Limit: 1 << 30, Window: time.Minute}
		opts = append(opts, authflow.WithDurableLimits(huge, huge))
	}
	e := newBenchEnv(b, dsn, opts...)
	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprintf("user%02d", i)
		u := e.user(names[i], mfa.StatusActive)
		e.app(u, 0, false)
		e.bypass(u, "123456789", 0)
	}
	login := func(i int) bool {
		res, err := e.Svc.Auth(context.Background(), authflow.AuthRequest{Integration: e.In,
			Who: authflow.Who{Username: names[i%users]}, Factor: mfa.FactorPasscode, Passcode: "123456789",
			IP: fmt.Sprintf("192.0.2.%d", i%250)})
		if err != nil || res.Result != authflow.ResultAllow {
			b.Errorf("Auth() = %+v, %v; want allow", res, err)
			return false
		}
		return true
	}
	if !parallel {
		i := 0
		for b.Loop() {
			if !login(i) {
				return
			}
			i++
		}
		return
	}
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		i := n
		n++
		next.Unlock()
		for pb.Next() {
			if !login(i) {
				return
			}
		}
	})
}

// TestDurablePushLimitAcrossNodes: with the durable push limit on, pushes
// to one user through several nodes share one count, and in-memory limits
// (off here) are not what refuses.
func TestDurablePushLimitAcrossNodes(t *testing.T) {
	limit := authflow.WithDurablePushLimit(authflow.DurableLimit{Limit: 3, Window: 10 * time.Minute})
	off := authflow.WithPushLimit(authflow.Limit{})
	e := newEnv(t, limit, off, authflow.WithRecheck(5*time.Millisecond))
	nodes := []*authflow.Service{e.Svc, e.node(limit, off), e.node(limit, off)}
	e.app(e.user("pam", mfa.StatusActive), 0, false)
	e.app(e.user("quinn", mfa.StatusActive), 0, false)
	push := func(svc *authflow.Service, user string) error {
		_, err := svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
			Factor: mfa.FactorPush, Device: "auto", Async: true})
		return err
	}
	for i, svc := range nodes {
		if err := push(svc, "pam"); err != nil {
			t.Fatalf("push %d (node %d) = %v", i+1, i, err)
		}
	}
	for i, svc := range nodes {
		if wait := retryAfter(t, fmt.Sprintf("push 4 on node %d", i), push(svc, "pam")); wait <= 0 || wait > 10*time.Minute {
			t.Errorf("Retry-After = %v, want within the 10-minute window", wait)
		}
	}
	if err := push(nodes[1], "quinn"); err != nil {
		t.Errorf("another user's push = %v", err)
	}
	e.Clock.Advance(10 * time.Minute)
	if err := push(nodes[2], "pam"); err != nil {
		t.Errorf("push after the window = %v", err)
	}
}
