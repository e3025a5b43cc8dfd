package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// accountQuery is one of the reads of LoginAccount: its query (with ?
// placeholders), its arguments and what to do with each row.
type accountQuery struct {
	sql  string
	args []any
	row  func(rowScanner) error
}

// LoginAccount reads a login's user with their phones, tokens, groups and
// active authenticators, and what aq asks for besides (see
// mfa.UserStore). The queries are keyed by the user id, or by a subquery
// on the name, so that none waits for another's answer: on PostgreSQL
// they go as one pgx batch (one round trip, one implicit transaction, so
// one snapshot). On SQLite, where a query is a function call, they run one
// after another on the read pool with its prepared statements: wrapping
// them in a read transaction made them about 0.8 times as fast
// (BenchmarkLoginRead), for BEGIN, COMMIT and re-binding each prepared
// statement to the transaction.
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
		{userQ, []any{key}, func(r rowScanner) (err error) {
			a.User, err = scanUser(r)
			found = err == nil
			return err
		}},
		{`SELECT ` + phoneCols + ` FROM phones p JOIN user_phones up ON up.phone_id = p.id
			WHERE up.user_id = ` + who + ` ORDER BY p.created, p.id`, []any{key}, func(r rowScanner) error {
			p, err := scanPhone(r)
			a.Phones = append(a.Phones, p)
			return err
		}},
		{`SELECT ` + tokenCols + ` FROM tokens t JOIN user_tokens ut ON ut.token_id = t.id
			WHERE ut.user_id = ` + who + ` ORDER BY t.created, t.id`, []any{key}, func(r rowScanner) error {
			t, err := s.scanToken(r)
			a.Tokens = append(a.Tokens, t)
			return err
		}},
		{`SELECT ` + groupCols + ` FROM groups g JOIN user_groups ug ON ug.group_id = g.id
			WHERE ug.user_id = ` + who + ` ORDER BY g.created, g.id`, []any{key}, func(r rowScanner) error {
			g, err := scanGroup(r)
			a.Groups = append(a.Groups, g)
			return err
		}},
		{`SELECT ` + authenticatorCols + ` FROM authenticators a JOIN user_phones up ON up.phone_id = a.phone_id
			WHERE up.user_id = ` + who + ` AND a.status = 'active' ORDER BY a.created, a.id`, []any{key}, func(r rowScanner) error {
			au, err := s.scanAuthenticator(r)
			a.Authenticators = append(a.Authenticators, au)
			return err
		}},
	}
	if aq.Revoked {
		qs = append(qs, accountQuery{`SELECT ` + authenticatorCols + ` FROM authenticators a
			WHERE a.status = 'revoked' AND (a.user_id = ` + who + `
				OR a.phone_id IN (SELECT up.phone_id FROM user_phones up WHERE up.user_id = ` + who + `))
			ORDER BY a.created DESC, a.id DESC` + s.d.page(mfa.Page{Limit: mfa.RevokedLimit}), []any{key, key}, func(r rowScanner) error {
			au, err := s.scanAuthenticator(r)
			a.Revoked = append(a.Revoked, au)
			return err
		}})
	}
	if !aq.SMSAt.IsZero() {
		qs = append(qs, accountQuery{`SELECT b.phone_id, MIN(c.idx) FROM sms_codes c JOIN sms_batches b ON b.id = c.batch_id
			WHERE b.user_id = ` + who + ` AND (b.expires IS NULL OR b.expires > ?) AND c.used_at IS NULL
			GROUP BY b.phone_id`, []any{key, aq.SMSAt}, func(r rowScanner) error {
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
	var err error
	switch {
	case s.txFrom(ctx) != nil:
		err = s.readEach(ctx, s.reader(), qs) // joins the Atomic transaction
	case s.d == postgresDialect:
		err = s.readBatch(ctx, qs)
	default:
		err = s.readEach(ctx, s.reader(), qs)
	}
	if err != nil {
		return mfa.Account{}, s.dbErr(ctx, op, err)
	}
	if !found {
		return mfa.Account{}, notFoundErr("user not found")
	}
	return a, nil
}

// readEach runs qs one after another on c.
func (s *Store) readEach(ctx context.Context, c dbtx, qs []accountQuery) error {
	for _, q := range qs {
		rows, err := c.query(ctx, q.sql, q.args...)
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

// readBatch sends qs to PostgreSQL as one pgx batch on one pooled
// connection: one round trip. pgx prepares and caches each statement per
// connection, as it does for single queries.
func (s *Store) readBatch(ctx context.Context, qs []accountQuery) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		b := &pgx.Batch{}
		for _, q := range qs {
			args, err := s.d.args(q.args)
			if err != nil {
				return err
			}
			b.Queue(s.d.rebind(q.sql), args...)
		}
		br := sc.Conn().SendBatch(ctx, b)
		for _, q := range qs {
			rows, err := br.Query()
			if err != nil {
				br.Close()
				return err
			}
			err = eachRow(rows, q.row)
			rows.Close()
			if err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
}
