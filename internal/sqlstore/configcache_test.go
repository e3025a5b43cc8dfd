package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// manualClock is a store clock moved by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func cacheIntegration(ikey string) mfa.Integration {
	return mfa.Integration{IKey: ikey, SKey: mfa.Secret("cachecachecachecachecachecachecachecache"), Name: "before",
		Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: epoch}
}

func integrationName(t *testing.T, s *sqlstore.Store, ikey string) string {
	t.Helper()
	in, err := s.GetIntegration(t.Context(), ikey)
	if errors.Is(err, mfa.ErrNotFound) {
		return "<not found>"
	}
	if err != nil {
		t.Fatalf("GetIntegration(%s) = %v", ikey, err)
	}
	return in.Name
}

func lockoutThreshold(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	st, err := s.GetSettings(t.Context())
	if err != nil {
		t.Fatalf("GetSettings() = %v", err)
	}
	return st.LockoutThreshold
}

// provesCached checks that read answers from the cache: it reads
// (filling the cache), changes the value behind the store's back with
// set(i) (raw SQL sends no event; set returns what read would then give),
// and reads again; the old value means the cache answered. On PostgreSQL the cache is also emptied by configuration
// events from any other test sharing the database (every schema hears the
// one channel: a spurious but harmless clear), so it tries up to 20 times,
// with a new value each time. It returns the value the cache holds and
// the one the database holds.
func provesCached(t *testing.T, read func() string, set func(i int) string) (cached, stored string) {
	t.Helper()
	for i := range 20 {
		before := read()
		v := set(i)
		if got := read(); got == before {
			return before, v
		} else if got != v {
			t.Fatalf("read after a raw write = %q, want %q (cached) or %q (not)", got, before, v)
		}
	}
	t.Fatal("the cache never answered in 20 tries")
	return "", ""
}

// TestConfigCache: integrations and settings are answered from memory; a
// change through the store is seen at once; a change behind the store's
// back (raw SQL, which sends no event) is seen after configCacheMaxAge.
// The raw writes are what prove that the cache answers: without it they
// would be seen at once.
func TestConfigCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := &manualClock{t: epoch}
		dsn := b.dsn(t)
		s := b.open(t, dsn, sqlstore.Options{Now: clock.now})
		ctx := t.Context()
		const ikey = "DICACHE0000000000001"
		in := cacheIntegration(ikey)
		must(t, "CreateIntegration", s.CreateIntegration(ctx, in))
		db := rawDB(t, dsn)
		rename, setLockout := `UPDATE integrations SET name = ? WHERE ikey = ?`, `UPDATE settings SET data = ?`
		if b.name == "postgres" {
			rename, setLockout = `UPDATE integrations SET name = $1 WHERE ikey = $2`, `UPDATE settings SET data = $1`
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}

		// On PostgreSQL the cache fills once the event listener listens.
		if got := integrationName(t, s, ikey); got != "before" {
			t.Fatalf("name = %q, want before", got)
		}
		if b.name == "postgres" {
			waitListening(t, s)
		}
		cached, stored := provesCached(t, func() string { return integrationName(t, s, ikey) },
			func(i int) string {
				v := fmt.Sprintf("raw-%d", i)
				exec(rename, v, ikey)
				return v
			})
		// A returned integration is a copy: changing it changes nothing.
		got, _ := s.GetIntegration(ctx, ikey)
		got.SKey[0] = 'X'
		if again, _ := s.GetIntegration(ctx, ikey); again.SKey[0] != 'c' {
			t.Errorf("the cached skey was changed through a returned copy")
		}
		// Entries expire. (On PostgreSQL a spurious clear could come
		// first, so the entry is checked to be cached only on SQLite.)
		clock.add(9 * time.Second)
		if got := integrationName(t, s, ikey); b.name != "postgres" && got != cached {
			t.Errorf("name 9 s later = %q, want %q (cached)", got, cached)
		}
		clock.add(time.Second)
		if got := integrationName(t, s, ikey); got != stored {
			t.Errorf("name 10 s later = %q, want %q (the cache entry expired)", got, stored)
		}

		// Writes through the store are seen at once.
		in.Name = "updated"
		must(t, "UpdateIntegration", s.UpdateIntegration(ctx, in))
		if got := integrationName(t, s, ikey); got != "updated" {
			t.Errorf("name after UpdateIntegration = %q, want updated", got)
		}
		must(t, "DeleteIntegration", s.DeleteIntegration(ctx, ikey))
		if got := integrationName(t, s, ikey); got != "<not found>" {
			t.Errorf("after DeleteIntegration: name = %q, want not found", got)
		}
		if err := s.UpdateIntegration(ctx, in); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("UpdateIntegration(deleted) = %v, want not found", err)
		}

		// Settings.
		st, err := s.GetSettings(ctx)
		must(t, "GetSettings", err)
		st.LockoutThreshold = 7
		must(t, "PutSettings", s.PutSettings(ctx, st))
		if got := lockoutThreshold(t, s); got != 7 {
			t.Errorf("lockout threshold after PutSettings = %d, want 7", got)
		}
		_, stored = provesCached(t, func() string { return fmt.Sprint(lockoutThreshold(t, s)) },
			func(i int) string {
				exec(setLockout, fmt.Sprintf(`{"LockoutThreshold": %d}`, 100+i))
				return fmt.Sprint(100 + i)
			})
		clock.add(10 * time.Second)
		if got := fmt.Sprint(lockoutThreshold(t, s)); got != stored {
			t.Errorf("lockout threshold 10 s after a raw update = %s, want %s", got, stored)
		}
	})
}

