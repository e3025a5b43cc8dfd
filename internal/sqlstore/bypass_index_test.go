package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// TestBypassLookupUsesIndex pins how a bypass code is checked: the
// statement that finds and spends it looks it up by its keyed hash on the
// unique (user_id, code_hash) index, on every backend, so that a user
// holding 100 codes is checked as fast as one holding 1 (issue 17;
// BenchmarkBypassCodes in internal/authflow measures it). A lookup that
// read every code of the user, or hashed each, would fail this.
func TestBypassLookupUsesIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		dsn := b.dsn(t)
		s := b.open(t, dsn, sqlstore.Options{})
		u := newUser(t, s, "DU000000000000000001", "holder")
		codes := make([]mfa.BypassCode, mfa.MaxActiveBypassCodes)
		for i := range codes {
			codes[i] = mfa.BypassCode{ID: fmt.Sprintf("DB%018d", i), UserID: u.ID, Code: mfa.Passcode(fmt.Sprintf("%09d", 100_000_000+i)),
				Unlimited: true, Created: epoch}
		}
		must(t, "CreateBypassCodes", s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: u.ID, Codes: codes}, epoch))

		db := rawDB(t, dsn)
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var plan []string
		if strings.HasPrefix(dsn, "postgres") {
			// A table this small may be read whole whatever its indexes:
			// forbid that, so the plan shows whether the index serves.
			q := sqlstore.SpendBypassSQL
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
			}
			for _, stmt := range []string{"SET enable_seqscan = off", "PREPARE spend AS " + q} {
				if _, err := conn.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			plan = explain(ctx, t, conn, "EXPLAIN EXECUTE spend('"+u.ID+"', '\\x00'::bytea, now())")
		} else {
			plan = explain(ctx, t, conn, "EXPLAIN QUERY PLAN "+sqlstore.SpendBypassSQL, u.ID, []byte{0}, epoch.UnixMicro())
		}
		all := strings.Join(plan, "\n")
		var ok bool
		if strings.HasPrefix(dsn, "postgres") {
			ok = strings.Contains(all, "Index Scan using bypass_codes_user_code") &&
				strings.Contains(all, "user_id =") && strings.Contains(all, "code_hash =") && strings.Contains(all, "Index Cond")
		} else {
			ok = strings.Contains(all, "USING INDEX") && strings.Contains(all, "user_id=? AND code_hash=?")
		}
		if !ok {
			t.Errorf("the bypass code lookup does not use the (user_id, code_hash) index; plan:\n%s", all)
		}
		t.Logf("plan:\n%s", all)
	})
}

// explain runs an EXPLAIN on conn and returns its rows' last column.
func explain(ctx context.Context, t *testing.T, conn *sql.Conn, q string, args ...any) []string {
	t.Helper()
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals[len(vals)-1]))
	}
	return out
}
