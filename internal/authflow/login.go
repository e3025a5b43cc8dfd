package authflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Browser logins (the Universal Prompt hand-off, docs/universal-prompt.md):
// internal/oidc stores a pending mfa.LoginRequest and sends the browser to
// the prompt pages; the pages load it here, run the second factor through
// Preauth, Auth and AuthStatus like every front end, and record the
// decision here. Pages never reach the store themselves.

// LogFactorNone is the auth log factor of a decision that needed no factor
// (a bypass, disabled or locked-out user, or an unenrolled one under the
// integration's enroll policy), in Duo's word.
const LogFactorNone = "not_available"

// Messages of refused browser logins.
const (
	MsgLoginNotFound     = "This login was not found. It may have ended: go back to the application and log in again."
	MsgLoginOtherBrowser = "This login was started in another browser or window, or its cookie is missing. Go back to the application and log in again."
	MsgLoginFirstFactor  = "Log in with your username and password first."
)

// Login returns the pending browser login id, and the integration it is
// for, to the browser holding bindingSecret (the value of the cookie
// mfa.LoginBindingCookie(id)). A completed or expired login is returned
// too: the caller sends the first back (lr.ReturnPath) and says the second
// has ended. NotFound for an unknown id (or one whose integration was
// deleted); Denied when bindingSecret is not the login's.
func (s *Service) Login(ctx context.Context, id, bindingSecret string) (mfa.LoginRequest, mfa.Integration, error) {
	if id == "" || len(id) > 64 {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.NotFound, MsgLoginNotFound)
	}
	lr, err := s.store.GetLoginRequest(ctx, id)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.NotFound, MsgLoginNotFound)
	}
	if err != nil {
		return mfa.LoginRequest{}, mfa.Integration{}, fmt.Errorf("login: %w", err)
	}
	if !lr.BoundTo(bindingSecret) {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.Denied, MsgLoginOtherBrowser)
	}
	if lr.NeedsFirstFactor() {
		// An OIDC login whose first factor is not done: the prompt must
		// not run for nobody.
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.Denied, MsgLoginFirstFactor)
	}
	in, err := s.store.GetIntegration(ctx, lr.IKey)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.NotFound, MsgLoginNotFound)
	}
	if err != nil {
		return mfa.LoginRequest{}, mfa.Integration{}, fmt.Errorf("login: %w", err)
	}
	if in.TrustedDeviceDays > 0 {
		// The days the prompt offers and its cookie lasts are the days a
		// remembered device works: the integration's, capped by
		// trusted_device_max_days (as rememberDevice caps the token).
		st, err := s.store.GetSettings(ctx)
		if err != nil {
			return mfa.LoginRequest{}, mfa.Integration{}, fmt.Errorf("login: %w", err)
		}
		if st.TrustedDeviceMaxDays > 0 && in.TrustedDeviceDays > st.TrustedDeviceMaxDays {
			in.TrustedDeviceDays = st.TrustedDeviceMaxDays
		}
	}
	return lr, in, nil
}

// CompleteLogin records the decision of browser login id: out.AuthTxID is
// the auth-log record of the decision (AuthResult.LogTxID, a push's TxID,
// PreauthResult.LogTxID), which the id_token's auth_context will be. A
// zero AuthTime is now. Conflict when the login was already completed or
// has expired.
func (s *Service) CompleteLogin(ctx context.Context, id string, out mfa.LoginOutcome) (mfa.LoginRequest, error) {
	if out.AuthTime.IsZero() {
		out.AuthTime = s.now()
	}
	lr, err := s.store.CompleteLoginRequest(ctx, id, out)
	if err != nil {
		return mfa.LoginRequest{}, fmt.Errorf("complete login: %w", err)
	}
	return lr, nil
}

// ErrNeedsFactor is Settle's answer for a user who must do a second factor.
var ErrNeedsFactor = mfa.E(mfa.Conflict, "the user must complete a second factor")

// Settle decides, with exactly one auth log record (factor LogFactorNone),
// a login whose outcome needs no second factor: allow for a user in bypass
// mode or an unenrolled one the integration lets through, deny for a
// disabled or locked-out user (counted like every attempt while locked
// out) or an unenrolled one it turns away. It is what a front end calls
// when Preauth answered allow or deny (or enroll, when the person gives
// up), so that the decision is logged and has a txid. For a user who must
// do a second factor it writes nothing and returns ErrNeedsFactor.
func (s *Service) Settle(ctx context.Context, req AuthRequest) (AuthResult, error) {
	if err := req.Who.check(); err != nil {
		return AuthResult{}, err
	}
	a, err := s.load(ctx, req.Who, mfa.AccountQuery{})
	if err != nil {
		return AuthResult{}, fmt.Errorf("settle: %w", err)
	}
	if a.known && a.enrolled() && a.status() == mfa.StatusActive && a.permitted(req.Integration) {
		return AuthResult{}, ErrNeedsFactor
	}
	req.Factor = "" // auth decides before any factor: logged as LogFactorNone
	res, err := s.auth(ctx, req, a, pending{})
	if err != nil {
		return AuthResult{}, fmt.Errorf("settle: %w", err)
	}
	return res, nil
}