// waitListening waits until the store's event listener (started by the
// first configuration read) listens.
func waitListening(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	deadline := time.Now().Add(eventWait)
	for sqlstore.ListenerPID(s) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the store's event listener does not listen within %v", eventWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConfigCacheCrossNode: a change on node B reaches node A's cache by
// LISTEN/NOTIFY, and while A's listener is down A reads the database.
func TestConfigCacheCrossNode(t *testing.T) {
	dsn := sqltest.FreshDatabaseDSN(t)
	kr := sqltest.Keyring(t)
	clock := &manualClock{t: epoch} // never moves: entries never expire by age
	a := sqltest.Open(t, dsn, sqlstore.Options{Sealer: kr, Now: clock.now})
	must(t, "Migrate()", func() error { _, err := a.Migrate(t.Context()); return err }())
	b := sqltest.Open(t, dsn, sqlstore.Options{Sealer: kr, Now: clock.now})
	ctx := t.Context()
	const ikey = "DICACHEXNODE00000001"
	in := cacheIntegration(ikey)
	must(t, "CreateIntegration", b.CreateIntegration(ctx, in))

	// waitName polls A until it answers want.
	waitName := func(what, want string) time.Duration {
		t.Helper()
		start := time.Now()
		for integrationName(t, a, ikey) != want {
			if time.Since(start) > eventWait {
				t.Fatalf("%s: node A still answers %q after %v, want %q", what, integrationName(t, a, ikey), eventWait, want)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start)
	}
	// A caches once its listener listens: a raw write is then not seen.
	db := rawDB(t, dsn)
	integrationName(t, a, ikey)
	waitListening(t, a)
	provesCached(t, func() string { return integrationName(t, a, ikey) }, func(i int) string {
		v := fmt.Sprintf("raw-%d", i)
		if _, err := db.ExecContext(ctx, `UPDATE integrations SET name = $1 WHERE ikey = $2`, v, ikey); err != nil {
			t.Fatal(err)
		}
		return v
	})

	for i, name := range []string{"one", "two", "three"} {
		in.Name = name
		must(t, "UpdateIntegration on B", b.UpdateIntegration(ctx, in))
		d := waitName("update on B", name)
		t.Logf("round %d: node A saw B's update after %v", i, d)
	}
	st, _ := b.GetSettings(ctx)
	lockoutThreshold(t, a) // cached on A
	st.LockoutThreshold = 4
	must(t, "PutSettings on B", b.PutSettings(ctx, st))
	for start := time.Now(); lockoutThreshold(t, a) != 4; time.Sleep(2 * time.Millisecond) {
		if time.Since(start) > eventWait {
			t.Fatalf("node A's lockout threshold = %d after %v, want 4", lockoutThreshold(t, a), eventWait)
		}
	}
	must(t, "DeleteIntegration on B", b.DeleteIntegration(ctx, ikey))
	waitName("delete on B", "<not found>")

	// A's listener goes down: notifications may be lost, so A must not
	// answer from what it cached before. A raw write (no event at all) is
	// seen once A notices, at the latest when it listens again.
	must(t, "CreateIntegration on B", b.CreateIntegration(ctx, cacheIntegration(ikey)))
	waitName("re-created", "before")
	pid := sqlstore.ListenerPID(a)
	var ok bool
	if err := db.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE integrations SET name = 'while down' WHERE ikey = $1`, ikey); err != nil {
		t.Fatal(err)
	}
	d := waitName("raw write while A's listener was down", "while down")
	t.Logf("node A read past its cache %v after its listener's backend was terminated", d)
}

// BenchmarkGetIntegration: one signed request's integration lookup, from
// the cache (the common case) and from the database (a cache miss).
func BenchmarkGetIntegration(b *testing.B) {
	s := sqltest.NewStore(b, sqltest.SQLitePath(b))
	ctx := context.Background()
	const ikey = "DICACHEBENCH00000001"
	if err := s.CreateIntegration(ctx, cacheIntegration(ikey)); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GetIntegration(ctx, ikey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("database", func(b *testing.B) {
		in := cacheIntegration(ikey)
		for b.Loop() {
			b.StopTimer()
			if err := s.UpdateIntegration(ctx, in); err != nil { // empties the cache
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.GetIntegration(ctx, ikey); err != nil {
				b.Fatal(err)
			}
		}
	})
}
