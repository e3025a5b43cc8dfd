package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

var dialects = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return sqltest.SQLitePath(t) }},
	{"postgres", func(t *testing.T) string { return sqltest.PostgresDSN(t) }},
}

func TestMigrate(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := d.dsn(t)
			s := sqltest.Open(t, dsn, sqlstore.Options{})
			if got := s.Dialect(); got != d.name {
				t.Errorf("Dialect() = %q, want %q", got, d.name)
			}

			cur, latest, err := s.SchemaVersion(ctx)
			must(t, "SchemaVersion()", err)
			if cur != 0 || latest < 1 {
				t.Fatalf("SchemaVersion() before Migrate = %d, %d, want 0, >= 1", cur, latest)
			}
			err = s.CheckSchema(ctx)
			if !errors.Is(err, sqlstore.ErrSchemaBehind) || !strings.Contains(err.Error(), "run twostepd migrate") {
				t.Errorf("CheckSchema() before Migrate = %v, want ErrSchemaBehind saying to run twostepd migrate", err)
			}
			if err := s.Ping(ctx); mfa.KindOf(err) != mfa.Unavailable {
				t.Errorf("Ping() before Migrate = %v, want unavailable", err)
			}

			tests := []struct {
				name string
				want int
			}{
				{"fresh", latest},
				{"again", 0},
			}
			for _, tt := range tests {
				n, err := s.Migrate(ctx)
				if err != nil || n != tt.want {
					t.Errorf("Migrate() %s = %d, %v, want %d, nil", tt.name, n, err, tt.want)
				}
			}
			cur, _, err = s.SchemaVersion(ctx)
			if err != nil || cur != latest {
				t.Errorf("SchemaVersion() after Migrate = %d, %v, want %d, nil", cur, err, latest)
			}
			must(t, "CheckSchema()", s.CheckSchema(ctx))
			must(t, "Ping()", s.Ping(ctx))

			// A newer twostepd migrated the database: this one must refuse it.
			db := rawDB(t, dsn)
			if _, err := db.ExecContext(ctx, rebind(d.name, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
				latest+1, appliedAt(d.name)); err != nil {
				t.Fatalf("insert schema_migrations row: %v", err)
			}
			err = s.CheckSchema(ctx)
			wantMsg := "is newer than this twostepd (knows up to"
			if !errors.Is(err, sqlstore.ErrSchemaAhead) || !strings.Contains(err.Error(), wantMsg) || !strings.Contains(err.Error(), "upgrade twostepd") {
				t.Errorf("CheckSchema() with a newer schema = %v, want ErrSchemaAhead saying %q and to upgrade", err, wantMsg)
			}
			if n, err := s.Migrate(ctx); !errors.Is(err, sqlstore.ErrSchemaAhead) || n != 0 {
				t.Errorf("Migrate() with a newer schema = %d, %v, want 0, ErrSchemaAhead", n, err)
			}
			if err := s.Ping(ctx); !errors.Is(err, sqlstore.ErrSchemaAhead) {
				t.Errorf("Ping() with a newer schema = %v, want ErrSchemaAhead", err)
			}
		})
	}
}

// TestMigrateConcurrent migrates one database from two stores (two
// processes, as far as the database can tell) at once: one applies each
// migration, the other sees it done, and neither fails.
func TestMigrateConcurrent(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.dsn(t)
			const n = 4
			kr := sqltest.Keyring(t) // one master key, as processes of one deployment share
			stores := make([]*sqlstore.Store, n)
			for i := range stores {
				stores[i] = sqltest.Open(t, dsn, sqlstore.Options{Sealer: kr})
			}
			applied := make([]int, n)
			errs := race(t, n, func(ctx context.Context, i int) error {
				var err error
				applied[i], err = stores[i].Migrate(ctx)
				return err
			})
			total := 0
			for i, err := range errs {
				if err != nil {
					t.Errorf("Migrate() in store %d = %v", i, err)
				}
				total += applied[i]
			}
			_, latest, err := stores[0].SchemaVersion(t.Context())
			must(t, "SchemaVersion()", err)
			if total != latest {
				t.Errorf("concurrent Migrate() applied %v (sum %d), want %d in all", applied, total, latest)
			}
			for i, s := range stores {
				if err := s.CheckSchema(t.Context()); err != nil {
					t.Errorf("CheckSchema() in store %d = %v", i, err)
				}
			}
			// Every store found the same code-hash key: a code made
			// through one verifies through another.
			ctx := t.Context()
			u := newUser(t, stores[0], "DUMIGRATE00000000001", "migrate")
			must(t, "CreateBypassCodes", stores[1].CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID,
				Codes: []mfa.BypassCode{{ID: "DBMIGRATE00000000001", Code: "555123456", UsesLeft: 1, Created: epoch}}}, epoch))
			if _, err := stores[n-1].ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID,
				Guard: mfa.Guard{Kind: mfa.GuardBypassCode, Code: "555123456", Now: epoch}}); err != nil {
				t.Errorf("ApplyAuth(bypass made by another store) = %v, want nil", err)
			}
		})
	}
}

// TestOpenDoesNotMigrate: Open leaves an empty database empty.
func TestOpenDoesNotMigrate(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			dsn := d.dsn(t)
			sqltest.Open(t, dsn, sqlstore.Options{})
			db := rawDB(t, dsn)
			q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`
			if d.name == "postgres" {
				q = `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()`
			}
			var n int
			if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("after Open, the database has %d tables, want 0", n)
			}
		})
	}
}

func TestOpenOptions(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		give sqlstore.Options
	}{
		{"no dsn", sqlstore.Options{Sealer: sqltest.Keyring(t)}},
		{"no sealer", sqlstore.Options{DSN: sqltest.SQLitePath(t)}},
		{"question mark in path", sqlstore.Options{DSN: sqltest.SQLitePath(t) + "?x=1", Sealer: sqltest.Keyring(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlstore.Open(ctx, tt.give)
			if err == nil {
				s.Close()
				t.Errorf("Open(%+v) = nil error, want an error", tt.give)
			}
		})
	}
}

func TestStats(t *testing.T) {
	tests := []struct {
		name string
		dsn  func(t *testing.T) string
		want []string
	}{
		{"sqlite", func(t *testing.T) string { return sqltest.SQLitePath(t) }, []string{"sqlite_write", "sqlite_read"}},
		{"sqlite memory", func(t *testing.T) string { return ":memory:" }, []string{"sqlite_write"}},
		{"postgres", func(t *testing.T) string { return sqltest.PostgresDSN(t) }, []string{"postgres"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sqltest.NewStore(t, tt.dsn(t))
			var got []string
			for _, p := range s.Stats() {
				got = append(got, p.Name)
				if p.MaxOpenConnections == 0 {
					t.Errorf("Stats() pool %s has no connection limit", p.Name)
				}
				if p.Name == "sqlite_write" && p.MaxOpenConnections != 1 {
					t.Errorf("Stats() sqlite_write MaxOpenConnections = %d, want 1", p.MaxOpenConnections)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Stats() pools = %v, want %v", got, tt.want)
			}
			must(t, "Ping()", s.Ping(t.Context()))
		})
	}
}

func rebind(dialect, q string) string {
	if dialect != "postgres" {
		return q
	}
	for i := 1; strings.Contains(q, "?"); i++ {
		q = strings.Replace(q, "?", "$"+string(rune('0'+i)), 1)
	}
	return q
}

func appliedAt(dialect string) any {
	if dialect == "postgres" {
		return epoch
	}
	return epoch.UnixMicro()
}
