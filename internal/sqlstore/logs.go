package sqlstore

import (
	"context"

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
	err := s.writer().row(ctx, `INSERT INTO telephony_log (ts, type, context, phone, user_id, credits)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Time, e.Type, e.Context, e.Phone, e.UserID, e.Credits).Scan(&id)
	if err != nil {
		return 0, s.dbErr(ctx, "append telephony log", err)
	}
	return id, nil
}

// ListTelephonyLog lists records matching f in id order, at most f.Limit
// (<= 0: no limit).
func (s *Store) ListTelephonyLog(ctx context.Context, f mfa.LogFilter) ([]mfa.TelephonyLogEntry, error) {
	w := logWhere(f)
	return queryAll(ctx, s, s.reader(), "list telephony log", `SELECT id, ts, type, context, phone, user_id, credits
		FROM telephony_log`+w.String()+logOrder(f)+s.d.page(mfa.Page{Limit: f.Limit}), w.args,
		func(r rowScanner) (mfa.TelephonyLogEntry, error) {
			var e mfa.TelephonyLogEntry
			err := r.Scan(&e.ID, scanTime{&e.Time}, &e.Type, &e.Context, &e.Phone, &e.UserID, &e.Credits)
			return e, err
		})
}
