package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// accountQuery is one of the reads of LoginAccount: its query (with ?
// placeholders), its arguments and what to do with each row.
type accountQuery struct {
	sql  string
	args []any
	row  func(rowScanner) error
	// order is the query's ORDER BY (without the keyword), or "" for
	// none, and limit its LIMIT (0: none): readUnion needs them apart
	// from sql to keep each query's order within one statement.
	order string
	limit int
}

// LoginAccount reads a login's user with their phones, tokens, groups and
// active authenticators, and what aq asks for besides (see
// mfa.UserStore). The queries are keyed by the user id, or by a subquery
// on the name, so that none waits for another's answer, and they run as
// one UNION ALL statement: one snapshot, and the fixed cost of a statement
// paid once instead of once per query. On SQLite (readUnion) that cost is
// database/sql, the driver and the WAL read lock. (Six statements in an
// explicit read transaction were slower than six without: BEGIN, COMMIT
// and re-binding each prepared statement to the transaction.) On
// PostgreSQL (readUnionPostgres) it is the server's per-statement work
// (portal, snapshot, executor start): with pgbench on a 2-core machine the
// six reads ran at 3,600/s as six statements of one batch and 8,700/s as
// one statement (docs/benchmarks.md).
func (s *Store) LoginAccount(ctx context.Context, aq mfa.AccountQuery) (mfa.Account, error) {
	const op = "login account"
	var (
		a     mfa.Account
		found bool
	)
	who, key := `?`, any(aq.UserID)
	userQ := `SELECT ` + userCols + ` FROM users u WHERE u.id = ?`
	if aq.UserID == "" {
		key = strings.ToLower(aq.Name)
		who = `(SELECT user_id FROM user_names WHERE name_lower = ?)`
		userQ = `SELECT ` + userCols + ` FROM users u JOIN user_names n ON n.user_id = u.id WHERE n.name_lower = ?`
	}
	qs := []accountQuery{
		{sql: userQ, args: []any{key}, row: func(r rowScanner) (err error) {
			a.User, err = scanUser(r)
			found = err == nil
			return err
		}},
		{sql: `SELECT ` + phoneCols + ` FROM phones p JOIN user_phones up ON up.phone_id = p.id
			WHERE up.user_id = ` + who, order: `p.created, p.id`, args: []any{key}, row: func(r rowScanner) error {
			p, err := scanPhone(r)
			a.Phones = append(a.Phones, p)
			return err
		}},
		{sql: `SELECT ` + tokenCols + ` FROM tokens t JOIN user_tokens ut ON ut.token_id = t.id
			WHERE ut.user_id = ` + who, order: `t.created, t.id`, args: []any{key}, row: func(r rowScanner) error {
			t, err := s.scanToken(r)
			a.Tokens = append(a.Tokens, t)
			return err
		}},
		{sql: `SELECT ` + groupCols + ` FROM groups g JOIN user_groups ug ON ug.group_id = g.id
			WHERE ug.user_id = ` + who, order: `g.created, g.id`, args: []any{key}, row: func(r rowScanner) error {
			g, err := scanGroup(r)
			a.Groups = append(a.Groups, g)
			return err
		}},
		{sql: `SELECT ` + authenticatorCols + ` FROM authenticators a JOIN user_phones up ON up.phone_id = a.phone_id
			WHERE up.user_id = ` + who + ` AND a.status = 'active'`, order: `a.created, a.id`, args: []any{key}, row: func(r rowScanner) error {
			au, err := s.scanAuthenticator(r)
			a.Authenticators = append(a.Authenticators, au)
			return err
		}},
	}
	if aq.Revoked {
		qs = append(qs, accountQuery{sql: `SELECT ` + authenticatorCols + ` FROM authenticators a
			WHERE a.status = 'revoked' AND (a.user_id = ` + who + `
				OR a.phone_id IN (SELECT up.phone_id FROM user_phones up WHERE up.user_id = ` + who + `))`,
			order: `a.created DESC, a.id DESC`, limit: mfa.RevokedLimit, args: []any{key, key}, row: func(r rowScanner) error {
				au, err := s.scanAuthenticator(r)
				a.Revoked = append(a.Revoked, au)
				return err
			}})
	}
	if !aq.SMSAt.IsZero() {
		qs = append(qs, accountQuery{sql: `SELECT b.phone_id, MIN(c.idx) FROM sms_codes c JOIN sms_batches b ON b.id = c.batch_id
			WHERE b.user_id = ` + who + ` AND (b.expires IS NULL OR b.expires > ?) AND c.used_at IS NULL
			GROUP BY b.phone_id`, args: []any{key, aq.SMSAt}, row: func(r rowScanner) error {
			var (
				phone string
				next  int
			)
			if err := r.Scan(&phone, &next); err != nil {
				return err
			}
			if a.SMSNext == nil {
				a.SMSNext = map[string]int{}
			}
			a.SMSNext[phone] = next
			return nil
		}})
	}
	// shape names which queries qs holds (unionStmts).
	shape := 0
	if aq.UserID == "" {
		shape |= 1
	}
	if aq.Revoked {
		shape |= 2
	}
	if !aq.SMSAt.IsZero() {
		shape |= 4
	}
	var err error
	switch {
	case s.d == sqliteDialect:
		err = s.readUnion(ctx, shape, qs) // joins the Atomic transaction, if any
		if err == nil {
			sortAccount(&a)
		}
	case s.txFrom(ctx) != nil:
		err = s.readEach(ctx, s.reader(), qs) // joins the Atomic transaction
	default:
		err = s.readUnionPostgres(ctx, shape, qs)
		if err == nil {
			sortAccount(&a)
		}
	}
	if err != nil {
		return mfa.Account{}, s.dbErr(ctx, op, err)
	}
	if !found {
		return mfa.Account{}, notFoundErr("user not found")
	}
	return a, nil
}

