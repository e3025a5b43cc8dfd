package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// SettingsFields are the settings a request changes; nil is not provided.
// Names follow Duo's /admin/v1/settings parameters.
type SettingsFields struct {
	LockoutThreshold       *int    // lockout_threshold: 1..9999; 0 = never lock out (twostep extension)
	LockoutExpireMinutes   *int    // lockout_expire_duration: 0 = manual unlock only, else 5..30000
	SMSBatch               *int    // sms_batch: 1..10
	SMSExpirationMinutes   *int    // sms_expiration: 0 = never, else 1..525600
	SMSRefresh             *bool   // sms_refresh
	SMSMessage             *string // sms_message: at most 160 characters
	HelpdeskBypass         *string // helpdesk_bypass: allow | deny
	FraudEmail             *string // fraud_email: an email address or empty
	FraudEmailEnabled      *bool   // fraud_email_enabled
	PushTimeoutSeconds     *int    // push_timeout_seconds (twostep extension): 15..300
	InactiveUserExpiration *int    // inactive_user_expiration: 0 = never, else 30..365 days
	// twostep extensions:
	VerifiedPush         *bool // verified_push: pushes ask for the code shown on the login screen
	VerifiedPushDigits   *int  // verified_push_digits: 3..6
	PushMuteMinutes      *int  // push_mute_minutes: pushes paused after a fraud report, 0..1440
	TrustedDeviceMaxDays *int  // trusted_device_max_days: cap on integrations' remembered-device days, 1..365
	// telephony_daily_user_limit, telephony_daily_limit: SMS and calls
	// per user and per account per UTC day, 0 (no cap)..MaxTelephonyDaily.
	TelephonyDailyUserLimit *int
	TelephonyDailyLimit     *int
	// Self-service bypass codes (seed 003): self_service_bypass (on/off),
	// self_service_bypass_check (pin | dob_id),
	// self_service_bypass_minutes (a code's lifetime, 1..MaxSelfBypassMinutes).
	SelfBypass        *bool
	SelfBypassCheck   *string
	SelfBypassMinutes *int
	// webauthn_attestation: none (any security key) | allowed (only the
	// models in webauthn_aaguids, comma-separated AAGUIDs);
	// webauthn_user_verification: required | preferred.
	WebAuthnAttestation      *string
	WebAuthnAAGUIDs          *string
	WebAuthnUserVerification *string
}

// Setting limits.
const (
	MaxLockoutThreshold    = 9999
	MinLockoutExpire       = 5
	MaxLockoutExpire       = 30000
	MaxSMSBatch            = 10
	MaxSMSExpiration       = 525600 // a year, in minutes
	MaxSMSMessage          = 160
	MinPushTimeoutSeconds  = 15
	MaxPushTimeoutSeconds  = 300
	MinInactiveUserExpDays = 30
	MaxInactiveUserExpDays = 365
	MinVerifiedPushDigits  = 3
	MaxVerifiedPushDigits  = 6
	MaxPushMuteMinutes     = 24 * 60
	MaxTrustedDeviceMax    = 365
	MaxTelephonyDaily      = 1000000
	MaxSelfBypassMinutes   = 60
)

// GetSettings returns the account settings.
func (s *Service) GetSettings(ctx context.Context, a Actor) (mfa.Settings, error) {
	if err := s.authorize(ctx, a, ReadSettings); err != nil {
		return mfa.Settings{}, err
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return mfa.Settings{}, fmt.Errorf("get settings: %w", err)
	}
	return st, nil
}

// UpdateSettings validates every provided setting, then changes only
// those, in one store transaction with the admin log record: the fields
// are applied to the settings as stored at that moment (read under a
// lock), so two administrators changing different settings at once both
// keep their change. On any invalid value nothing changes.
func (s *Service) UpdateSettings(ctx context.Context, a Actor, f SettingsFields) (mfa.Settings, error) {
	if err := s.authorize(ctx, a, WriteSettings); err != nil {
		return mfa.Settings{}, err
	}
	// A first pass on the current settings refuses bad input before any
	// write transaction, and finds a request that changes nothing.
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return mfa.Settings{}, fmt.Errorf("update settings: %w", err)
	}
	changed, err := applySettings(&st, f)
	if err != nil {
		return mfa.Settings{}, err
	}
	if len(changed) == 0 {
		return st, nil
	}
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		var err error
		st, err = s.store.UpdateSettings(ctx, func(cur *mfa.Settings) error {
			_, err := applySettings(cur, f)
			return err
		})
		if err != nil {
			return err
		}
		return s.logChange(ctx, a, "customer_update", "settings", "settings", describe(map[string]any{"changed": changed}))
	})
	if err != nil {
		return mfa.Settings{}, err
	}
	return st, nil
}

