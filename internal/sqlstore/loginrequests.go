package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Pending browser logins (Universal Prompt). Every state change is one
// conditional UPDATE ... RETURNING, so that of concurrent completions,
// issues or redemptions exactly one wins, on one node or many.

var _ mfa.LoginRequestStore = (*Store)(nil)

const loginRequestCols = `id, ikey, username, redirect_uri, state, nonce, use_duo_code, return_path, binding_hash,
	created, expires, result, auth_txid, factor, auth_time, code_hash, code_expires, code_used,
	protocol, scope, code_challenge, force_login, max_age, continue_path, user_id, first_factor`

func scanLoginRequest(r rowScanner) (mfa.LoginRequest, error) {
	var lr mfa.LoginRequest
	var codeHash sql.NullString
	err := r.Scan(&lr.ID, &lr.IKey, &lr.Username, &lr.RedirectURI, &lr.State, &lr.Nonce, &lr.UseDuoCode,
		&lr.ReturnPath, &lr.BindingHash, scanTime{&lr.Created}, scanTime{&lr.Expires}, &lr.Result, &lr.AuthTxID,
		&lr.Factor, scanTime{&lr.AuthTime}, &codeHash, scanTime{&lr.CodeExpires}, scanTime{&lr.CodeUsed},
		&lr.Protocol, &lr.Scope, &lr.CodeChallenge, &lr.ForceLogin, &lr.MaxAge, &lr.Continue, &lr.UserID, &lr.FirstFactor)
	lr.CodeHash = codeHash.String
	return lr, err
}

func errUnknownLoginRequest() error { return notFoundErr("login request not found") }

// errUnknownLoginCode is the one answer to a code that cannot be redeemed,
// whatever the reason.
func errUnknownLoginCode() error { return notFoundErr("unknown, used or expired code") }

