package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

//go:embed migrations
var migrationFS embed.FS

// Schema errors, for errors.Is on CheckSchema's result.
var (
	ErrSchemaAhead  = errors.New("database schema is newer than this twostepd")
	ErrSchemaBehind = errors.New("database schema is older than this twostepd")
)

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's embedded migrations in version order.
// Files are named NNNN_description.sql.
func (d *dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.name)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must be 1, 2, 3, ... without gaps", m.name)
		}
	}
	return ms, nil
}

// Migrate applies, in order, every embedded migration the database has not
// recorded yet, each in its own transaction together with its
// schema_migrations row, and reports how many it applied. Concurrent
// migrators of one database are safe: on PostgreSQL each transaction first
// takes a transaction-scoped advisory lock (keyed by the schema); on SQLite
// BEGIN IMMEDIATE on the single write connection excludes other writers.
// Either way a migrator re-reads the recorded versions under the lock, so a
// migration another process applied meanwhile is skipped, not repeated.
// Migrations are forward-only. Migrate refuses a database whose schema is
// ahead of this binary.
//
// Migrate also creates (or loads) the server's code-hash key, so that a
// freshly migrated store needs no further setup.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := s.d.migrations()
	if err != nil {
		return 0, err
	}
	if cur, latest, err := s.SchemaVersion(ctx); err != nil {
		return 0, err
	} else if cur > latest {
		return 0, schemaAhead(cur, latest)
	}
	for _, m := range ms {
		did := false
		apply := func() error {
			return s.writeTx(ctx, "migrate", func(c dbtx) error {
				if err := s.d.lock(ctx, c, "schema_migrations"); err != nil {
					return err
				}
				if _, err := c.exec(ctx, s.d.migrationsDDL); err != nil {
					return err
				}
				done, err := c.exists(ctx, `SELECT 1 FROM schema_migrations WHERE version = ?`, m.version)
				if err != nil || done {
					return err
				}
				// No arguments: the whole file runs as one multi-statement
				// exec (pgx then uses the simple protocol).
				if _, err := c.q.ExecContext(ctx, m.sql); err != nil {
					return fmt.Errorf("apply %s: %w", m.name, err)
				}
				if _, err := c.exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.version, s.now()); err != nil {
					return err
				}
				did = true
				return nil
			})
		}
		err := s.retryBusy(ctx, apply)
		if err != nil {
			return applied, fmt.Errorf("migrate to version %d: %w", m.version, err)
		}
		if did {
			applied++
			s.log.InfoContext(ctx, "applied migration", "version", m.version, "name", m.name, "dialect", s.d.name)
		}
	}
	if _, err := s.codeKeyFor(ctx); err != nil {
		return applied, err
	}
	return applied, nil
}

// SchemaVersion reports the database's schema version (0 when it was never
// migrated) and the latest version this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	ms, err := s.d.migrations()
	if err != nil {
		return 0, 0, err
	}
	latest = len(ms)
	var n int
	if err := s.reader().row(ctx, s.d.hasTable, "schema_migrations").Scan(&n); err != nil {
		return 0, latest, s.dbErr(ctx, "schema version", err)
	}
	if n == 0 {
		return 0, latest, nil
	}
	if err := s.reader().row(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, latest, s.dbErr(ctx, "schema version", err)
	}
	return current, latest, nil
}

// CheckSchema returns nil if the database's schema is the one this binary
// knows, and otherwise an Unavailable error saying what to do: upgrade
// twostepd (the database is ahead, errors.Is ErrSchemaAhead) or run
// twostepd migrate (it is behind, errors.Is ErrSchemaBehind).
func (s *Store) CheckSchema(ctx context.Context) error {
	cur, latest, err := s.SchemaVersion(ctx)
	switch {
	case err != nil:
		return err
	case cur > latest:
		return schemaAhead(cur, latest)
	case cur < latest:
		return &mfa.Error{Kind: mfa.Unavailable,
			Msg: fmt.Sprintf("database schema version %d is older than this twostepd (needs %d); run twostepd migrate", cur, latest),
			Err: ErrSchemaBehind}
	}
	return nil
}

func schemaAhead(cur, latest int) error {
	return &mfa.Error{Kind: mfa.Unavailable,
		Msg: fmt.Sprintf("database schema version %d is newer than this twostepd (knows up to %d); upgrade twostepd", cur, latest),
		Err: ErrSchemaAhead}
}

// migrateBusyWait bounds how long Migrate waits, in all, for a database
// another process is migrating at the same time (SQLite's busy_timeout
// alone can run out when several processes start together on a loaded
// machine: each migration is one BEGIN IMMEDIATE transaction, and they
// queue).
const migrateBusyWait = 30 * time.Second

// retryBusy runs f again while it fails because the database is busy (or
// PostgreSQL asks for a retry), for up to migrateBusyWait.
func (s *Store) retryBusy(ctx context.Context, f func() error) error {
	start := time.Now()
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := f()
		if err == nil {
			return nil
		}
		if c, _ := s.d.classify(err); c != errBusy && c != errRetry || time.Since(start) > migrateBusyWait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
