// Package sqltest gives tests real sqlstore databases: a SQLite file in a
// temporary directory, or a fresh PostgreSQL schema or database when
// TWOSTEP_TEST_POSTGRES holds a DSN. Every call makes its own database and
// removes it when the test ends.
//
// Without TWOSTEP_TEST_POSTGRES, PostgreSQL tests skip with a message; under
// CI=true they fail instead. It is imported only by tests.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// The lead's keyring is what production seals with.
var _ sqlstore.Sealer = (*seal.Keyring)(nil)

// EnvPostgres names the environment variable holding the PostgreSQL DSN
// that tests may create schemas and databases in.
const EnvPostgres = "TWOSTEP_TEST_POSTGRES"

// RequirePostgres returns the DSN in TWOSTEP_TEST_POSTGRES. When it is
// empty, the test skips, or fails under CI=true.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(EnvPostgres + " not set")
		}
		t.Skip("PostgreSQL tests skipped: set " + EnvPostgres +
			" to a PostgreSQL DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return dsn
}

// SQLitePath returns the path of a new SQLite database file in the test's
// temporary directory.
func SQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "twostep.db")
}

// PostgresDSN creates a fresh, uniquely named schema in the database of
// TWOSTEP_TEST_POSTGRES and returns a DSN whose connections use it
// (search_path, passed by pgx as a runtime parameter). The schema is dropped
// when the test ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	name := uniqueName(t, "t_")
	admin(t, base, `CREATE SCHEMA `+name)
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA IF EXISTS `+name+` CASCADE`) })
	return withParam(t, base, "search_path", name)
}

// FreshDatabaseDSN creates a fresh, uniquely named database on the server
// of TWOSTEP_TEST_POSTGRES, for tests that run several processes, and
// returns its DSN. The database is dropped (WITH (FORCE)) when the test
// ends.
func FreshDatabaseDSN(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	name := uniqueName(t, "twostep_test_")
	admin(t, base, `CREATE DATABASE `+name)
	t.Cleanup(func() { admin(t, base, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Keyring returns a keyring with one fresh random key.
func Keyring(t testing.TB) *seal.Keyring {
	t.Helper()
	k := Key(t, "test")
	kr, err := seal.NewKeyring(k)
	if err != nil {
		t.Fatalf("seal.NewKeyring = %v", err)
	}
	return kr
}

// Key returns a fresh random master key with id.
func Key(t testing.TB, id string) seal.Key {
	t.Helper()
	k, err := seal.GenerateKey(rand.Reader, id)
	if err != nil {
		t.Fatalf("seal.GenerateKey(%q) = %v", id, err)
	}
	return k
}

// Open opens a store on dsn with o (DSN and, when nil, Sealer filled in),
// without migrating, and closes it when the test ends.
func Open(t testing.TB, dsn string, o sqlstore.Options) *sqlstore.Store {
	t.Helper()
	o.DSN = dsn
	if o.Sealer == nil {
		o.Sealer = Keyring(t)
	}
	s, err := sqlstore.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("sqlstore.Open(%s) = %v", o.DSN, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewStore opens and migrates a store on dsn (a SQLite path or a
// PostgreSQL DSN) with a fresh test keyring, and closes it when the test
// ends.
func NewStore(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	s := Open(t, dsn, sqlstore.Options{})
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate() = %v", err)
	}
	return s
}

// admin runs one statement on the server of TWOSTEP_TEST_POSTGRES.
func admin(t testing.TB, dsn, stmt string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand.Read = %v", err)
	}
	return prefix + hex.EncodeToString(b)
}

// withParam returns dsn with the query parameter key set to value.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
