package authflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Administrators' security keys: a second factor for the console sign-in
// besides the TOTP code (docs/console.md). The ceremonies are the users'
// (state kept by the edge, challenge claimed once, KeyCeremonyTimeout)
// under their own purposes, so a user's ceremony never finishes an
// administrator's and the reverse. A key login is the TOTP code's
// equivalent: rate limited like it, a refusal counts one failure toward
// the administrator's lockout, and a signature counter that does not move
// forward marks the key possibly cloned and refuses it for good. Storing
// and removing keys is the admin service's (admin-logged).

// Messages of administrators' key sign-ins.
const (
	MsgAdminKeyUnknown = "That security key is not registered for your administrator account."
	MsgAdminKeyCloned  = "This security key cannot be used: it may have been copied. Sign in with your authenticator app and remove the key."
	MsgAdminNoKeys     = "You have no security key. Enter the code from your authenticator app."
)

const (
	purposeAdminRegister = "admin-register"
	purposeAdminLogin    = "admin-login"
)

func adminKeyUser(ad mfa.Admin) mfa.WebAuthnUser {
	display := ad.Name
	if display == "" {
		display = ad.Email
	}
	return mfa.WebAuthnUser{ID: ad.ID, Name: ad.Email, DisplayName: display}
}

// AdminKeys lists the administrator's security keys (none when keys are
// off on this server).
func (s *Service) AdminKeys(ctx context.Context, adminID string) ([]mfa.WebAuthnCredential, error) {
	if s.keys == nil {
		return nil, nil
	}
	ks, err := s.store.AdminWebAuthnCredentials(ctx, adminID)
	if err != nil {
		return nil, fmt.Errorf("admin keys: %w", err)
	}
	return ks, nil
}

// BeginAdminKeyRegistration starts registering a security key for a
// signed-in administrator, the keys they have excluded.
func (s *Service) BeginAdminKeyRegistration(ctx context.Context, adminID string) (KeyCeremony, error) {
	if s.keys == nil {
		return KeyCeremony{}, ErrKeysOff
	}
	ad, err := s.store.GetAdmin(ctx, adminID)
	if err != nil {
		return KeyCeremony{}, err
	}
	existing, err := s.store.AdminWebAuthnCredentials(ctx, adminID)
	if err != nil {
		return KeyCeremony{}, err
	}
	return s.beginRegistration(ctx, purposeAdminRegister, adminKeyUser(ad), existing, false, "the most an administrator can have")
}

// FinishAdminKeyRegistration verifies the browser's answer to an
// administrator's registration ceremony and returns the credential to
// store (admin.Service.AddOwnKey), named name. Invalid like
// FinishKeyRegistration: a bad name (field "name"), an answer that does
// not verify, an answer already used, or a model the account's
// attestation policy refuses (field "credential").
func (s *Service) FinishAdminKeyRegistration(ctx context.Context, adminID, state, name string, response []byte) (mfa.WebAuthnCredential, error) {
	c, _, err := s.finishRegistration(ctx, purposeAdminRegister, adminID, state, name, response,
		func() (mfa.WebAuthnUser, error) {
			ad, err := s.store.GetAdmin(ctx, adminID)
			return adminKeyUser(ad), err
		}, "This account does not allow this model of security key (Settings, Security key models).")
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	c.UserID = adminID
	return c, nil
}

// BeginAdminKeyLogin starts the security key step of the console sign-in
// for the administrator whose password was right: NotFound-free, it is
// Invalid MsgAdminNoKeys when they have no usable key, Denied when they
// are disabled or locked out.
func (s *Service) BeginAdminKeyLogin(ctx context.Context, adminID string) (KeyCeremony, error) {
	if s.keys == nil {
		return KeyCeremony{}, ErrKeysOff
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return KeyCeremony{}, fmt.Errorf("get settings: %w", err)
	}
	ad, err := s.store.GetAdmin(ctx, adminID)
	if err != nil {
		return KeyCeremony{}, fmt.Errorf("get admin: %w", err)
	}
	if err := adminMaySignIn(ad, st, s); err != nil {
		return KeyCeremony{}, err
	}
	creds, err := s.store.AdminWebAuthnCredentials(ctx, adminID)
	if err != nil {
		return KeyCeremony{}, err
	}
	creds = slices.DeleteFunc(creds, func(c mfa.WebAuthnCredential) bool { return c.Cloned })
	if len(creds) == 0 {
		return KeyCeremony{}, mfa.InvalidField("credential", MsgAdminNoKeys)
	}
	b, err := s.keys.BeginLogin(adminKeyUser(ad), creds, userVerification(st))
	if err != nil {
		return KeyCeremony{}, err
	}
	return s.newCeremony(purposeAdminLogin, adminID, false, b)
}