// text is q as a statement of its own: with its ORDER BY and LIMIT.
func (q accountQuery) text(d *dialect) string {
	t := q.sql
	if q.order != "" {
		t += ` ORDER BY ` + q.order
	}
	return t + d.page(mfa.Page{Limit: q.limit})
}

// readUnion runs qs on SQLite as one statement: the queries as branches
// of a UNION ALL, each row led by its query's index, the columns padded
// with NULLs to the widest query. SQLite's columns are typed by their
// values, not their positions, so each row converts as it would from its
// own query. One statement is one read transaction (one snapshot, as the
// PostgreSQL batch), one lock of the WAL index and one database/sql call
// instead of one per query (docs/benchmarks.md, "SQLite hot path").
//
// The rows come in no defined order: the caller sorts them (sortAccount),
// which costs less than SQLite's sorters (each a temporary b-tree) and
// keeps the statement free of them. A query with a LIMIT keeps its
// ORDER BY, in a subquery of its own.
func (s *Store) readUnion(ctx context.Context, shape int, qs []accountQuery) error {
	u := unionStmts[shape].Load()
	if u == nil {
		var err error
		if u, err = buildUnion(qs); err != nil {
			return err
		}
		unionStmts[shape].Store(u)
	}
	var args []any
	for _, q := range qs {
		args = append(args, q.args...)
	}
	rows, err := s.reader().query(ctx, u.sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return scanUnion(rows, u, qs)
}

// scanUnion scans the rows of a union statement, each into its query.
func scanUnion(rows *sql.Rows, u *unionStmt, qs []accountQuery) error {
	ur := unionRow{rows: rows, dest: make([]any, 1+u.width)}
	var kind int
	for rows.Next() {
		for j := range ur.dest {
			ur.dest[j] = skipColumn{}
		}
		ur.dest[0] = &kind
		if err := rows.Scan(ur.dest...); err != nil {
			return err
		}
		if kind < 0 || kind >= len(qs) {
			return fmt.Errorf("account query index %d out of range", kind)
		}
		if u.positions != nil {
			ur.pos = u.positions[kind]
		}
		if err := qs[kind].row(&ur); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sortAccount puts a's lists in the order of the queries' ORDER BY
// clauses: created, then id (SQLite compares TEXT bytewise, as Go
// compares strings; a NULL created, the zero time, comes first in both);
// the revoked installs newest first.
func sortAccount(a *mfa.Account) {
	byCreated := func(at, bt time.Time, aid, bid string) int {
		if c := at.Compare(bt); c != 0 {
			return c
		}
		return strings.Compare(aid, bid)
	}
	slices.SortFunc(a.Phones, func(x, y mfa.Phone) int { return byCreated(x.Created, y.Created, x.ID, y.ID) })
	slices.SortFunc(a.Tokens, func(x, y mfa.Token) int { return byCreated(x.Created, y.Created, x.ID, y.ID) })
	slices.SortFunc(a.Groups, func(x, y mfa.Group) int { return byCreated(x.Created, y.Created, x.ID, y.ID) })
	slices.SortFunc(a.Authenticators, func(x, y mfa.Authenticator) int {
		return byCreated(x.Created, y.Created, x.ID, y.ID)
	})
	slices.SortFunc(a.Revoked, func(x, y mfa.Authenticator) int { return byCreated(y.Created, x.Created, y.ID, x.ID) })
}

// unionStmts caches readUnion's statement for each shape of
// LoginAccount's queries (shape, in LoginAccount): the text depends on nothing
// else.
var unionStmts [8]atomic.Pointer[unionStmt]

type unionStmt struct {
	sql   string
	width int // result columns after the query index
	// positions, if set, is where each query's columns are, after the
	// index (PostgreSQL's layout, buildUnionWide); else each query's
	// columns start at 0.
	positions [][]int
}

// buildUnion writes readUnion's statement for qs.
func buildUnion(qs []accountQuery) (*unionStmt, error) {
	width := 0
	for _, q := range qs {
		n, _ := selectWidth(q.sql)
		width = max(width, n)
	}
	var b strings.Builder
	for i, q := range qs {
		if i > 0 {
			b.WriteString("\nUNION ALL\n")
		}
		n, from := selectWidth(q.sql)
		rest, ok := strings.CutPrefix(q.sql, "SELECT ")
		if !ok || from < 0 {
			return nil, fmt.Errorf("account query %d is not a SELECT ... FROM", i)
		}
		// The query's columns, padded, then its FROM and the rest.
		cols, tail := rest[:from-len("SELECT ")], q.sql[from:]
		pad := strings.Repeat(", NULL", width-n)
		if q.limit > 0 {
			// LIMIT applies per query: a subquery, which SQLite runs on
			// its own.
			fmt.Fprintf(&b, "SELECT %d, r.*%s FROM (SELECT %s%s ORDER BY %s LIMIT %d) r", i, pad, cols, tail, q.order, q.limit)
		} else {
			fmt.Fprintf(&b, "SELECT %d, %s%s%s", i, cols, pad, tail)
		}
	}
	return &unionStmt{sql: b.String(), width: width}, nil
}

// unionRow scans one row of a union statement into a query's own
// columns: the first len(dest) after the index, or those at pos.
type unionRow struct {
	rows *sql.Rows
	dest []any
	pos  []int
}

func (u *unionRow) Scan(dest ...any) error {
	if len(dest) > len(u.dest)-1 || (u.pos != nil && len(dest) != len(u.pos)) {
		return fmt.Errorf("scan %d columns of %d", len(dest), len(u.dest)-1)
	}
	for j := range u.dest {
		u.dest[j] = skipColumn{}
	}
	if u.pos == nil {
		copy(u.dest[1:], dest)
	} else {
		for j, d := range dest {
			u.dest[1+u.pos[j]] = d
		}
	}
	return u.rows.Scan(u.dest...)
}

// skipColumn is a scan destination that ignores its value.
type skipColumn struct{}

func (skipColumn) Scan(any) error { return nil }

// selectWidth counts the result columns of q, a SELECT of one FROM (the
// commas outside parentheses and quotes before its first top-level FROM),
// and returns that FROM's index, or -1 if there is none.
func selectWidth(q string) (cols, from int) {
	cols, from = 1, -1
	topLevel(q, func(i int) bool {
		switch {
		case q[i] == ',':
			cols++
		case strings.HasPrefix(q[i:], " FROM "):
			from = i
			return false
		}
		return true
	})
	return cols, from
}

// splitColumns splits a SELECT's column list at its top-level commas.
func splitColumns(list string) []string {
	var cols []string
	start := 0
	topLevel(list, func(i int) bool {
		if list[i] == ',' {
			cols = append(cols, strings.TrimSpace(list[start:i]))
			start = i + 1
		}
		return true
	})
	return append(cols, strings.TrimSpace(list[start:]))
}

// topLevel calls at with the index of each byte of q outside quotes and
// parentheses, until at returns false.
func topLevel(q string, at func(i int) bool) {
	depth := 0
	inQuote := false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0:
			if !at(i) {
				return
			}
		}
	}
}

// readEach runs qs one after another on c.
func (s *Store) readEach(ctx context.Context, c dbtx, qs []accountQuery) error {
	for _, q := range qs {
		rows, err := c.query(ctx, q.text(s.d), q.args...)
		if err != nil {
			return err
		}
		err = eachRow(rows, q.row)
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func eachRow[R interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}](rows R, f func(rowScanner) error) error {
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readUnionPostgres runs qs on PostgreSQL as one statement, the queries
// as branches of a UNION ALL like readUnion's, with one difference:
// PostgreSQL types a UNION's columns, and resolves a nested UNION pairwise,
// so a column that is NULL in two branches before a bytea or timestamptz
// one fails ("UNION types text and bytea cannot be matched"). So a result
// column holds one type (buildUnionWide), typed from the server's
// description of each query, read once per shape. One statement is one
// round trip and one snapshot, as the batch of six it replaced, with one
// statement's server work instead of six (docs/benchmarks.md: 242 -> 156
// µs per preauth at p50).
func (s *Store) readUnionPostgres(ctx context.Context, shape int, qs []accountQuery) error {
	u := pgUnionStmts[shape].Load()
	if u == nil {
		var err error
		if u, err = s.buildUnionPostgres(ctx, qs); err != nil {
			return err
		}
		pgUnionStmts[shape].Store(u)
	}
	var args []any
	for _, q := range qs {
		args = append(args, q.args...)
	}
	rows, err := s.reader().query(ctx, u.sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return scanUnion(rows, u, qs)
}

// pgUnionStmts caches readUnionPostgres's statement per shape.
var pgUnionStmts [8]atomic.Pointer[unionStmt]

// buildUnionPostgres writes readUnionPostgres's statement for qs, asking
// the server for each query's column types.
func (s *Store) buildUnionPostgres(ctx context.Context, qs []accountQuery) (*unionStmt, error) {
	types := make([][]string, len(qs))
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pc := sc.Conn()
		for i, q := range qs {
			sd, err := pc.PgConn().Prepare(ctx, "", s.d.rebind(q.text(s.d)), nil)
			if err != nil {
				return err
			}
			for _, f := range sd.Fields {
				t, ok := pc.TypeMap().TypeForOID(f.DataTypeOID)
				if !ok {
					return fmt.Errorf("account query %d: column %s has type oid %d, unknown to pgx", i, f.Name, f.DataTypeOID)
				}
				types[i] = append(types[i], t.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return buildUnionWide(qs, types)
}

// buildUnionWide writes a UNION ALL of qs whose columns PostgreSQL can
// type: a result column holds values of one type only. Query i's j-th
// column of type T goes to the j-th column of type T (so queries share
// the columns of the types they have in common, and the statement is as
// narrow as it can be: every column a branch does not fill is one more
// NULL to project for every row); a branch fills the columns it does not
// use with NULLs cast to their type.
func buildUnionWide(qs []accountQuery, types [][]string) (*unionStmt, error) {
	// slots[T] lists the result columns of type T, in order.
	slots := map[string][]int{}
	var colType []string // the type of each result column
	positions := make([][]int, len(qs))
	for i, q := range qs {
		n, _ := selectWidth(q.sql)
		if n != len(types[i]) {
			return nil, fmt.Errorf("account query %d: %d columns, %d types", i, n, len(types[i]))
		}
		seen := map[string]int{}
		for _, t := range types[i] {
			k := seen[t]
			seen[t]++
			if k == len(slots[t]) {
				slots[t] = append(slots[t], len(colType))
				colType = append(colType, t)
			}
			positions[i] = append(positions[i], slots[t][k])
		}
	}
	var b strings.Builder
	for i, q := range qs {
		if i > 0 {
			b.WriteString("\nUNION ALL\n")
		}
		rest, ok := strings.CutPrefix(q.sql, "SELECT ")
		_, from := selectWidth(q.sql)
		if !ok || from < 0 {
			return nil, fmt.Errorf("account query %d is not a SELECT ... FROM", i)
		}
		cols, tail := splitColumns(rest[:from-len("SELECT ")]), q.sql[from:]
		if q.limit > 0 {
			// The LIMIT's subquery keeps the query's own column list;
			// the outer SELECT places its columns, named c0, c1, ...
			for j := range cols {
				cols[j] = fmt.Sprintf("%s AS c%d", cols[j], j)
			}
		}
		out := make([]string, len(colType))
		for c, t := range colType {
			out[c] = "NULL::" + t
		}
		for j, c := range positions[i] {
			if q.limit > 0 {
				out[c] = fmt.Sprintf("r.c%d", j)
			} else {
				out[c] = cols[j]
			}
		}
		if q.limit > 0 {
			fmt.Fprintf(&b, "SELECT %d, %s FROM (SELECT %s%s ORDER BY %s LIMIT %d) r", i, strings.Join(out, ", "), strings.Join(cols, ", "), tail, q.order, q.limit)
		} else {
			fmt.Fprintf(&b, "SELECT %d, %s%s", i, strings.Join(out, ", "), tail)
		}
	}
	return &unionStmt{sql: b.String(), width: len(colType), positions: positions}, nil
}
