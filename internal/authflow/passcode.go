package authflow

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

// Passcode verification windows (DUO-WIRE 7.1; Duo publishes none).
const (
	// HOTPWindow is how many counters from the stored next counter a
	// passcode may be ahead (the app's or token's button pressed without
	// logging in).
	HOTPWindow = 10
	// HOTPBehind is how many counters just below the stored next counter
	// are recognised as already used ("already used" rather than
	// "incorrect").
	HOTPBehind = 3
	// TOTPSkew is how many time steps either side of now a TOTP code may be.
	TOTPSkew = 1
	// AuthenticatorTOTPStep is the step of authenticator installs that use
	// TOTP (Duo Mobile's use_totp: 30 s).
	AuthenticatorTOTPStep = 30
	// DefaultTokenTOTPStep applies to a TOTP token stored without a step.
	DefaultTokenTOTPStep = 30
)

// candidate is one device's claim on a passcode.
type candidate struct {
	guard  mfa.Guard
	factor string
	device string
	name   string
}

// passcode verifies req.Passcode for an enrolled, active user. Candidates
// are found by format (otp.Classify) and by what the user holds, then each
// is tried with ONE ApplyAuth whose guard consumes it, so that of several
// concurrent requests with one code exactly one succeeds.
func (s *Service) passcode(ctx context.Context, d *decision) (AuthResult, error) {
	code := strings.TrimSpace(string(d.req.Passcode))
	kind, digits, _, _ := otp.Classify(code)
	var (
		cands []candidate
		used  []candidate // matched a code known to be used already
		err   error
	)
	d.factor = LogFactorPasscode
	switch {
	case kind == otp.KindDigits && digits == mfa.BypassCodeDigits:
		d.factor = LogFactorBypassCode
		if d.req.Integration.RefuseBypassCodes {
			return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonBypassRefused, StatusDeny, MsgBypassRefused)
		}
		cands = append(cands, candidate{guard: mfa.Guard{Kind: mfa.GuardBypassCode, Code: mfa.Passcode(code)}, factor: LogFactorBypassCode})
	case kind == otp.KindDigits && digits == 7:
		d.factor = LogFactorSMS
		cands = append(cands, candidate{guard: mfa.Guard{Kind: mfa.GuardSMSCode, Code: mfa.Passcode(code)}, factor: LogFactorSMS})
	case kind == otp.KindDigits && (digits == 6 || digits == 8):
		if digits == 6 {
			for _, au := range d.a.auths {
				c, u := s.matchAuthenticator(au, code, d.a.phones)
				cands, used = appendMatch(cands, c), appendMatch(used, u)
			}
		}
		for _, t := range d.a.tokens {
			if t.Type.Digits() == digits {
				c, u := s.matchOATHToken(t, code)
				cands, used = appendMatch(cands, c), appendMatch(used, u)
			}
		}
	case kind == otp.KindYubiKey:
		d.factor = LogFactorYubiKey
		for _, t := range d.a.tokens {
			if t.Type == mfa.TokenYK {
				c, u := matchYubiKey(t, code)
				cands, used = appendMatch(cands, c), appendMatch(used, u)
			}
		}
	}
	classified := d.factor
	for _, c := range cands {
		d.factor, d.device, d.name = c.factor, c.device, c.name
		var out mfa.AuthOutcome
		out, err = d.write(ctx, mfa.AuthWrite{Guard: c.guard, Success: true}, mfa.ResultSuccess, ReasonValidPasscode)
		switch {
		case err == nil:
			if c.guard.Kind == mfa.GuardSMSCode {
				s.refreshSMS(context.WithoutCancel(ctx), d.a, out.SMS)
			}
			var tok string
			if d.req.wantsToken() {
				if tok, err = s.rememberDevice(ctx, d.req.Integration, d.a.user.ID, ""); err != nil {
					return AuthResult{}, err
				}
			}
			return AuthResult{Result: ResultAllow, Status: StatusAllow, StatusMsg: MsgSuccess, TrustedDeviceToken: tok,
				LogTxID: d.logTx, LogFactor: d.factor}, nil
		case errors.Is(err, mfa.ErrConflict):
			used = append(used, c) // another request consumed it first
		case errors.Is(err, mfa.ErrNotFound):
			// not this user's code (bypass, SMS), or the device went away
		default:
			return AuthResult{}, err
		}
	}
	if len(used) > 0 {
		d.factor, d.device, d.name = used[0].factor, used[0].device, used[0].name
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultFailure, ReasonUsedPasscode, StatusDeny, MsgUsed)
	}
	d.factor, d.device, d.name = classified, "", ""
	reason, msg := ReasonInvalidPasscode, MsgIncorrect
	if kind == otp.KindDigits && digits == 6 {
		if au, ok := s.revokedMatch(d.a.revoked, code); ok {
			d.factor, d.device = LogFactorMobilePasscode, au.PhoneID
			reason, msg = ReasonRevokedDevice, MsgReactivate
		}
	}
	out, err := d.write(ctx, mfa.AuthWrite{CountFailure: true, Threshold: d.a.settings.LockoutThreshold},
		mfa.ResultFailure, reason)
	if err != nil {
		return AuthResult{}, err
	}
	if out.Failure.LockedOut {
		s.noticeLockout(ctx, d, out.Failure.FailedAttempts)
	}
	if out.Failure.LockedOut || out.Failure.Status == mfa.StatusLockedOut {
		return AuthResult{Result: ResultDeny, Status: StatusLockedOut, StatusMsg: MsgLockedOutNow,
			LogTxID: d.logTx, LogFactor: d.factor}, nil
	}
	return AuthResult{Result: ResultDeny, Status: StatusDeny, StatusMsg: msg, LogTxID: d.logTx, LogFactor: d.factor}, nil
}

