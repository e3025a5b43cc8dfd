package authflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// ReasonUserReported is the auth log reason of a login its user reported,
// after the fact, as one they did not make (the portal's "I didn't do
// this").
const ReasonUserReported = "user_reported_fraud"

// SubjectReported starts the subject of the email to the fraud address
// when a user reports a past login.
const SubjectReported = "twostep: login reported as fraudulent by "

// ReportLogin records that user userID did not make the login whose auth
// log record is txid: one new auth log record with result fraud (reason
// ReasonUserReported, the reported login's application, factor, device
// and address; the reporter's address in Hostname as "reported from
// <ip>"), and an email to the fraud address when configured, as for a push
// marked fraudulent. NotFound unless txid is one of the user's own
// records.
func (s *Service) ReportLogin(ctx context.Context, userID, txid, ip string) error {
	if userID == "" || txid == "" || len(txid) > 64 {
		return mfa.E(mfa.NotFound, "That login was not found.")
	}
	logs, _, err := s.store.ListAuthLog(ctx, mfa.AuthLogFilter{UserIDs: []string{userID}, TxIDs: []string{txid}, Limit: 1})
	if err != nil {
		return fmt.Errorf("report login: %w", err)
	}
	if len(logs) == 0 {
		return mfa.E(mfa.NotFound, "That login was not found.")
	}
	orig := logs[0]
	newTx, err := s.newTxID()
	if err != nil {
		return err
	}
	now := s.now()
	e := orig
	e.TxID, e.Time, e.Result, e.Reason = newTx, now, mfa.ResultFraud, ReasonUserReported
	e.Hostname = "reported from " + ip
	if err := s.store.AppendAuthLog(ctx, e); err != nil {
		return fmt.Errorf("report login: %w", err)
	}
	s.log.WarnContext(ctx, "user reported a login as fraudulent", reqid.Key, reqid.From(ctx), "user_id", userID,
		"txid", orig.TxID, "remote_ip", ip)
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return fmt.Errorf("report login: %w", err)
	}
	if !st.FraudEmailEnabled || st.FraudEmail == "" || s.notifier == nil {
		return nil
	}
	body := fmt.Sprintf("A user reported a login as one they did not make.\n\nUser: %s\nApplication: %s\nMethod: %s\nResult: %s\nClient IP: %s\nTime: %s\nTransaction: %s\n\nReported from: %s at %s\n",
		orig.Username, orig.IntegrationName, orig.Factor, orig.Result, orig.IP, orig.Time.UTC().Format(time.RFC3339), orig.TxID,
		ip, now.UTC().Format(time.RFC3339))
	m := mfa.Message{Channel: mfa.ChannelEmail, To: st.FraudEmail, Subject: SubjectReported + orig.Username,
		Body: mfa.Passcode(body), Context: "fraud", UserID: userID, TxID: orig.TxID}
	if err := s.notifier.Send(context.WithoutCancel(ctx), m); err != nil && !errors.Is(err, context.Canceled) {
		s.log.ErrorContext(ctx, "fraud report: email", reqid.Key, reqid.From(ctx), "txid", orig.TxID, "err", err)
	}
	return nil
}
