package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"go.uber.org/goleak"
)

// TestBackgroundCheckpoint: on a SQLite file the writer connection never
// checkpoints (wal_autocheckpoint=0), and the store's checkpointer copies
// what the writer committed into the database file by itself: a reader of
// the main file alone (immutable=1 ignores the WAL) sees every record once
// a checkpoint has run after the writes.
func TestBackgroundCheckpoint(t *testing.T) {
	for _, gc := range []bool{false, true} {
		t.Run(fmt.Sprintf("groupcommit=%v", gc), func(t *testing.T) {
			ctx := t.Context()
			path := sqltest.SQLitePath(t)
			s := sqltest.Open(t, path, sqlstore.Options{GroupCommit: gc})
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate() = %v", err)
			}
			if v, err := sqlstore.WriterPragma(ctx, s, "wal_autocheckpoint"); err != nil || v != 0 {
				t.Fatalf("writer wal_autocheckpoint = %d, %v; want 0", v, err)
			}
			u := newUser(t, s, "DUCKPT00000000000001", "ckpt")
			runs := sqlstore.CheckpointRuns(s)

			// Enough commits to wake the checkpointer, from 8 writers.
			n := 2 * sqlstore.CheckpointEvery
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < n; i += 8 {
						_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: epoch,
							Log: &mfa.AuthLogEntry{Time: epoch, TxID: fmt.Sprintf("ckpt-%04d", i), UserID: u.ID, Username: u.Username,
								EventType: "authentication", Result: mfa.ResultSuccess, Factor: "passcode"}})
						if err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("ApplyAuth() = %v", err)
			}

			// The main file alone, read without locks.
			main, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
			if err != nil {
				t.Fatal(err)
			}
			defer main.Close()
			main.SetMaxOpenConns(1)
			main.SetMaxIdleConns(0) // a fresh connection, and so a fresh read, each time
			// inMain counts the records in the main file. Until a
			// checkpoint has copied every frame, the main file alone can
			// be inconsistent ("malformed"): that counts as not yet.
			var lastErr error
			inMain := func() int {
				var c int
				lastErr = main.QueryRowContext(ctx, `SELECT count(*) FROM auth_log WHERE txid LIKE 'ckpt-%'`).Scan(&c)
				return c
			}
			// The checkpointer runs when woken by the commits or on its
			// 1 s tick, whichever comes first; wait for the result, with
			// a deadline far beyond either.
			deadline := time.Now().Add(20 * time.Second)
			for sqlstore.CheckpointRuns(s) <= runs || inMain() != n {
				if time.Now().After(deadline) {
					t.Fatalf("after %d commits: %d checkpoints ran (%d before), %d of %d records in the main file (%v)",
						n, sqlstore.CheckpointRuns(s), runs, inMain(), n, lastErr)
				}
				waitBriefly(ctx)
			}
		})
	}
}

// TestCheckpointerStopsAtClose: Close ends the checkpointer (goroutine and
// connection: goleak finds nothing of the store left) and the data is all
// there when the file is opened again.
func TestCheckpointerStopsAtClose(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	ctx := t.Context()
	path := sqltest.SQLitePath(t)
	s, err := sqlstore.Open(ctx, sqlstore.Options{DSN: path, Sealer: sqltest.Keyring(t), GroupCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	newUser(t, s, "DUCKPT00000000000002", "closing")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := goleak.Find(ignore); err != nil {
		t.Errorf("after Close: %v", err)
	}
	s2 := sqltest.Open(t, path, sqlstore.Options{Sealer: sqltest.Keyring(t)})
	if _, err := s2.GetUserByName(ctx, "closing"); err != nil {
		t.Fatalf("GetUserByName() after reopening = %v", err)
	}
}

// waitBriefly yields for a few milliseconds while polling for an
// asynchronous result (never to time anything).
func waitBriefly(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Millisecond):
	}
}
