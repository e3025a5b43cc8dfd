package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// The administrator and telephony logs: append-only, ids assigned by the
// database, listed in id order.

// AppendAdminLog appends a record (a zero Time is the store's now) and
// returns its id.
func (s *Store) AppendAdminLog(ctx context.Context, e mfa.AdminLogEntry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	var id int64
	err := s.writer().row(ctx, `INSERT INTO admin_log (ts, actor, actor_kind, action, object_type, object, description)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Time, e.Actor, e.ActorKind, e.Action, e.ObjectType, e.Object, e.Description).Scan(&id)
	if err != nil {
		return 0, s.dbErr(ctx, "append admin log", err)
	}
	return id, nil
}

// logWhere is the WHERE clause of a LogFilter.
func logWhere(f mfa.LogFilter) *where {
	var w where
	if !f.MinTime.IsZero() {
		w.add(`ts >= ?`, f.MinTime)
	}
	if !f.MaxTime.IsZero() {
		w.add(`ts <= ?`, f.MaxTime)
	}
	if f.AfterID > 0 {
		if f.Descending {
			w.add(`id < ?`, f.AfterID)
		} else {
			w.add(`id > ?`, f.AfterID)
		}
	}
	return &w
}

// logOrder is a LogFilter's ORDER BY: id order, newest first when
// Descending.
func logOrder(f mfa.LogFilter) string {
	if f.Descending {
		return ` ORDER BY id DESC`
	}
	return ` ORDER BY id`
}

// ListAdminLog lists records matching f in id order, at most f.Limit
// (<= 0: no limit).
func (s *Store) ListAdminLog(ctx context.Context, f mfa.LogFilter) ([]mfa.AdminLogEntry, error) {
	w := logWhere(f)
	return queryAll(ctx, s, s.reader(), "list admin log", `SELECT id, ts, actor, actor_kind, action, object_type, object,
		description FROM admin_log`+w.String()+logOrder(f)+s.d.page(mfa.Page{Limit: f.Limit}), w.args,
		func(r rowScanner) (mfa.AdminLogEntry, error) {
			var e mfa.AdminLogEntry
			err := r.Scan(&e.ID, scanTime{&e.Time}, &e.Actor, &e.ActorKind, &e.Action, &e.ObjectType, &e.Object, &e.Description)
			return e, err
		})
}

// AppendTelephonyLog appends a record (a zero Time is the store's now) and
// returns its id.
func (s *Store) AppendTelephonyLog(ctx context.Context, e mfa.TelephonyLogEntry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	var id int64
	err := s.writer().row(ctx, `INSERT INTO telephony_log (ts, type, context, phone, user_id, credits, status, carrier_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Time, e.Type, e.Context, e.Phone, e.UserID, e.Credits, e.Status, e.CarrierID).Scan(&id)
	if err != nil {
		return 0, s.dbErr(ctx, "append telephony log", err)
	}
	return id, nil
}

// ListTelephonyLog lists records matching f in id order, at most f.Limit
// (<= 0: no limit).
func (s *Store) ListTelephonyLog(ctx context.Context, f mfa.LogFilter) ([]mfa.TelephonyLogEntry, error) {
	w := logWhere(f)
	return queryAll(ctx, s, s.reader(), "list telephony log", `SELECT id, ts, type, context, phone, user_id, credits,
		status, carrier_id FROM telephony_log`+w.String()+logOrder(f)+s.d.page(mfa.Page{Limit: f.Limit}), w.args,
		func(r rowScanner) (mfa.TelephonyLogEntry, error) {
			var e mfa.TelephonyLogEntry
			err := r.Scan(&e.ID, scanTime{&e.Time}, &e.Type, &e.Context, &e.Phone, &e.UserID, &e.Credits,
				&e.Status, &e.CarrierID)
			return e, err
		})
}

// statusRankSQL is the SQL expression of the stored status's rank
// (mfa.TelephonyStatusRank; 0 for none or a word it does not know).
func statusRankSQL() string {
	var b strings.Builder
	b.WriteString("CASE status")
	for _, st := range mfa.TelephonyStatuses() {
		r, _ := mfa.TelephonyStatusRank(st)
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", st, r) // fixed words without quotes
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}

// SetTelephonyStatus records status on the records with carrierID in one
// conditional UPDATE that changes only records whose status ranks lower,
// so racing callbacks leave the furthest status (PostgreSQL re-checks the
// WHERE on the row it waited for; SQLite has one writer).
func (s *Store) SetTelephonyStatus(ctx context.Context, carrierID, status string) error {
	const op = "set telephony status"
	rank, err := mfa.CheckTelephonyStatus(carrierID, status)
	if err != nil {
		return err
	}
	n, err := s.writer().execN(ctx, `UPDATE telephony_log SET status = ?
		WHERE carrier_id = ? AND `+statusRankSQL()+` < ?`, status, carrierID, rank)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = s.writer().row(ctx, `SELECT 1 FROM telephony_log WHERE carrier_id = ? LIMIT 1`, carrierID).Scan(&one)
	if isNoRows(err) {
		return notFoundErr("no telephony log record with this carrier id")
	}
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	return nil // a status not newer than the stored one
}
