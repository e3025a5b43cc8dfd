package authflow

import (
	"context"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Decided async answers. A client that asks for an asynchronous auth
// (AuthRequest.Async: the Auth API's async=1, the legacy /rest/v1/auth's
// async=1, a browser prompt that polls) insists on a txid, also when the
// answer is decided at once (a passcode, an SMS request, a deny). Auth then
// keeps that answer as an already completed transaction, which AuthStatus
// answers for DecidedTxLifetime, and returns its txid with the answer, as
// Duo does for every async auth. Front ends never build transactions or
// txids themselves.

// DecidedTxLifetime is how long AuthStatus answers the txid of an answer
// that was decided at once.
const DecidedTxLifetime = 5 * time.Minute

// keepDecided stores res, decided at once for req, as a completed
// transaction and returns res with its TxID.
func (s *Service) keepDecided(ctx context.Context, req AuthRequest, res AuthResult) (AuthResult, error) {
	txid, err := s.newTxID()
	if err != nil {
		return AuthResult{}, err
	}
	now := s.now()
	state := mfa.TxDeny
	if res.Result == ResultAllow {
		state = mfa.TxAllow
	}
	if err := s.store.CreateTransaction(ctx, mfa.Transaction{
		ID: txid, IKey: req.Integration.IKey, Factor: mfa.FactorPasscode, State: state,
		Status: res.Status, StatusMsg: res.StatusMsg, DisplayUsername: req.Username,
		IP: req.IP, Hostname: req.Hostname,
		Created: now, Expires: now.Add(DecidedTxLifetime), Answered: now,
	}); err != nil {
		return AuthResult{}, fmt.Errorf("keep decided answer: %w", err)
	}
	res.TxID = txid
	return res, nil
}

// Refuse answers deny with msg (status deny) for a request that a front
// end turns away before any factor is tried: an empty answer, a menu
// choice that stands for no factor, or a RateLimited or Unavailable error
// that its clients can only show as a deny message (duo_unix 1.11.3 aborts
// on HTTP 429). Nothing was attempted, so no auth log record is written.
// With req.Async the answer is kept like every decided async answer and
// its TxID set; otherwise nothing is written at all.
func (s *Service) Refuse(ctx context.Context, req AuthRequest, msg string) (AuthResult, error) {
	res := AuthResult{Result: ResultDeny, Status: StatusDeny, StatusMsg: msg}
	if !req.Async {
		return res, nil
	}
	return s.keepDecided(ctx, req, res)
}