// CreateLoginRequest stores a new pending login request.
func (s *Store) CreateLoginRequest(ctx context.Context, r mfa.LoginRequest) error {
	if err := mfa.CheckNewLoginRequest(r); err != nil {
		return err
	}
	_, err := s.writer().exec(ctx, `INSERT INTO login_requests (id, ikey, username, redirect_uri, state, nonce,
		use_duo_code, return_path, binding_hash, created, expires, protocol, scope, code_challenge, force_login,
		max_age, continue_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.IKey, r.Username, r.RedirectURI, r.State, r.Nonce, r.UseDuoCode, r.ReturnPath, r.BindingHash,
		r.Created, r.Expires, r.Protocol, r.Scope, r.CodeChallenge, r.ForceLogin, r.MaxAge, r.Continue)
	return s.dbErr(ctx, "create login request", err, onFK(mfa.NotFound, "integration not found"),
		onUnique("id", "login request already exists"))
}

// GetLoginRequest returns the login request with id.
func (s *Store) GetLoginRequest(ctx context.Context, id string) (mfa.LoginRequest, error) {
	lr, err := scanLoginRequest(s.reader().row(ctx, `SELECT `+loginRequestCols+` FROM login_requests WHERE id = ?`, id))
	if err != nil {
		return mfa.LoginRequest{}, s.dbErr(ctx, "get login request", err, notFound("login request not found"))
	}
	return lr, nil
}

// CompleteLoginRequest records the outcome of a pending, unexpired request
// in one conditional UPDATE.
func (s *Store) CompleteLoginRequest(ctx context.Context, id string, out mfa.LoginOutcome) (mfa.LoginRequest, error) {
	const op = "complete login request"
	if err := mfa.CheckLoginOutcome(out); err != nil {
		return mfa.LoginRequest{}, err
	}
	lr, err := scanLoginRequest(s.writer().row(ctx, `UPDATE login_requests
		SET result = ?, auth_txid = ?, factor = ?, auth_time = ?
		WHERE id = ? AND result = '' AND expires > ?
		RETURNING `+loginRequestCols, out.Result, out.AuthTxID, out.Factor, out.AuthTime, id, out.AuthTime))
	if isNoRows(err) {
		return mfa.LoginRequest{}, s.loginRequestRefusal(ctx, op, id, "login request already completed or expired")
	}
	if err != nil {
		return mfa.LoginRequest{}, s.dbErr(ctx, op, err)
	}
	return lr, nil
}

// SetLoginUser records who passed the first factor of a pending login
// that has no user yet, in one conditional UPDATE.
func (s *Store) SetLoginUser(ctx context.Context, id string, u mfa.LoginUser, now time.Time) (mfa.LoginRequest, error) {
	const op = "set login user"
	if err := mfa.CheckLoginUser(u); err != nil {
		return mfa.LoginRequest{}, err
	}
	lr, err := scanLoginRequest(s.writer().row(ctx, `UPDATE login_requests
		SET user_id = ?, username = ?, first_factor = ?
		WHERE id = ? AND username = '' AND result = '' AND expires > ?
		RETURNING `+loginRequestCols, u.UserID, u.Username, u.FirstFactor, id, now))
	if isNoRows(err) {
		return mfa.LoginRequest{}, s.loginRequestRefusal(ctx, op, id, "login request already has a user, was completed or expired")
	}
	if err != nil {
		return mfa.LoginRequest{}, s.dbErr(ctx, op, err)
	}
	return lr, nil
}

// loginRequestRefusal tells an unknown id (NotFound) from a request that
// exists but is in the wrong state (Conflict with msg), after a
// conditional update changed no row.
func (s *Store) loginRequestRefusal(ctx context.Context, op, id, msg string) error {
	ok, err := s.writer().exists(ctx, `SELECT 1 FROM login_requests WHERE id = ?`, id)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if !ok {
		return errUnknownLoginRequest()
	}
	return conflictErr(msg)
}

// IssueLoginCode attaches the code's hash to an allowed, unexpired request
// that has none, in one conditional UPDATE.
func (s *Store) IssueLoginCode(ctx context.Context, id, codeHash string, now, expires time.Time) error {
	const op = "issue login code"
	if err := mfa.CheckLoginCode(codeHash, now, expires); err != nil {
		return err
	}
	n, err := s.writer().execN(ctx, `UPDATE login_requests SET code_hash = ?, code_expires = ?
		WHERE id = ? AND result = ? AND code_hash IS NULL AND expires > ?`,
		codeHash, expires, id, mfa.LoginAllow, now)
	if err != nil {
		return s.dbErr(ctx, op, err, onUnique("code_hash", "code already issued"))
	}
	if n == 0 {
		return s.loginRequestRefusal(ctx, op, id, "login request is not allowed, has expired or already has a code")
	}
	return nil
}

// RedeemLoginCode consumes the code in one conditional UPDATE that also
// checks the client and redirect URI, so that a refused exchange consumes
// nothing.
func (s *Store) RedeemLoginCode(ctx context.Context, r mfa.LoginCodeRedemption) (mfa.LoginRequest, error) {
	const op = "redeem login code"
	if r.Now.IsZero() {
		// A zero time would be stored as NULL, leaving the code unused.
		return mfa.LoginRequest{}, mfa.InvalidField("now", "required")
	}
	if r.CodeHash == "" {
		return mfa.LoginRequest{}, errUnknownLoginCode()
	}
	lr, err := scanLoginRequest(s.writer().row(ctx, `UPDATE login_requests SET code_used = ?
		WHERE code_hash = ? AND code_used IS NULL AND code_expires > ? AND ikey = ? AND redirect_uri = ?
			AND result = ?
		RETURNING `+loginRequestCols, r.Now, r.CodeHash, r.Now, r.IKey, r.RedirectURI, mfa.LoginAllow))
	if isNoRows(err) {
		return mfa.LoginRequest{}, errUnknownLoginCode()
	}
	if err != nil {
		return mfa.LoginRequest{}, s.dbErr(ctx, op, err)
	}
	return lr, nil
}

// DeleteExpiredLoginRequests deletes requests whose request and code have
// both expired at or before now.
func (s *Store) DeleteExpiredLoginRequests(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM login_requests
		WHERE expires <= ? AND (code_expires IS NULL OR code_expires <= ?)`, now, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete expired login requests", err)
	}
	return int(n), nil
}
