package authflow_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestReapTransactions(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	flow := authflow.New(st, func() time.Time { return now }, rand.Reader, slog.New(slog.NewTextHandler(io.Discard, nil)))
	u := mfatest.NewUser(t, st)
	tx := func(expires time.Time, state mfa.TxState) string {
		t.Helper()
		id := mfatest.NewTxID(t)
		if err := st.CreateTransaction(t.Context(), mfa.Transaction{ID: id, UserID: u.ID, Factor: mfa.FactorPasscode,
			State: mfa.TxPending, Status: "pending", Created: expires.Add(-time.Minute), Expires: expires}); err != nil {
			t.Fatal(err)
		}
		if state != mfa.TxPending {
			if _, err := st.CompleteTransaction(t.Context(), id, mfa.TxOutcome{State: state, Status: string(state), At: now}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	// A finished transaction whose time is up goes, and so does a pending
	// one whose time is up, after it ends as a timeout with its log record.
	gone := []string{tx(now.Add(-time.Second), mfa.TxAllow), tx(now.Add(-time.Second), mfa.TxPending)}
	kept := []string{tx(now.Add(time.Minute), mfa.TxDeny), tx(now.Add(time.Minute), mfa.TxPending)}

	n, err := flow.ReapTransactions(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("ReapTransactions() = %d, %v; want 2, nil", n, err)
	}
	for _, id := range gone {
		if _, err := st.GetTransaction(t.Context(), id); mfa.KindOf(err) != mfa.NotFound {
			t.Errorf("GetTransaction(reaped) = %v, want NotFound", err)
		}
	}
	logs, _, err := st.ListAuthLog(t.Context(), mfa.AuthLogFilter{})
	if err != nil || len(logs) != 1 || logs[0].TxID != gone[1] || logs[0].Reason != authflow.ReasonNoResponse {
		t.Errorf("auth log = %+v, %v; want one no_response record for the timed-out transaction", logs, err)
	}
	for _, id := range kept {
		if _, err := st.GetTransaction(t.Context(), id); err != nil {
			t.Errorf("GetTransaction(%s) = %v, want it kept", id, err)
		}
	}
}
