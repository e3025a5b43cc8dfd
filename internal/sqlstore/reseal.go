package sqlstore

import (
	"context"
	"fmt"
)

// Reseal re-seals, under the Sealer's current key, every sealed value that
// NeedsReseal, in one transaction, and reports how many values it changed
// (twostepd rekey). Rows are locked as they are read (PostgreSQL; SQLite's
// single writer excludes other writers), so a concurrent update of a
// secret is neither lost nor overwritten. The code-hash key is re-sealed
// like any other value but does not change, so stored bypass and SMS code
// hashes stay valid.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	const op = "reseal"
	changed := 0
	defer s.configCommitted(ctx) // integration skeys are re-sealed
	err := s.writeTx(ctx, op, func(c dbtx) error {
		changed = 0 // a retried transaction starts over
		for _, col := range sealedColumns {
			n, err := s.resealColumn(ctx, c, col.table, col.key, col.column)
			if err != nil {
				return err
			}
			changed += n
		}
		return s.configChanged(ctx, c)
	})
	if err != nil {
		return 0, err
	}
	return changed, nil
}

func (s *Store) resealColumn(ctx context.Context, c dbtx, table, key, column string) (int, error) {
	op := "reseal " + table + "." + column
	type row struct {
		key    string
		sealed []byte
	}
	// Read everything first: a connection cannot run the UPDATEs while
	// the SELECT's rows are open.
	rows, err := queryAll(ctx, s, c, op,
		`SELECT `+key+`, `+column+` FROM `+table+` WHERE `+column+` IS NOT NULL ORDER BY `+key+s.d.forUpdate, nil,
		func(r rowScanner) (row, error) {
			var x row
			err := r.Scan(&x.key, &x.sealed)
			return x, err
		})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		if !s.sealer.NeedsReseal(r.sealed) {
			continue
		}
		ad := aad(table, column, r.key)
		plain, err := s.sealer.Open(r.sealed, ad)
		if err != nil {
			return 0, fmt.Errorf("%s: open %s: %w", op, r.key, err)
		}
		sealed, err := s.sealer.Seal(plain, ad)
		clear(plain)
		if err != nil {
			return 0, fmt.Errorf("%s: seal %s: %w", op, r.key, err)
		}
		if _, err := c.exec(ctx, `UPDATE `+table+` SET `+column+` = ? WHERE `+key+` = ?`, sealed, r.key); err != nil {
			return 0, s.dbErr(ctx, op, err)
		}
		n++
	}
	return n, nil
}
