package authflow

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/password"
	"github.com/twostep-auth/twostep/internal/ratelimit"
)

// Administrators sign in to the console with their email, their password
// and their own TOTP code. Both factors count failures towards the
// administrator's lockout (mfa.Admin.FailedLogins, the account's lockout
// threshold and expiry), atomically in the store, and both are rate
// limited per address and per administrator like users' first factor.

// Messages of the administrators' sign-in.
const (
	MsgAdminBadPassword = "That email and password do not match. Check them and try again."
	MsgAdminLocked      = "This administrator account is locked after too many failed sign-ins. Ask an Owner to reset it."
	MsgAdminDisabled    = "This administrator account is disabled. Ask an Owner to enable it."
	MsgAdminBadCode     = "Incorrect code. Check the code in your authenticator app and try again."
	MsgAdminCodeReused  = "That code was already used. Wait for the next code in your authenticator app, then enter it."
	MsgAdminCodeFormat  = "Enter the 6-digit code from your authenticator app."
	MsgAdminNoTOTP      = "Set up your authenticator app first."
)

// Administrators' TOTP parameters: what every authenticator app assumes
// (RFC 6238 with SHA-1, 30-second steps, 6 digits). One step of skew each
// way absorbs clock drift; a used step is never accepted again.
const (
	AdminTOTPDigits = 6
	AdminTOTPPeriod = 30
	adminTOTPSkew   = 1
	adminTOTPBytes  = 20
)

// AdminPasswordRequest is one administrator password attempt.
type AdminPasswordRequest struct {
	Email    string
	Password mfa.Passcode
	IP       string
}

var (
	adminDummyOnce sync.Once
	adminDummy     string
)

// adminDummyHash is a hash at the administrators' cost of nothing anyone
// types: an unknown email costs as much as a wrong password.
func adminDummyHash() string {
	adminDummyOnce.Do(func() { adminDummy, _ = password.Default().Hash("twostep admin dummy password", rand.Reader) })
	return adminDummy
}

// CheckAdminPassword checks an administrator's email and password (the
// first step of the console sign-in). It answers the administrator, or:
//   - Invalid for an empty or over-long email or password (nothing counted);
//   - RateLimited when the address or the email made too many attempts;
//   - Unauthorized MsgAdminBadPassword for an unknown email and a wrong
//     password alike (a dummy hash for the unknown one), a wrong password
//     counting one failure towards the administrator's lockout;
//   - Denied MsgAdminLocked or MsgAdminDisabled for the right password of
//     a locked-out or disabled administrator.
//
// A right password resets nothing: the second factor decides the
// sign-in (CheckAdminTOTP).
func (s *Service) CheckAdminPassword(ctx context.Context, req AdminPasswordRequest) (mfa.Admin, error) {
	email := strings.TrimSpace(req.Email)
	switch {
	case email == "":
		return mfa.Admin{}, mfa.InvalidField("email", "Enter your email address.")
	case len(email) > 255:
		return mfa.Admin{}, mfa.InvalidField("email", "An email address is at most 255 characters.")
	case req.Password == "":
		return mfa.Admin{}, mfa.InvalidField("password", "Enter your password.")
	case len(req.Password) > mfa.MaxPasswordLen:
		return mfa.Admin{}, mfa.InvalidField("password", fmt.Sprintf("A password is at most %d bytes.", mfa.MaxPasswordLen))
	}
	key := "admin:" + strings.ToLower(email)
	if err := s.adminLimits(ctx, req.IP, key); err != nil {
		return mfa.Admin{}, err
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("get settings: %w", err)
	}
	ad, err := s.store.GetAdminByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, mfa.ErrNotFound) {
		return mfa.Admin{}, fmt.Errorf("get admin: %w", err)
	}
	hash := ad.PasswordHash
	if !known || hash == "" {
		hash = adminDummyHash()
	}
	ff := s.firstFactor()
	ok := false
	var verr error
	if err := ff.hashes.Do(ctx, func() { ok, verr = password.Verify(string(req.Password), hash) }); err != nil {
		return mfa.Admin{}, err
	}
	if verr != nil {
		s.log.ErrorContext(ctx, "stored administrator password hash unreadable", "admin_id", ad.ID, "error", verr)
		ok = false
	}
	ok = ok && known && ad.PasswordHash != ""
	if !ok {
		if known {
			if _, err := s.store.CountAdminFailure(ctx, ad.ID, st.LockoutThreshold, s.now()); err != nil {
				return mfa.Admin{}, fmt.Errorf("count admin failure: %w", err)
			}
		}
		return mfa.Admin{}, mfa.E(mfa.Unauthorized, MsgAdminBadPassword)
	}
	if err := adminMaySignIn(ad, st, s); err != nil {
		return mfa.Admin{}, err
	}
	return ad, nil
}

// adminMaySignIn refuses a disabled or locked-out administrator.
func adminMaySignIn(ad mfa.Admin, st mfa.Settings, s *Service) error {
	switch {
	case ad.Disabled:
		return mfa.E(mfa.Denied, MsgAdminDisabled)
	case ad.LockedOut(s.now(), st.LockoutExpire):
		return mfa.E(mfa.Denied, MsgAdminLocked)
	}
	return nil
}

// adminLimits takes one attempt from the per-address and per-key limits
// (in memory, then durable across nodes).
func (s *Service) adminLimits(ctx context.Context, ip, key string) error {
	ff := s.firstFactor()
	addr := ratelimit.AddressKey(ip)
	if ok, wait := ff.byIP.Take(addr); !ok {
		return mfa.RetryLater(msgPwIPLimited, wait)
	}
	if ok, wait := ff.byUser.Take(key); !ok {
		return mfa.RetryLater(msgPwUserLimited, wait)
	}
	if addr != "" {
		if err := s.hitDurable(ctx, ff.durIP, "pw-ip:"+addr, msgPwIPLimited, "remote_ip", ip); err != nil {
			return err
		}
	}
	return s.hitDurable(ctx, ff.durUser, "pw-"+key, msgPwUserLimited, "admin", key)
}

