package authflow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
)

// TestReportLogin: a user reports one of their own logins; it is logged
// as fraud and the fraud address is told; another user's login, or an
// unknown one, is NotFound and logs nothing.
func TestReportLogin(t *testing.T) {
	n := &mfatest.Notifier{}
	e := newEnv(t, authflow.WithNotifier(n))
	alice, bob := e.user("alice", mfa.StatusActive), e.user("bob", mfa.StatusActive)
	e.app(alice, 0, false)
	e.app(bob, 0, false)
	e.settings(func(s *mfa.Settings) { s.FraudEmail, s.FraudEmailEnabled = "security@example.com", true })
	e.auth("alice", "000000")
	e.auth("bob", "000000")
	orig, bobs := e.lastLog(alice.ID), e.lastLog(bob.ID)

	for _, txid := range []string{bobs.TxID, "nosuchtx", ""} {
		if err := e.Svc.ReportLogin(e.ctx, alice.ID, txid, "198.51.100.9"); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("ReportLogin(%q) = %v, want NotFound", txid, err)
		}
	}
	if err := e.Svc.ReportLogin(e.ctx, alice.ID, orig.TxID, "198.51.100.9"); err != nil {
		t.Fatal(err)
	}
	got := e.lastLog(alice.ID)
	if got.Result != mfa.ResultFraud || got.Reason != authflow.ReasonUserReported || got.TxID == orig.TxID ||
		got.IKey != orig.IKey || got.IP != orig.IP || got.Hostname != "reported from 198.51.100.9" {
		t.Errorf("report record = %+v", got)
	}
	if len(e.logs(alice.ID)) != 2 || len(e.logs(bob.ID)) != 1 {
		t.Errorf("records: alice %d, bob %d; want 2 and 1", len(e.logs(alice.ID)), len(e.logs(bob.ID)))
	}
	msgs := n.Messages()
	if len(msgs) != 1 || msgs[0].To != "security@example.com" || msgs[0].Subject != authflow.SubjectReported+"alice" ||
		!strings.Contains(string(msgs[0].Body), orig.TxID) || !strings.Contains(string(msgs[0].Body), "198.51.100.9") {
		t.Errorf("notice = %+v", msgs)
	}
}