// applySettings validates the provided fields of f and applies them to st,
// returning the names of the fields provided.
func applySettings(st *mfa.Settings, f SettingsFields) ([]string, error) {
	var changed []string
	intIn := func(field string, v *int, ok func(int) bool, msg string, apply func(int)) error {
		if v == nil {
			return nil
		}
		if !ok(*v) {
			return mfa.InvalidField(field, msg)
		}
		apply(*v)
		changed = append(changed, field)
		return nil
	}
	between := func(lo, hi int) func(int) bool { return func(n int) bool { return n >= lo && n <= hi } }
	zeroOr := func(lo, hi int) func(int) bool { return func(n int) bool { return n == 0 || (n >= lo && n <= hi) } }
	checks := []error{
		intIn("lockout_threshold", f.LockoutThreshold, between(0, MaxLockoutThreshold),
			fmt.Sprintf("must be between 1 and %d, or 0 to never lock out", MaxLockoutThreshold),
			func(n int) { st.LockoutThreshold = n }),
		intIn("lockout_expire_duration", f.LockoutExpireMinutes, zeroOr(MinLockoutExpire, MaxLockoutExpire),
			fmt.Sprintf("must be 0 (manual unlock) or between %d and %d minutes", MinLockoutExpire, MaxLockoutExpire),
			func(n int) { st.LockoutExpire = time.Duration(n) * time.Minute }),
		intIn("sms_batch", f.SMSBatch, between(1, MaxSMSBatch), fmt.Sprintf("must be between 1 and %d", MaxSMSBatch),
			func(n int) { st.SMSBatchSize = n }),
		intIn("sms_expiration", f.SMSExpirationMinutes, between(0, MaxSMSExpiration),
			fmt.Sprintf("must be between 0 (never) and %d minutes", MaxSMSExpiration),
			func(n int) { st.SMSExpire = time.Duration(n) * time.Minute }),
		intIn("push_timeout_seconds", f.PushTimeoutSeconds, between(MinPushTimeoutSeconds, MaxPushTimeoutSeconds),
			fmt.Sprintf("must be between %d and %d seconds", MinPushTimeoutSeconds, MaxPushTimeoutSeconds),
			func(n int) { st.PushTimeout = time.Duration(n) * time.Second }),
		intIn("inactive_user_expiration", f.InactiveUserExpiration, zeroOr(MinInactiveUserExpDays, MaxInactiveUserExpDays),
			fmt.Sprintf("must be 0 (never) or between %d and %d days", MinInactiveUserExpDays, MaxInactiveUserExpDays),
			func(n int) { st.InactiveUserExpiration = n }),
		intIn("verified_push_digits", f.VerifiedPushDigits, between(MinVerifiedPushDigits, MaxVerifiedPushDigits),
			fmt.Sprintf("must be between %d and %d", MinVerifiedPushDigits, MaxVerifiedPushDigits),
			func(n int) { st.VerifiedPushDigits = n }),
		intIn("push_mute_minutes", f.PushMuteMinutes, between(0, MaxPushMuteMinutes),
			fmt.Sprintf("must be between 0 (never mute) and %d minutes", MaxPushMuteMinutes),
			func(n int) { st.PushMuteAfterFraud = time.Duration(n) * time.Minute }),
		intIn("trusted_device_max_days", f.TrustedDeviceMaxDays, between(1, MaxTrustedDeviceMax),
			fmt.Sprintf("must be between 1 and %d days", MaxTrustedDeviceMax),
			func(n int) { st.TrustedDeviceMaxDays = n }),
		intIn("telephony_daily_user_limit", f.TelephonyDailyUserLimit, between(0, MaxTelephonyDaily),
			fmt.Sprintf("must be between 0 (no cap) and %d SMS and calls a day", MaxTelephonyDaily),
			func(n int) { st.TelephonyDailyUserLimit = n }),
		intIn("telephony_daily_limit", f.TelephonyDailyLimit, between(0, MaxTelephonyDaily),
			fmt.Sprintf("must be between 0 (no cap) and %d SMS and calls a day", MaxTelephonyDaily),
			func(n int) { st.TelephonyDailyLimit = n }),
	}
	checks = append(checks, intIn("self_service_bypass_minutes", f.SelfBypassMinutes, between(1, MaxSelfBypassMinutes),
		fmt.Sprintf("must be between 1 and %d minutes", MaxSelfBypassMinutes),
		func(n int) { st.SelfBypassLifetime = time.Duration(n) * time.Minute }))
	for _, err := range checks {
		if err != nil {
			return nil, err
		}
	}
	if f.VerifiedPush != nil {
		st.VerifiedPush = *f.VerifiedPush
		changed = append(changed, "verified_push")
	}
	if f.SelfBypass != nil {
		st.SelfBypass = *f.SelfBypass
		changed = append(changed, "self_service_bypass")
	}
	if f.SelfBypassCheck != nil {
		c := mfa.IdentityCheck(strings.ToLower(strings.TrimSpace(*f.SelfBypassCheck)))
		if !c.Valid() {
			return nil, mfa.InvalidField("self_service_bypass_check", "must be pin or dob_id")
		}
		st.SelfBypassCheck = c
		changed = append(changed, "self_service_bypass_check")
	}
	if f.SMSRefresh != nil {
		st.SMSRefresh = *f.SMSRefresh
		changed = append(changed, "sms_refresh")
	}
	if f.SMSMessage != nil {
		m, err := checkText("sms_message", *f.SMSMessage, MaxSMSMessage, false)
		if err != nil {
			return nil, err
		}
		st.SMSMessage = m
		changed = append(changed, "sms_message")
	}
	if f.HelpdeskBypass != nil {
		switch strings.ToLower(strings.TrimSpace(*f.HelpdeskBypass)) {
		case "allow":
			st.HelpDeskCanSendBypass = true
		case "deny":
			st.HelpDeskCanSendBypass = false
		default:
			return nil, mfa.InvalidField("helpdesk_bypass", "must be allow or deny")
		}
		changed = append(changed, "helpdesk_bypass")
	}
	if f.FraudEmail != nil {
		e, err := checkEmail("fraud_email", *f.FraudEmail, true)
		if err != nil {
			return nil, err
		}
		st.FraudEmail = e
		changed = append(changed, "fraud_email")
	}
	if f.FraudEmailEnabled != nil {
		st.FraudEmailEnabled = *f.FraudEmailEnabled
		changed = append(changed, "fraud_email_enabled")
	}
	if f.WebAuthnAAGUIDs != nil {
		list, err := parseAAGUIDs(*f.WebAuthnAAGUIDs)
		if err != nil {
			return nil, err
		}
		st.WebAuthnAAGUIDs = list
		changed = append(changed, "webauthn_aaguids")
	}
	if f.WebAuthnAttestation != nil {
		switch v := strings.ToLower(strings.TrimSpace(*f.WebAuthnAttestation)); v {
		case mfa.AttestationNone, mfa.AttestationAllowed:
			st.WebAuthnAttestation = v
		default:
			return nil, mfa.InvalidField("webauthn_attestation", "must be none (any security key) or allowed (only the models in webauthn_aaguids)")
		}
		changed = append(changed, "webauthn_attestation")
	}
	if st.WebAuthnAttestation == mfa.AttestationAllowed && len(st.WebAuthnAAGUIDs) == 0 && (f.WebAuthnAttestation != nil || f.WebAuthnAAGUIDs != nil) {
		return nil, mfa.InvalidField("webauthn_aaguids", "an allow list of security key models needs at least one AAGUID; set webauthn_attestation to none to allow any key")
	}
	if f.WebAuthnUserVerification != nil {
		switch v := strings.ToLower(strings.TrimSpace(*f.WebAuthnUserVerification)); v {
		case mfa.UserVerificationReq, mfa.UserVerificationPre:
			st.WebAuthnUserVerification = v
		default:
			return nil, mfa.InvalidField("webauthn_user_verification", "must be required or preferred")
		}
		changed = append(changed, "webauthn_user_verification")
	}
	if st.FraudEmailEnabled && st.FraudEmail == "" && (f.FraudEmailEnabled != nil || f.FraudEmail != nil) {
		field := "fraud_email_enabled"
		if f.FraudEmail != nil {
			field = "fraud_email"
		}
		return nil, mfa.InvalidField(field, "fraud email notification needs a fraud_email address")
	}
	return changed, nil
}

// MaxAAGUIDs bounds the security key model allow list.
const MaxAAGUIDs = 100

// parseAAGUIDs reads a comma- or space-separated list of AAGUIDs
// (hyphenated UUIDs, any case) into lower case; "" clears the list.
func parseAAGUIDs(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		v := strings.ToLower(f)
		if !isUUID(v) {
			return nil, mfa.InvalidField("webauthn_aaguids", fmt.Sprintf("%q is not an AAGUID (a UUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8)", f))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) > MaxAAGUIDs {
		return nil, mfa.InvalidField("webauthn_aaguids", fmt.Sprintf("at most %d AAGUIDs", MaxAAGUIDs))
	}
	return out, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case (r < '0' || r > '9') && (r < 'a' || r > 'f'):
			return false
		}
	}
	return true
}
