package authflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Logins where twostep checks the first factor (standard OIDC): oidc's
// authorize stores an mfa.LoginRequest with Protocol oidc and no user and
// sends the browser to the first-factor page (internal/web/login), which
// loads it with FirstFactorLogin, checks the password with CheckPassword,
// records the user with SetLoginUser and sends the browser to the prompt.
// A browser whose session holds a recent login (single sign-on) skips
// both: ResumeLogin completes the login from that record.

// FirstFactorLogin returns OIDC login id, and its integration, to the
// browser holding bindingSecret, like Login but before the first factor.
// NotFound for an unknown id or a login that is not an OIDC login;
// Denied when bindingSecret is not the login's.
func (s *Service) FirstFactorLogin(ctx context.Context, id, bindingSecret string) (mfa.LoginRequest, mfa.Integration, error) {
	if id == "" || len(id) > 64 {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.NotFound, MsgLoginNotFound)
	}
	lr, err := s.store.GetLoginRequest(ctx, id)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && lr.Protocol != mfa.LoginOIDC) {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.NotFound, MsgLoginNotFound)
	}
	if err != nil {
		return mfa.LoginRequest{}, mfa.Integration{}, fmt.Errorf("first factor login: %w", err)
	}
	if !lr.BoundTo(bindingSecret) {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.Denied, MsgLoginOtherBrowser)
	}
	in, err := s.store.GetIntegration(ctx, lr.IKey)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.LoginRequest{}, mfa.Integration{}, mfa.E(mfa.NotFound, MsgLoginNotFound)
	}
	if err != nil {
		return mfa.LoginRequest{}, mfa.Integration{}, fmt.Errorf("first factor login: %w", err)
	}
	return lr, in, nil
}

// SetLoginUser records who passed the first factor of login id (once):
// the prompt then runs the second factor for them. Conflict when the login
// already has a user, was completed or has expired.
func (s *Service) SetLoginUser(ctx context.Context, id string, res FirstFactorResult) (mfa.LoginRequest, error) {
	lr, err := s.store.SetLoginUser(ctx, id, mfa.LoginUser{UserID: res.User.ID, Username: res.User.Username,
		FirstFactor: res.Source}, s.now())
	if err != nil {
		return mfa.LoginRequest{}, fmt.Errorf("set login user: %w", err)
	}
	return lr, nil
}

// SSO is what a browser's session keeps of its last completed login, for
// single sign-on: who, with which factors, when, and the auth-log record
// of the decision.
type SSO struct {
	UserID      string    `json:"u"`
	Username    string    `json:"n"`
	FirstFactor string    `json:"f1"`
	Factor      string    `json:"f2"`
	TxID        string    `json:"tx"`
	AuthTime    time.Time `json:"t"`
}

// ErrSSOUnusable is ResumeLogin's answer when the record cannot stand for
// a new login (the user was deleted, disabled or locked out since, or the
// record is older than maxAge): the person logs in again.
var ErrSSOUnusable = mfa.E(mfa.Conflict, "the previous login cannot be reused")

// ResumeLogin completes OIDC login id from the session's record of a
// previous login (single sign-on), if it is no older than maxAge (> 0) and
// its user may still log in (active or bypass): the login gets the same
// user, factors, auth time and auth-log record. Otherwise ErrSSOUnusable
// and nothing changes.
func (s *Service) ResumeLogin(ctx context.Context, id string, sso SSO, maxAge time.Duration) (mfa.LoginRequest, error) {
	now := s.now()
	if sso.UserID == "" || sso.AuthTime.IsZero() || sso.AuthTime.After(now) || (maxAge > 0 && now.Sub(sso.AuthTime) > maxAge) {
		return mfa.LoginRequest{}, ErrSSOUnusable
	}
	u, err := s.store.GetUser(ctx, sso.UserID)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.LoginRequest{}, ErrSSOUnusable
	}
	if err != nil {
		return mfa.LoginRequest{}, fmt.Errorf("resume login: %w", err)
	}
	if u.Status != mfa.StatusActive && u.Status != mfa.StatusBypass {
		return mfa.LoginRequest{}, ErrSSOUnusable
	}
	if _, err := s.store.SetLoginUser(ctx, id, mfa.LoginUser{UserID: u.ID, Username: u.Username, FirstFactor: sso.FirstFactor}, now); err != nil {
		return mfa.LoginRequest{}, fmt.Errorf("resume login: %w", err)
	}
	// The outcome keeps the original decision's time (auth_time): the
	// application sees how old the authentication really is.
	lr, err := s.store.CompleteLoginRequest(ctx, id, mfa.LoginOutcome{Result: mfa.LoginAllow, AuthTxID: sso.TxID,
		Factor: sso.Factor, AuthTime: sso.AuthTime})
	if err != nil {
		return mfa.LoginRequest{}, fmt.Errorf("resume login: %w", err)
	}
	return lr, nil
}

// StartLogin stores a new login request for a person who has just passed
// the first factor on one of twostep's own pages (the portal: protocol
// mfa.LoginPortal) and records who they are, so that the prompt runs the
// second factor for that user.
func (s *Service) StartLogin(ctx context.Context, lr mfa.LoginRequest, res FirstFactorResult) error {
	if lr.Protocol != mfa.LoginPortal {
		return mfa.InvalidField("protocol", "only portal logins start here")
	}
	if err := s.store.CreateLoginRequest(ctx, lr); err != nil {
		return fmt.Errorf("start login: %w", err)
	}
	if _, err := s.SetLoginUser(ctx, lr.ID, res); err != nil {
		return fmt.Errorf("start login: %w", err)
	}
	return nil
}
