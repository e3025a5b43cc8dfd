package sqlstore

import (
	"context"

	"github.com/twostep-auth/twostep/internal/mfa"
)

const authLogCols = `ts, txid, event_type, user_id, username, ikey, integration_name, factor, result, reason,
	ip, hostname, device_id, device_name`

func scanAuthLog(r rowScanner) (mfa.AuthLogEntry, error) {
	var e mfa.AuthLogEntry
	err := r.Scan(scanTime{&e.Time}, &e.TxID, &e.EventType, &e.UserID, &e.Username, &e.IKey, &e.IntegrationName,
		&e.Factor, &e.Result, &e.Reason, &e.IP, &e.Hostname, &e.DeviceID, &e.DeviceName)
	return e, err
}

func (s *Store) insertAuthLog(ctx context.Context, c dbtx, e mfa.AuthLogEntry) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := c.exec(ctx, `INSERT INTO auth_log (`+authLogCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Time, e.TxID, e.EventType, e.UserID, e.Username, e.IKey, e.IntegrationName, e.Factor, e.Result, e.Reason,
		e.IP, e.Hostname, e.DeviceID, e.DeviceName)
	return s.dbErr(ctx, "append auth log", err)
}

// AppendAuthLog appends one record (a zero Time is the store's now).
func (s *Store) AppendAuthLog(ctx context.Context, e mfa.AuthLogEntry) error {
	return s.insertAuthLog(ctx, s.writer(), e)
}

// ListAuthLog returns records matching f in (Time, TxID) order (descending
// if f.Descending), strictly after the cursor (AfterTime, AfterTxID) in
// that order when AfterTime is set, at most f.Limit (<= 0: no limit), and
// the number of records matching f ignoring the cursor and the limit.
func (s *Store) ListAuthLog(ctx context.Context, f mfa.AuthLogFilter) ([]mfa.AuthLogEntry, int, error) {
	const op = "list auth log"
	var w where
	if !f.MinTime.IsZero() {
		w.add(`ts >= ?`, f.MinTime)
	}
	if !f.MaxTime.IsZero() {
		w.add(`ts <= ?`, f.MaxTime)
	}
	in(&w, "user_id", f.UserIDs)
	in(&w, "ikey", f.IKeys)
	in(&w, "result", f.Results)
	in(&w, "factor", f.Factors)
	in(&w, "reason", f.Reasons)
	in(&w, "txid", f.TxIDs)
	in(&w, "event_type", f.EventTypes)
	in(&w, "device_id", f.DeviceIDs)

	c := s.reader()
	var total int
	if err := c.row(ctx, `SELECT COUNT(*) FROM auth_log`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, s.dbErr(ctx, op, err)
	}

	order := " ORDER BY ts, txid, seq"
	cmp := ">"
	if f.Descending {
		order = " ORDER BY ts DESC, txid DESC, seq DESC"
		cmp = "<"
	}
	if !f.AfterTime.IsZero() {
		w.add(`(ts `+cmp+` ? OR (ts = ? AND txid `+cmp+` ?))`, f.AfterTime, f.AfterTime, f.AfterTxID)
	}
	entries, err := queryAll(ctx, s, c, op, `SELECT `+authLogCols+` FROM auth_log`+w.String()+order+
		s.d.page(mfa.Page{Limit: f.Limit}), w.args, scanAuthLog)
	if err != nil {
		return nil, 0, err
	}
	return entries, total, nil
}
