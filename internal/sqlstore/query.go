package sqlstore

import (
	"context"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// where collects the conditions and arguments of a WHERE clause.
type where struct {
	conds []string
	args  []any
}

// add appends a condition with its arguments.
func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in appends "col IN (?, ...)" for a non-empty list; an empty list does not
// filter.
func in[T any](w *where, col string, vals []T) {
	if len(vals) == 0 {
		return
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	w.add(col+" IN ("+placeholders(len(vals))+")", args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// list runs a page query and its count: selectCols/from/w/order make
// "SELECT selectCols FROM from WHERE ... ORDER BY order LIMIT ...", and
// the total is COUNT(*) over the same FROM and WHERE.
func list[T any](ctx context.Context, s *Store, op, selectCols, from string, w *where, order string, p mfa.Page,
	scan func(rowScanner) (T, error)) ([]T, int, error) {
	c := s.reader()
	var total int
	if err := c.row(ctx, "SELECT COUNT(*) FROM "+from+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, s.dbErr(ctx, op, err)
	}
	items, err := queryAll(ctx, s, c, op, "SELECT "+selectCols+" FROM "+from+w.String()+" ORDER BY "+order+s.d.page(p), w.args, scan)
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// queryAll runs a query and scans every row.
func queryAll[T any](ctx context.Context, s *Store, c dbtx, op, query string, args []any,
	scan func(rowScanner) (T, error)) ([]T, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	defer rows.Close()
	var items []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, s.dbErr(ctx, op, err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	return items, nil
}

// affected maps a statement's changed-row count: zero rows is NotFound
// with msg.
func (s *Store) affected(ctx context.Context, op string, n int64, err error, msg string, opts ...errOpt) error {
	if err != nil {
		return s.dbErr(ctx, op, err, opts...)
	}
	if n == 0 {
		return notFoundErr(msg)
	}
	return nil
}