// CheckAdminKey checks the browser's answer to BeginAdminKeyLogin's
// ceremony (the second step of the console sign-in, instead of the TOTP
// code). Like CheckAdminTOTP it answers the administrator, whose failures
// are then cleared and whose last login is now, or:
//   - Invalid (field "credential") when the ceremony is missing, expired
//     or another administrator's (not counted);
//   - RateLimited, and Denied for a disabled or locked-out administrator;
//   - Invalid (field "credential") for an answer that does not verify
//     (wrong origin, signature), was already used, comes from a key that
//     is not theirs, or from a key whose counter did not move forward
//     (which marks it possibly cloned): each counts one failure toward
//     the lockout, and the failure that locks answers Denied.
func (s *Service) CheckAdminKey(ctx context.Context, adminID, state string, response []byte, ip string) (mfa.Admin, error) {
	if s.keys == nil {
		return mfa.Admin{}, ErrKeysOff
	}
	ks, err := s.openCeremony(state, purposeAdminLogin, adminID)
	if err != nil {
		return mfa.Admin{}, err
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
	fail := func(msg string) (mfa.Admin, error) {
		after, err := s.store.CountAdminFailure(ctx, adminID, st.LockoutThreshold, s.now())
		if err != nil {
			return mfa.Admin{}, fmt.Errorf("count admin failure: %w", err)
		}
		if after.LockedOut(s.now(), st.LockoutExpire) {
			return mfa.Admin{}, mfa.E(mfa.Denied, MsgAdminLocked)
		}
		return mfa.Admin{}, mfa.InvalidField("credential", msg)
	}
	if err := s.claimCeremony(ctx, ks); errors.Is(err, mfa.ErrConflict) {
		return fail(MsgKeyUsed)
	} else if err != nil {
		return mfa.Admin{}, err
	}
	creds, err := s.store.AdminWebAuthnCredentials(ctx, adminID)
	if err != nil {
		return mfa.Admin{}, err
	}
	credID, err := s.keys.AssertedCredentialID(response)
	if err != nil {
		return fail(mfa.MsgOf(err))
	}
	i := slices.IndexFunc(creds, func(c mfa.WebAuthnCredential) bool { return string(c.CredentialID) == string(credID) })
	if i < 0 {
		return fail(MsgAdminKeyUnknown)
	}
	key := creds[i]
	if key.Cloned {
		return fail(MsgAdminKeyCloned)
	}
	as, err := s.keys.FinishLogin(adminKeyUser(ad), creds, ks.Session, response)
	if err != nil {
		if mfa.KindOf(err) != mfa.Invalid {
			return mfa.Admin{}, err
		}
		s.log.InfoContext(ctx, "administrator's security key answer refused", "admin", adminID, "webauthnkey", key.ID, "err", err)
		return fail(mfa.MsgOf(err))
	}
	now := s.now()
	switch err := s.store.UseAdminWebAuthnCounter(ctx, adminID, key.ID, as.Counter, now); {
	case errors.Is(err, mfa.ErrConflict):
		s.log.WarnContext(ctx, "administrator's security key counter went backwards: key marked possibly cloned, sign-in refused",
			"admin", adminID, "webauthnkey", key.ID, "stored_counter", key.SignCount, "counter", as.Counter, "remote_ip", ip)
		return fail(MsgAdminKeyCloned)
	case errors.Is(err, mfa.ErrNotFound): // removed meanwhile
		return fail(MsgAdminKeyUnknown)
	case err != nil:
		return mfa.Admin{}, err
	}
	if err := s.store.ClearAdminFailures(ctx, adminID, now); err != nil {
		return mfa.Admin{}, fmt.Errorf("clear admin failures: %w", err)
	}
	ad.FailedLogins, ad.LockedAt, ad.LastLogin = 0, time.Time{}, now
	return ad, nil
}
