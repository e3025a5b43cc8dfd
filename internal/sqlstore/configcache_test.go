package sqlstore_test

import (
	"context"
	"errors"
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
		rename := `UPDATE integrations SET name = ? WHERE ikey = ?`
		if b.name == "postgres" {
			rename = `UPDATE integrations SET name = $1 WHERE ikey = $2`
		}

		// On PostgreSQL the cache fills once the event listener listens.
		if got := integrationName(t, s, ikey); got != "before" {
			t.Fatalf("name = %q, want before", got)
		}
		if b.name == "postgres" {
			waitListening(t, s)
		}
		if got := integrationName(t, s, ikey); got != "before" {
			t.Fatalf("name = %q, want before", got)
		}
		if _, err := db.ExecContext(ctx, rename, "behind", ikey); err != nil {
			t.Fatal(err)
		}
		if got := integrationName(t, s, ikey); got != "before" {
			t.Fatalf("name after a raw write = %q, want before (answered from the cache)", got)
		}
		// A returned integration is a copy: changing it changes nothing.
		got, _ := s.GetIntegration(ctx, ikey)
		got.SKey[0] = 'X'
		if again, _ := s.GetIntegration(ctx, ikey); again.SKey[0] != 'c' {
			t.Errorf("the cached skey was changed through a returned copy")
		}
		clock.add(9 * time.Second)
		if got := integrationName(t, s, ikey); got != "before" {
			t.Errorf("name 9 s later = %q, want before (cached)", got)
		}
		clock.add(time.Second)
		if got := integrationName(t, s, ikey); got != "behind" {
			t.Errorf("name 10 s later = %q, want behind (the cache entry expired)", got)
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
		var heard <-chan struct{}
		if b.name == "postgres" {
			ch, cancel := s.Subscribe(sqlstore.TopicConfig)
			defer cancel()
			heard = ch
		}
		must(t, "PutSettings", s.PutSettings(ctx, st))
		if heard != nil {
			// The store hears its own change too, and empties its cache
			// once more; wait for that before filling it.
			waitEvent(t, "the store's own configuration event", heard)
		}
		if got := lockoutThreshold(t, s); got != 7 {
			t.Errorf("lockout threshold after PutSettings = %d, want 7", got)
		}
		if _, err := db.ExecContext(ctx, `UPDATE settings SET data = '{"LockoutThreshold": 3}'`); err != nil {
			t.Fatal(err)
		}
		if got := lockoutThreshold(t, s); got != 7 {
			t.Errorf("lockout threshold after a raw update = %d, want 7 (cached)", got)
		}
		clock.add(10 * time.Second)
		if got := lockoutThreshold(t, s); got != 3 {
			t.Errorf("lockout threshold 10 s after a raw update = %d, want 3", got)
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
	integrationName(t, a, ikey)
	if _, err := db.ExecContext(ctx, `UPDATE integrations SET name = 'raw' WHERE ikey = $1`, ikey); err != nil {
		t.Fatal(err)
	}
	if got := integrationName(t, a, ikey); got != "before" {
		t.Fatalf("node A after a raw write = %q, want before (cached)", got)
	}

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
