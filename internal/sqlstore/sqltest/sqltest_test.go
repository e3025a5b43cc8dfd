package sqltest_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestPostgresDSNSearchPath proves that pgx passes search_path from the DSN
// as a runtime parameter: connections land in the fresh schema.
func TestPostgresDSNSearchPath(t *testing.T) {
	var schema string
	t.Run("use", func(t *testing.T) {
		dsn := sqltest.PostgresDSN(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		schema = u.Query().Get("search_path")
		if !strings.HasPrefix(schema, "t_") {
			t.Fatalf("PostgresDSN() = %q, want a search_path of a fresh t_ schema", dsn)
		}
		s := sqltest.NewStore(t, dsn)
		if got := s.Dialect(); got != "postgres" {
			t.Errorf("Dialect() = %q, want postgres", got)
		}
		db := open(t, dsn)
		var cur string
		if err := db.QueryRow(`SELECT current_schema()`).Scan(&cur); err != nil {
			t.Fatal(err)
		}
		if cur != schema {
			t.Errorf("current_schema() = %q, want %q", cur, schema)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'`, schema).Scan(&n); err != nil || n != 1 {
			t.Errorf("schema_migrations in %s: count %d, %v; want 1", schema, n, err)
		}
	})
	if schema == "" {
		return // skipped
	}
	var n int
	if err := open(t, sqltest.RequirePostgres(t)).QueryRow(`SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the test, schema %s: count %d, %v; want it dropped", schema, n, err)
	}
}

func TestFreshDatabaseDSN(t *testing.T) {
	var name string
	outer := t
	t.Run("use", func(t *testing.T) {
		dsn := sqltest.FreshDatabaseDSN(t)
		s := sqltest.NewStore(t, dsn)
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping() = %v", err)
		}
		if err := open(t, dsn).QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "twostep_test_") {
			t.Errorf("current_database() = %q, want a fresh twostep_test_ database", name)
		}
		// A connection left open must not stop the drop (WITH (FORCE)).
		leak, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		outer.Cleanup(func() { leak.Close() })
		if err := leak.Ping(); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		return // skipped
	}
	var n int
	if err := open(t, sqltest.RequirePostgres(t)).QueryRow(`SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the test, database %s: count %d, %v; want it dropped", name, n, err)
	}
}

func TestRequirePostgresUnderCI(t *testing.T) {
	if os.Getenv(sqltest.EnvPostgres) != "" {
		t.Skip("runs only without " + sqltest.EnvPostgres)
	}
	t.Setenv("CI", "true")
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() { // Fatal ends the goroutine with runtime.Goexit
		defer close(done)
		sqltest.RequirePostgres(ft)
	}()
	<-done
	if !ft.fatal || !strings.Contains(ft.msg, "TWOSTEP_TEST_POSTGRES not set") {
		t.Errorf("RequirePostgres() under CI=true: fatal %v %q, want Fatal %q", ft.fatal, ft.msg, "TWOSTEP_TEST_POSTGRES not set")
	}
}

type fakeT struct {
	testing.TB
	fatal bool
	msg   string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatal(args ...any) {
	f.fatal, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fakeT) Skip(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
