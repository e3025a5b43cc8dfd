package sqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// backend makes fresh databases of one kind.
type backend struct {
	name string
	// dsn returns a fresh database's DSN (skipping the test when the
	// backend is unavailable).
	dsn func(t *testing.T) string
	// opts are the extra Options of this backend.
	opts sqlstore.Options
}

var backends = []backend{
	{name: "sqlite", dsn: func(t *testing.T) string { return sqltest.SQLitePath(t) }},
	{name: "sqlite-groupcommit", dsn: func(t *testing.T) string { return sqltest.SQLitePath(t) },
		opts: sqlstore.Options{GroupCommit: true}},
	{name: "postgres", dsn: func(t *testing.T) string { return sqltest.PostgresDSN(t) }},
}

// forEachBackend runs f once per backend, as a subtest named for it.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// open opens and migrates a store on dsn with b's options and o's
// Sealer/Now (when set).
func (b backend) open(t *testing.T, dsn string, o sqlstore.Options) *sqlstore.Store {
	t.Helper()
	o.GroupCommit = b.opts.GroupCommit
	s := sqltest.Open(t, dsn, o)
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() = %v", err)
	}
	return s
}

// rawDB opens the database behind dsn directly, bypassing the store.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if strings.HasPrefix(dsn, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("sql.Open(%s) = %v", dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var epoch = time.Date(2025, time.June, 15, 9, 30, 0, 0, time.UTC)

func must(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v, want nil", call, err)
	}
}

func newUser(t *testing.T, s mfa.Store, id, name string) mfa.User {
	t.Helper()
	u := mfa.User{ID: id, Username: name, Status: mfa.StatusActive, Created: epoch}
	must(t, "CreateUser("+id+")", s.CreateUser(t.Context(), u))
	return u
}

// race runs f n times at once, behind a barrier, and returns the errors.
func race(t *testing.T, n int, f func(ctx context.Context, i int) error) []error {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var done = make(chan struct{}, n)
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			errs[i] = f(t.Context(), i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
	return errs
}

// count tallies errs: how many are nil and how many of kind k.
func count(errs []error, k mfa.Kind) (ok, kind int, other []error) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case mfa.KindOf(err) == k:
			kind++
		default:
			other = append(other, err)
		}
	}
	return ok, kind, other
}
