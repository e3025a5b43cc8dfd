package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Transactions are asynchronous authentications (push, phone call). The
// writes that change one publish its events (events.go):
// TopicTransaction(id) always, TopicPhone(phoneID) when the phone's pending
// list changed (created, completed).

const txCols = `id, user_id, ikey, factor, phone_id, state, status, status_msg, push_info, type,
	display_username, ip, hostname, verification_code, created, expires, answered`

func scanTx(r rowScanner) (mfa.Transaction, error) {
	var t mfa.Transaction
	err := r.Scan(&t.ID, &t.UserID, &t.IKey, &t.Factor, &t.PhoneID, &t.State, &t.Status, &t.StatusMsg,
		&t.PushInfo, &t.Type, &t.DisplayUsername, &t.IP, &t.Hostname, &t.VerificationCode,
		scanTime{&t.Created}, scanTime{&t.Expires}, scanTime{&t.Answered})
	return t, err
}

// CreateTransaction stores a new transaction (pending unless State says
// otherwise).
func (s *Store) CreateTransaction(ctx context.Context, t mfa.Transaction) error {
	const op = "create transaction"
	state := t.State
	if state == "" {
		state = mfa.TxPending
	}
	topics := txTopics(t.ID, t.PhoneID, true)
	err := s.writeTx(ctx, op, func(c dbtx) error {
		_, err := c.exec(ctx, `INSERT INTO transactions (`+txCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.UserID, t.IKey, t.Factor, t.PhoneID, state, t.Status, t.StatusMsg, t.PushInfo, t.Type,
			t.DisplayUsername, t.IP, t.Hostname, t.VerificationCode, t.Created, t.Expires, t.Answered)
		if err != nil {
			return err
		}
		return s.notify(ctx, c, topics...)
	})
	if err != nil {
		return err
	}
	s.published(ctx, topics...)
	return nil
}

// GetTransaction returns the transaction with id.
func (s *Store) GetTransaction(ctx context.Context, id string) (mfa.Transaction, error) {
	t, err := scanTx(s.reader().row(ctx, `SELECT `+txCols+` FROM transactions WHERE id = ?`, id))
	if err != nil {
		return mfa.Transaction{}, s.dbErr(ctx, "get transaction", err, notFound("transaction not found"))
	}
	return t, nil
}

// SetTransactionStatus changes the status words of a pending transaction;
// Conflict if it is no longer pending.
func (s *Store) SetTransactionStatus(ctx context.Context, id, status, msg string) error {
	const op = "set transaction status"
	topics := txTopics(id, "", false)
	err := s.writeTx(ctx, op, func(c dbtx) error {
		n, err := c.execN(ctx, `UPDATE transactions SET status = ?, status_msg = ? WHERE id = ? AND state = 'pending'`, status, msg, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return s.txNotPending(ctx, c, op, id)
		}
		return s.notify(ctx, c, topics...)
	})
	if err != nil {
		return err
	}
	s.published(ctx, topics...)
	return nil
}

// txNotPending explains why a pending-only update changed nothing.
func (s *Store) txNotPending(ctx context.Context, c dbtx, op, id string) error {
	ok, err := c.exists(ctx, `SELECT 1 FROM transactions WHERE id = ?`, id)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if !ok {
		return notFoundErr("transaction not found")
	}
	return conflictErr("transaction is no longer pending")
}

// CompleteTransaction moves a pending transaction to its final state with
// one conditional UPDATE (so exactly one of concurrent completions wins)
// and appends log in the same transaction, which also sends the events.
func (s *Store) CompleteTransaction(ctx context.Context, id string, out mfa.TxOutcome, log *mfa.AuthLogEntry) (mfa.Transaction, error) {
	const op = "complete transaction"
	if out.State != mfa.TxAllow && out.State != mfa.TxDeny {
		return mfa.Transaction{}, mfa.InvalidField("state", "a transaction ends in allow or deny")
	}
	at := out.At
	if at.IsZero() {
		at = s.now()
	}
	var t mfa.Transaction
	err := s.writeTx(ctx, op, func(c dbtx) error {
		var err error
		t, err = scanTx(c.row(ctx, `UPDATE transactions SET state = ?, status = ?, status_msg = ?, answered = ?
			WHERE id = ? AND state = 'pending' RETURNING `+txCols, out.State, out.Status, out.StatusMsg, at, id))
		if isNoRows(err) {
			return s.txNotPending(ctx, c, op, id)
		}
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		if t.UserID != "" {
			switch {
			case out.UserSuccess:
				// The user may have been deleted meanwhile: no row is fine.
				if _, err := c.exec(ctx, `UPDATE users SET failed_attempts = 0, last_login = ? WHERE id = ?`, at, t.UserID); err != nil {
					return err
				}
			case out.UserFailure:
				if _, err := s.recordFailure(ctx, c, t.UserID, out.Threshold, at); err != nil && !errors.Is(err, mfa.ErrNotFound) {
					return err
				}
			}
		}
		if log != nil {
			e := *log
			if e.Time.IsZero() {
				e.Time = at
			}
			if err := s.insertAuthLog(ctx, c, e); err != nil {
				return err
			}
		}
		return s.notify(ctx, c, txTopics(t.ID, t.PhoneID, true)...)
	})
	if err != nil {
		return mfa.Transaction{}, err
	}
	s.published(ctx, txTopics(t.ID, t.PhoneID, true)...)
	return t, nil
}

// PendingTransactions lists the phone's unexpired pending transactions in
// creation order.
func (s *Store) PendingTransactions(ctx context.Context, phoneID string, now time.Time) ([]mfa.Transaction, error) {
	return queryAll(ctx, s, s.reader(), "pending transactions", `SELECT `+txCols+` FROM transactions
		WHERE phone_id = ? AND state = 'pending' AND (expires IS NULL OR expires > ?) ORDER BY created, id`,
		[]any{phoneID, now}, scanTx)
}

// ExpiredTransactions lists pending transactions whose Expires <= now,
// oldest expiry first, at most limit (<= 0: no limit).
func (s *Store) ExpiredTransactions(ctx context.Context, now time.Time, limit int) ([]mfa.Transaction, error) {
	return queryAll(ctx, s, s.reader(), "expired transactions", `SELECT `+txCols+` FROM transactions
		WHERE state = 'pending' AND expires <= ? ORDER BY expires, id`+s.d.page(mfa.Page{Limit: limit}),
		[]any{now}, scanTx)
}

// DeleteFinishedTransactions deletes allowed and denied transactions whose
// Expires is before before.
func (s *Store) DeleteFinishedTransactions(ctx context.Context, before time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM transactions WHERE state <> 'pending' AND expires < ?`, before)
	if err != nil {
		return 0, s.dbErr(ctx, "delete finished transactions", err)
	}
	return int(n), nil
}
