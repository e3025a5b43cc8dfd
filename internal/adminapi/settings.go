package adminapi

import (
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Settings: DUO-WIRE.md 3.9. POST changes only the parameters given,
// after validating all of them.

func (h *Handler) settingsRoutes() []route {
	return []route{
		{"GET /admin/v1/settings", h.getSettings},
		{"POST /admin/v1/settings", h.modifySettings},
	}
}

type settingsObject struct {
	LockoutThreshold       int    `json:"lockout_threshold"`
	LockoutExpireDuration  int    `json:"lockout_expire_duration"` // minutes; 0 = manual unlock
	SMSBatch               int    `json:"sms_batch"`
	SMSExpiration          int    `json:"sms_expiration"` // minutes; 0 = never
	SMSRefresh             bool   `json:"sms_refresh"`
	SMSMessage             string `json:"sms_message"`
	HelpdeskBypass         string `json:"helpdesk_bypass"`
	FraudEmail             string `json:"fraud_email"`
	FraudEmailEnabled      bool   `json:"fraud_email_enabled"`
	PushTimeoutSeconds     int    `json:"push_timeout_seconds"`
	InactiveUserExpiration int    `json:"inactive_user_expiration"`
	// twostep extensions
	VerifiedPush         bool `json:"verified_push"`
	VerifiedPushDigits   int  `json:"verified_push_digits"`
	PushMuteMinutes      int  `json:"push_mute_minutes"`
	TrustedDeviceMaxDays int  `json:"trusted_device_max_days"`
	// SMS and calls per UTC day; 0 = no cap
	TelephonyDailyUserLimit int `json:"telephony_daily_user_limit"`
	TelephonyDailyLimit     int `json:"telephony_daily_limit"`
	// self-service bypass codes (seed 003)
	SelfServiceBypass        bool   `json:"self_service_bypass"`
	SelfServiceBypassCheck   string `json:"self_service_bypass_check"`   // pin | dob_id
	SelfServiceBypassMinutes int    `json:"self_service_bypass_minutes"` // a code's lifetime
	// security keys: none | allowed (only webauthn_aaguids); required | preferred
	WebAuthnAttestation      string   `json:"webauthn_attestation"`
	WebAuthnAAGUIDs          []string `json:"webauthn_aaguids"`
	WebAuthnUserVerification string   `json:"webauthn_user_verification"`
}

func newSettingsObject(s mfa.Settings) settingsObject {
	hb := "deny"
	if s.HelpDeskCanSendBypass {
		hb = "allow"
	}
	o := settingsObject{LockoutThreshold: s.LockoutThreshold, LockoutExpireDuration: int(s.LockoutExpire.Minutes()),
		SMSBatch: s.SMSBatchSize, SMSExpiration: int(s.SMSExpire.Minutes()), SMSRefresh: s.SMSRefresh,
		SMSMessage: s.SMSMessage, HelpdeskBypass: hb, FraudEmail: s.FraudEmail, FraudEmailEnabled: s.FraudEmailEnabled,
		PushTimeoutSeconds: int(s.PushTimeout.Seconds()), InactiveUserExpiration: s.InactiveUserExpiration,
		VerifiedPush: s.VerifiedPush, VerifiedPushDigits: s.VerifiedPushDigits,
		PushMuteMinutes: int(s.PushMuteAfterFraud.Minutes()), TrustedDeviceMaxDays: s.TrustedDeviceMaxDays,
		TelephonyDailyUserLimit: s.TelephonyDailyUserLimit, TelephonyDailyLimit: s.TelephonyDailyLimit,
		SelfServiceBypass: s.SelfBypass, SelfServiceBypassCheck: string(s.SelfBypassCheck),
		SelfServiceBypassMinutes: int(s.SelfBypassLifetime.Minutes()),
		WebAuthnAttestation:      mfa.AttestationNone, WebAuthnAAGUIDs: append([]string{}, s.WebAuthnAAGUIDs...),
		WebAuthnUserVerification: mfa.UserVerificationPre}
	if s.WebAuthnAttestation != "" {
		o.WebAuthnAttestation = s.WebAuthnAttestation
	}
	if s.WebAuthnUserVerification != "" {
		o.WebAuthnUserVerification = s.WebAuthnUserVerification
	}
	return o
}

func (h *Handler) getSettings(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	s, err := h.svc.GetSettings(r.Context(), actor(c))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newSettingsObject(s))
	return nil
}

func (h *Handler) modifySettings(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f := admin.SettingsFields{SMSMessage: optString(c, "sms_message"), HelpdeskBypass: optString(c, "helpdesk_bypass"),
		FraudEmail: optString(c, "fraud_email"), SelfBypassCheck: optString(c, "self_service_bypass_check"),
		WebAuthnAttestation: optString(c, "webauthn_attestation"),
		WebAuthnAAGUIDs:     optString(c, "webauthn_aaguids"), WebAuthnUserVerification: optString(c, "webauthn_user_verification")}
	var err error
	ints := []struct {
		name string
		dst  **int
	}{
		{"lockout_threshold", &f.LockoutThreshold}, {"lockout_expire_duration", &f.LockoutExpireMinutes},
		{"sms_batch", &f.SMSBatch}, {"sms_expiration", &f.SMSExpirationMinutes},
		{"push_timeout_seconds", &f.PushTimeoutSeconds}, {"inactive_user_expiration", &f.InactiveUserExpiration},
		{"verified_push_digits", &f.VerifiedPushDigits}, {"push_mute_minutes", &f.PushMuteMinutes},
		{"trusted_device_max_days", &f.TrustedDeviceMaxDays},
		{"telephony_daily_user_limit", &f.TelephonyDailyUserLimit}, {"telephony_daily_limit", &f.TelephonyDailyLimit},
		{"self_service_bypass_minutes", &f.SelfBypassMinutes},
	}
	for _, p := range ints {
		if p.name == "sms_expiration" && has(c, p.name) && strings.TrimSpace(c.Param(p.name)) == "" {
			zero := 0 // Duo: empty means no expiry
			f.SMSExpirationMinutes = &zero
			continue
		}
		if *p.dst, err = optInt(c, p.name); err != nil {
			return err
		}
	}
	if f.SMSRefresh, err = optBool(c, "sms_refresh"); err != nil {
		return err
	}
	if f.FraudEmailEnabled, err = optBool(c, "fraud_email_enabled"); err != nil {
		return err
	}
	if f.VerifiedPush, err = optBool(c, "verified_push"); err != nil {
		return err
	}
	if f.SelfBypass, err = optBool(c, "self_service_bypass"); err != nil {
		return err
	}
	s, err := h.svc.UpdateSettings(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newSettingsObject(s))
	return nil
}