// ReasonRevokedDevice is the auth log reason for a passcode from an app
// install that a newer activation replaced (ours).
const ReasonRevokedDevice = "revoked_device"

// revokedMatch reports whether code comes from one of olds, the user's
// recently replaced app installs (within the usual window of its last counter or
// time step), so the user can be told to reactivate the app.
func (s *Service) revokedMatch(olds []mfa.Authenticator, code string) (mfa.Authenticator, bool) {
	for _, au := range olds {
		secret := au.HOTPSecret.Reveal()
		if len(secret) == 0 {
			continue
		}
		if au.TOTP {
			if _, ok := otp.VerifyTOTP(secret, code, s.now(), AuthenticatorTOTPStep, TOTPSkew, 6); ok {
				return au, true
			}
			continue
		}
		start := au.HOTPCounter
		if start >= HOTPBehind {
			start -= HOTPBehind
		} else {
			start = 0
		}
		if _, ok := otp.VerifyHOTP(secret, code, start, HOTPWindow+HOTPBehind, 6); ok {
			return au, true
		}
	}
	return mfa.Authenticator{}, false
}

func appendMatch(list []candidate, c *candidate) []candidate {
	if c != nil {
		list = append(list, *c)
	}
	return list
}

// matchAuthenticator checks a 6-digit code against an app install: as TOTP
// if the install uses TOTP, else as HOTP: forward through the window, and
// failing that against the few counters just used (replay).
func (s *Service) matchAuthenticator(au mfa.Authenticator, code string, phones []mfa.Phone) (match, used *candidate) {
	secret := au.HOTPSecret.Reveal()
	if len(secret) == 0 {
		return nil, nil
	}
	c := candidate{factor: LogFactorMobilePasscode, device: au.PhoneID}
	for _, p := range phones {
		if p.ID == au.PhoneID {
			c.name = p.Name
		}
	}
	if au.TOTP {
		step, ok, spent := totpMatch(secret, code, s.now(), AuthenticatorTOTPStep, 6, au.TOTPLastStep)
		c.guard = mfa.Guard{Kind: mfa.GuardAuthenticatorStep, ID: au.ID, Step: step}
		return matchOrUsed(c, ok, spent)
	}
	counter, ok, spent := hotpMatch(secret, code, au.HOTPCounter, 6)
	c.guard = mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: au.ID, Counter: counter}
	return matchOrUsed(c, ok, spent)
}

