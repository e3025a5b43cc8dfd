package sqlstore

import (
	"context"
	"slices"

	"github.com/twostep-auth/twostep/internal/seal"
)

// SealedKeyIDs counts the sealed values by the id of the master key they
// are sealed under (seal.KeyID), over every sealed column; a value whose
// key id cannot be read counts under "". twostepd rekey --retire refuses
// to drop a key that still has values. It reads every sealed value: an
// operator's command, not a request path. An unmigrated database has none.
func (s *Store) SealedKeyIDs(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	if cur, _, err := s.SchemaVersion(ctx); err != nil || cur == 0 {
		return out, err
	}
	for _, col := range sealedColumns {
		op := "count sealed keys " + col.table + "." + col.column
		ids, err := queryAll(ctx, s, s.reader(), op,
			`SELECT `+col.column+` FROM `+col.table+` WHERE `+col.column+` IS NOT NULL`, nil,
			func(r rowScanner) (string, error) {
				var b []byte
				if err := r.Scan(&b); err != nil {
					return "", err
				}
				id, _ := seal.KeyID(b)
				return id, nil
			})
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[id]++
		}
	}
	return out, nil
}

// KeyCheck is what CheckKeys found: the master key ids the database's
// server keys are sealed under, and those of them this store's Sealer
// cannot open.
type KeyCheck struct {
	KeyIDs     []string // sorted; empty for a database not yet initialised
	Unopenable []string // sorted
}

// CheckKeys tries to open the database's server keys (the code-hash key,
// created with the database and re-sealed by every rekey) with the
// Sealer, so that a node given the wrong master key can refuse to start,
// naming the key ids, before it writes anything. It reads a few rows.
func (s *Store) CheckKeys(ctx context.Context) (KeyCheck, error) {
	var kc KeyCheck
	if cur, _, err := s.SchemaVersion(ctx); err != nil || cur == 0 {
		return kc, err
	}
	type row struct {
		name   string
		sealed []byte
	}
	rows, err := queryAll(ctx, s, s.reader(), "check master keys",
		`SELECT name, sealed_value FROM server_keys ORDER BY name`, nil,
		func(r rowScanner) (row, error) {
			var x row
			err := r.Scan(&x.name, &x.sealed)
			return x, err
		})
	if err != nil {
		return kc, err
	}
	for _, r := range rows {
		id, _ := seal.KeyID(r.sealed)
		if !slices.Contains(kc.KeyIDs, id) {
			kc.KeyIDs = append(kc.KeyIDs, id)
		}
		plain, err := s.sealer.Open(r.sealed, aad("server_keys", "sealed_value", r.name))
		clear(plain)
		if err != nil && !slices.Contains(kc.Unopenable, id) {
			kc.Unopenable = append(kc.Unopenable, id)
		}
	}
	slices.Sort(kc.KeyIDs)
	slices.Sort(kc.Unopenable)
	return kc, nil
}
