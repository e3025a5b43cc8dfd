package sqlstore_test

import (
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestStoreSQLite(t *testing.T) {
	mfatest.RunStoreTests(t, func(t *testing.T) mfa.Store {
		return sqltest.NewStore(t, sqltest.SQLitePath(t))
	})
}

// TestStoreSQLiteGroupCommit runs the suite with ApplyAuth batched by the
// group committer.
func TestStoreSQLiteGroupCommit(t *testing.T) {
	mfatest.RunStoreTests(t, func(t *testing.T) mfa.Store {
		s := sqltest.Open(t, sqltest.SQLitePath(t), sqlstore.Options{GroupCommit: true})
		if _, err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate() = %v", err)
		}
		return s
	})
}

func TestStorePostgres(t *testing.T) {
	sqltest.RequirePostgres(t)
	mfatest.RunStoreTests(t, func(t *testing.T) mfa.Store {
		return sqltest.NewStore(t, sqltest.PostgresDSN(t))
	})
}
