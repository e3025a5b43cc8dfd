package authflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Phone calls: the voice carrier places the call the phone factor asks
// for (call), speaks the prompt and reports the keypress to AnswerCall
// ("1" approves, "9" reports fraud) or, when the call ends without one,
// to EndCall. A call nobody answers at all ends, like a push, when the
// transaction times out (Settings.PushTimeout, 60 s by default).

// DefaultCallPrompt is what a call says unless WithCallPrompt sets
// another. {application} and {username} are replaced.
const DefaultCallPrompt = "This is twostep. A login to {application} was requested for {username}. " +
	"Press 1 to approve. Press 9 to report fraud."

// WithCallPrompt sets what a phone call says: {application} becomes the
// integration's name and {username} the user's. Empty keeps
// DefaultCallPrompt.
func WithCallPrompt(text string) Option {
	return func(s *Service) { s.callPrompt = strings.TrimSpace(text) }
}

// callText is the prompt for a login to app by username.
func (s *Service) callText(app, username string) string {
	if app == "" {
		app = "an application"
	}
	t := s.callPrompt
	if t == "" {
		t = DefaultCallPrompt
	}
	return strings.NewReplacer("{application}", app, "{username}", username).Replace(t)
}

// CallEnd is how a call ended without a keypress.
type CallEnd string

// Call endings (the carrier's report, in Twilio's words where it has one).
const (
	CallHangUp   CallEnd = "hangup"    // answered, then hung up (or the prompt ran out) without a key
	CallNoAnswer CallEnd = "no-answer" // rang out, or went unanswered
	CallBusy     CallEnd = "busy"
	CallFailed   CallEnd = "failed" // the carrier could not connect it
)

// Messages of calls that ended without a keypress.
const (
	MsgCallHangUp    = "The call ended without a keypress."
	MsgCallNoAnswer  = "The call was not answered."
	MsgCallBusy      = "The line was busy."
	MsgCallFailed    = "Could not place the phone call."
	ReasonCallFailed = "call_failed"
)

// ParseCallEnd reads a CallEnd; ok is false for an unknown word.
func ParseCallEnd(s string) (CallEnd, bool) {
	switch e := CallEnd(s); e {
	case CallHangUp, CallNoAnswer, CallBusy, CallFailed:
		return e, true
	}
	return "", false
}

// EndCall ends the pending call of transaction txid that ended without a
// keypress: deny, with one auth log record (factor phone_call). A hang-up
// and an unanswered call count as failures, like a timeout (reasons
// no_keys_pressed and no_response); a busy line or a call the carrier
// could not connect is an error (call_failed) that does not. NotFound for
// a transaction that is not a call; Conflict when the call was already
// answered or timed out, which keeps its answer.
func (s *Service) EndCall(ctx context.Context, txid string, how CallEnd) error {
	tx, err := s.store.GetTransaction(ctx, txid)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && tx.Factor != mfa.FactorPhone) {
		return mfa.E(mfa.NotFound, "transaction not found")
	}
	if err != nil {
		return fmt.Errorf("end call: %w", err)
	}
	var (
		out    mfa.TxOutcome
		result mfa.AuthResult
		reason string
	)
	switch how {
	case CallHangUp:
		out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusDeny, StatusMsg: MsgCallHangUp}
		result, reason = mfa.ResultFailure, ReasonNoKeysPressed
	case CallNoAnswer:
		out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusTimeout, StatusMsg: MsgCallNoAnswer}
		result, reason = mfa.ResultFailure, ReasonNoResponse
	case CallBusy:
		out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusPushFail, StatusMsg: MsgCallBusy}
		result, reason = mfa.ResultError, ReasonCallFailed
	case CallFailed:
		out = mfa.TxOutcome{State: mfa.TxDeny, Status: StatusPushFail, StatusMsg: MsgCallFailed}
		result, reason = mfa.ResultError, ReasonCallFailed
	default:
		return mfa.InvalidField("call_status", "unknown call ending")
	}
	if tx.State != mfa.TxPending {
		return mfa.E(mfa.Conflict, "the call has already ended")
	}
	ok, err := s.complete(ctx, tx, out, result, reason)
	if err != nil {
		return fmt.Errorf("end call: %w", err)
	}
	if !ok {
		return mfa.E(mfa.Conflict, "the call has already ended")
	}
	s.log.InfoContext(ctx, "call ended without a keypress", "txid", tx.ID, "user_id", tx.UserID, "result", string(result), "reason", reason)
	return nil
}