// matchOATHToken checks a code against an h6/h8/t6/t8 hardware token.
func (s *Service) matchOATHToken(t mfa.Token, code string) (match, used *candidate) {
	secret := t.Secret.Reveal()
	digits := t.Type.Digits()
	if len(secret) == 0 || digits == 0 {
		return nil, nil
	}
	c := candidate{factor: LogFactorHardwareToken, device: t.ID, name: t.Serial}
	switch t.Type {
	case mfa.TokenT6, mfa.TokenT8:
		stepSeconds := t.TOTPStep
		if stepSeconds <= 0 {
			stepSeconds = DefaultTokenTOTPStep
		}
		step, ok, spent := totpMatch(secret, code, s.now(), stepSeconds, digits, t.LastStep)
		c.guard = mfa.Guard{Kind: mfa.GuardTokenStep, ID: t.ID, Step: step}
		return matchOrUsed(c, ok, spent)
	default:
		counter, ok, spent := hotpMatch(secret, code, t.Counter, digits)
		c.guard = mfa.Guard{Kind: mfa.GuardTokenCounter, ID: t.ID, Counter: counter}
		return matchOrUsed(c, ok, spent)
	}
}

// matchOrUsed turns a match result into matchAuthenticator's and
// matchOATHToken's pair: the candidate as a match, as a code used
// already, or neither.
func matchOrUsed(c candidate, ok, spent bool) (match, used *candidate) {
	switch {
	case ok:
		return &c, nil
	case spent:
		return nil, &c
	}
	return nil, nil
}

// hotpMatch looks for code forward through the window from next, the
// counter to accept next. Only when it is not there is it compared with
// the few counters just used, to answer "already used" rather than
// "incorrect": a fresh code whose digits happen to equal a recent one's
// (one in about 300,000 codes) is accepted, as RFC 4226 asks.
func hotpMatch(secret []byte, code string, next uint64, digits int) (counter uint64, ok, used bool) {
	if counter, ok = otp.VerifyHOTP(secret, code, next, HOTPWindow, digits); ok {
		return counter, true, false
	}
	return 0, false, behind(secret, code, next, digits)
}

// totpMatch looks for code in the time steps within TOTPSkew of now and
// returns the lowest step above last (the last step accepted), or reports
// that it matched only steps already used. Like hotpMatch, a code whose
// digits equal a used step's and an unused one's is accepted for the
// unused one.
func totpMatch(secret []byte, code string, now time.Time, stepSeconds, digits int, last int64) (step int64, ok, used bool) {
	for d := -TOTPSkew; d <= TOTPSkew; d++ {
		s, m := otp.VerifyTOTP(secret, code, now.Add(time.Duration(d*stepSeconds)*time.Second), stepSeconds, 0, digits)
		switch {
		case !m:
		case s > last && !ok:
			step, ok = s, true
		case s <= last:
			used = true
		}
	}
	if ok {
		used = false
	}
	return step, ok, used
}

// matchYubiKey decrypts a Yubico OTP with a yk token's keys; an OTP whose
// counter is not above the stored one was used already.
func matchYubiKey(t mfa.Token, code string) (match, used *candidate) {
	y, err := otp.ParseYubiKeyOTP(code, t.AESKey.Reveal(), t.PrivateID.Reveal())
	if err != nil {
		return nil, nil
	}
	c := candidate{factor: LogFactorYubiKey, device: t.ID, name: t.Serial,
		guard: mfa.Guard{Kind: mfa.GuardYubiKeyCounter, ID: t.ID, Counter: uint64(y.Counter())}}
	if y.Counter() <= t.YKCounter {
		return nil, &c
	}
	return &c, nil
}

// behind reports whether code is the HOTP code of one of the HOTPBehind
// counters just below next, compared in constant time.
func behind(secret []byte, code string, next uint64, digits int) bool {
	hit := 0
	for k := uint64(1); k <= HOTPBehind && k <= next; k++ {
		hit |= subtle.ConstantTimeCompare([]byte(otp.HOTP(secret, next-k, digits)), []byte(code))
	}
	return hit == 1
}