// AdminTOTPState reports whether the administrator has a confirmed TOTP
// authenticator (false: the sign-in must enrol one first).
func (s *Service) AdminTOTPState(ctx context.Context, adminID string) (enrolled bool, err error) {
	t, err := s.store.GetAdminTOTP(ctx, adminID)
	switch {
	case errors.Is(err, mfa.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get admin totp: %w", err)
	}
	return t.Confirmed, nil
}

// BeginAdminTOTP gives an administrator without a confirmed authenticator
// a new random TOTP secret, stored sealed and unconfirmed until the first
// code of it is accepted by CheckAdminTOTP. It returns the secret to show
// once (QR code and otpauth URI). Conflict if the administrator already
// has a confirmed authenticator: a password alone never replaces it.
func (s *Service) BeginAdminTOTP(ctx context.Context, adminID string) (mfa.Secret, error) {
	b := make([]byte, adminTOTPBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("admin totp secret: %w", err)
	}
	if err := s.store.SetAdminTOTP(ctx, adminID, mfa.Secret(b)); err != nil {
		return nil, fmt.Errorf("set admin totp: %w", err)
	}
	return mfa.Secret(b), nil
}

// CheckAdminTOTP checks the administrator's TOTP code (the second step of
// the console sign-in, and the confirmation of a new authenticator). It
// answers the administrator, whose failures are then cleared and whose
// last login is now, or:
//   - Invalid MsgAdminCodeFormat for anything but 6 digits (not counted);
//   - RateLimited when the address or the administrator made too many
//     attempts;
//   - Denied for a disabled or locked-out administrator (checked first);
//   - Invalid MsgAdminNoTOTP when no secret was begun;
//   - Invalid (field "code") MsgAdminBadCode for a wrong code,
//     MsgAdminCodeReused for a code of a step already used (of two concurrent requests with
//     one code exactly one passes: one conditional write); each counts one
//     failure towards the lockout, and the failure that locks answers
//     Denied MsgAdminLocked.
func (s *Service) CheckAdminTOTP(ctx context.Context, adminID, code, ip string) (mfa.Admin, error) {
	code = strings.TrimSpace(code)
	if len(code) != AdminTOTPDigits || strings.Trim(code, "0123456789") != "" {
		return mfa.Admin{}, mfa.InvalidField("code", MsgAdminCodeFormat)
	}
	if err := s.adminLimits(ctx, ip, "admin-totp:"+adminID); err != nil {
		return mfa.Admin{}, err
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("get settings: %w", err)
	}
	ad, err := s.store.GetAdmin(ctx, adminID)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("get admin: %w", err)
	}
	if err := adminMaySignIn(ad, st, s); err != nil {
		return mfa.Admin{}, err
	}
	t, err := s.store.GetAdminTOTP(ctx, adminID)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.Admin{}, mfa.InvalidField("code", MsgAdminNoTOTP)
	}
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("get admin totp: %w", err)
	}
	fail := func(msg string) (mfa.Admin, error) {
		after, err := s.store.CountAdminFailure(ctx, adminID, st.LockoutThreshold, s.now())
		if err != nil {
			return mfa.Admin{}, fmt.Errorf("count admin failure: %w", err)
		}
		if after.LockedOut(s.now(), st.LockoutExpire) {
			return mfa.Admin{}, mfa.E(mfa.Denied, MsgAdminLocked)
		}
		return mfa.Admin{}, mfa.InvalidField("code", msg)
	}
	step, ok := otp.VerifyTOTP(t.Secret.Reveal(), code, s.now(), AdminTOTPPeriod, adminTOTPSkew, AdminTOTPDigits)
	if !ok {
		return fail(MsgAdminBadCode)
	}
	won, err := s.store.UseAdminTOTPStep(ctx, adminID, step)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("use admin totp step: %w", err)
	}
	if !won {
		return fail(MsgAdminCodeReused)
	}
	now := s.now()
	if err := s.store.ClearAdminFailures(ctx, adminID, now); err != nil {
		return mfa.Admin{}, fmt.Errorf("clear admin failures: %w", err)
	}
	ad.FailedLogins, ad.LockedAt, ad.LastLogin = 0, time.Time{}, now
	return ad, nil
}

// ConsoleAdmin returns the signed-in administrator of a console session,
// read afresh on every request: Denied once the administrator is disabled
// or locked out, NotFound once deleted, so such a session ends at its next
// request.
func (s *Service) ConsoleAdmin(ctx context.Context, adminID string) (mfa.Admin, error) {
	ad, err := s.store.GetAdmin(ctx, adminID)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("get admin: %w", err)
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("get settings: %w", err)
	}
	if err := adminMaySignIn(ad, st, s); err != nil {
		return mfa.Admin{}, err
	}
	return ad, nil
}

// PendingAdminTOTP returns the administrator's TOTP secret while it is
// not yet confirmed (the set-up page shows it again until the first code
// is accepted); NotFound when none was begun, Conflict once confirmed.
func (s *Service) PendingAdminTOTP(ctx context.Context, adminID string) (mfa.Secret, error) {
	t, err := s.store.GetAdminTOTP(ctx, adminID)
	if err != nil {
		return nil, fmt.Errorf("get admin totp: %w", err)
	}
	if t.Confirmed {
		return nil, mfa.E(mfa.Conflict, "the administrator's authenticator is already set up")
	}
	return t.Secret, nil
}
