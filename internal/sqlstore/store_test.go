package sqlstore_test

import (
	"errors"
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

// TestTransactionStatementsPrepared: statements run inside write
// transactions (the group committer's, writeTx's) are prepared once, after
// the transaction that first ran them, and reused by later transactions
// without deadlocking on SQLite's single write connection.
func TestTransactionStatementsPrepared(t *testing.T) {
	for _, group := range []bool{false, true} {
		s := sqltest.Open(t, sqltest.SQLitePath(t), sqlstore.Options{GroupCommit: group})
		ctx := t.Context()
		must(t, "Migrate", func() error { _, err := s.Migrate(ctx); return err }())
		u := newUser(t, s, "DUSTMT00000000000001", "stmt")
		must(t, "CreatePhone", s.CreatePhone(ctx, mfa.Phone{ID: "DPSTMT00000000000001", Type: mfa.PhoneMobile, Created: epoch}))
		must(t, "ActivateAuthenticator", s.ActivateAuthenticator(ctx, mfa.Authenticator{ID: "DASTMT00000000000001",
			PhoneID: "DPSTMT00000000000001", HOTPSecret: mfa.Secret("seed"), Created: epoch}))
		const update = "UPDATE authenticators SET hotp_counter"
		if sqlstore.WriteStatementCached(s, update) {
			t.Fatalf("group commit %v: %q prepared before any transaction ran it", group, update)
		}
		for counter := range uint64(3) {
			_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: epoch,
				Guard: mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: "DASTMT00000000000001", Counter: counter},
				Log:   &mfa.AuthLogEntry{TxID: "stmt", UserID: u.ID, Result: mfa.ResultSuccess}})
			must(t, "ApplyAuth", err)
			// The group committer answers its callers first and prepares
			// after; it takes the next group only when done, so the
			// statement is prepared once a second ApplyAuth returns.
			if (counter > 0 || !group) && !sqlstore.WriteStatementCached(s, update) {
				t.Errorf("group commit %v: %q not prepared after ApplyAuth %d", group, update, counter)
			}
		}
		// A used counter still loses: the prepared statement keeps the guard.
		if _, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Success: true, At: epoch,
			Guard: mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: "DASTMT00000000000001", Counter: 1}}); !errors.Is(err, mfa.ErrConflict) {
			t.Errorf("group commit %v: ApplyAuth(used counter) = %v, want conflict", group, err)
		}
	}
}
