package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// settingsView is the settings page's model: the number and text fields
// (named like the Admin API's parameters, so a service error lands beside
// its field) and the choices.
type settingsView struct {
	LockoutThreshold, LockoutExpire, PushTimeout, TrustedDays, SelfBypassMinutes, AAGUIDs web.Field
	SMSBatch, SMSExpiration, SMSMessage, FraudEmail, VerifiedPushDigits, PushMute         web.Field
	InactiveExpiration, TelephonyUserLimit, TelephonyLimit                                web.Field
	HelpdeskBypass, SelfBypass, SMSRefresh, FraudEmailEnabled, VerifiedPush               bool
	SelfBypassCheck, Attestation, UserVerification                                        string
}

// settingLabels name the fields in error messages.
var settingLabels = map[string]string{
	"lockout_threshold":           "Lockout threshold",
	"lockout_expire_duration":     "Automatic unlock",
	"push_timeout_seconds":        "Push timeout",
	"trusted_device_max_days":     "Remembered devices",
	"self_service_bypass_minutes": "Self-service code lifetime",
	"self_service_bypass_check":   "Identity check",
	"helpdesk_bypass":             "Help Desk bypass codes",
	"webauthn_attestation":        "Security key models",
	"webauthn_aaguids":            "Allowed AAGUIDs",
	"webauthn_user_verification":  "User verification",
	"sms_batch":                   "Passcodes per text",
	"sms_expiration":              "Text passcode lifetime",
	"sms_refresh":                 "New passcodes when the last is used",
	"sms_message":                 "Text message",
	"fraud_email":                 "Fraud alert email",
	"fraud_email_enabled":         "Fraud alerts by email",
	"verified_push":               "Verified push",
	"verified_push_digits":        "Verified push digits",
	"push_mute_minutes":           "Push pause after fraud",
	"inactive_user_expiration":    "Inactive user removal",
	"telephony_daily_user_limit":  "Texts and calls per user",
	"telephony_daily_limit":       "Texts and calls for the account",
}

// numberSettings are the whole-number fields: their form name, the view
// field, the stored value and where the service takes them.
var numberSettings = []struct {
	name string
	view func(*settingsView) *web.Field
	get  func(mfa.Settings) int
	dst  func(*admin.SettingsFields) **int
	unit string
	hint string
}{
	{"lockout_threshold", func(v *settingsView) *web.Field { return &v.LockoutThreshold }, func(s mfa.Settings) int { return s.LockoutThreshold },
		func(f *admin.SettingsFields) **int { return &f.LockoutThreshold }, "",
		"Failed logins in a row before a user is locked out; 0 never locks out."},
	{"lockout_expire_duration", func(v *settingsView) *web.Field { return &v.LockoutExpire }, func(s mfa.Settings) int { return int(s.LockoutExpire.Minutes()) },
		func(f *admin.SettingsFields) **int { return &f.LockoutExpireMinutes }, " (minutes)",
		"A locked-out user is unlocked after this long: 5 to 30000 minutes, or 0 for an administrator to unlock them."},
	{"push_timeout_seconds", func(v *settingsView) *web.Field { return &v.PushTimeout }, func(s mfa.Settings) int { return int(s.PushTimeout.Seconds()) },
		func(f *admin.SettingsFields) **int { return &f.PushTimeoutSeconds }, " (seconds)",
		"How long a push waits for an answer: 15 to 300 seconds."},
	{"verified_push_digits", func(v *settingsView) *web.Field { return &v.VerifiedPushDigits }, func(s mfa.Settings) int { return s.VerifiedPushDigits },
		func(f *admin.SettingsFields) **int { return &f.VerifiedPushDigits }, "",
		"How many digits the login screen shows for a verified push: 3 to 6."},
	{"push_mute_minutes", func(v *settingsView) *web.Field { return &v.PushMute }, func(s mfa.Settings) int { return int(s.PushMuteAfterFraud.Minutes()) },
		func(f *admin.SettingsFields) **int { return &f.PushMuteMinutes }, " (minutes)",
		"After a user reports a push as fraud, no pushes are sent to them for this long: 0 to 1440 minutes; 0 never pauses."},
	{"trusted_device_max_days", func(v *settingsView) *web.Field { return &v.TrustedDays }, func(s mfa.Settings) int { return s.TrustedDeviceMaxDays },
		func(f *admin.SettingsFields) **int { return &f.TrustedDeviceMaxDays }, " (at most, days)",
		"The longest any application may remember a device: 1 to 365 days."},
	{"sms_batch", func(v *settingsView) *web.Field { return &v.SMSBatch }, func(s mfa.Settings) int { return s.SMSBatchSize },
		func(f *admin.SettingsFields) **int { return &f.SMSBatch }, "",
		"How many passcodes one text message carries: 1 to 10."},
	{"sms_expiration", func(v *settingsView) *web.Field { return &v.SMSExpiration }, func(s mfa.Settings) int { return int(s.SMSExpire.Minutes()) },
		func(f *admin.SettingsFields) **int { return &f.SMSExpirationMinutes }, " (minutes)",
		"Texted passcodes stop working after this long: up to 525600 minutes (a year); 0 never expires them."},
	{"telephony_daily_user_limit", func(v *settingsView) *web.Field { return &v.TelephonyUserLimit }, func(s mfa.Settings) int { return s.TelephonyDailyUserLimit },
		func(f *admin.SettingsFields) **int { return &f.TelephonyDailyUserLimit }, " (a day)",
		"The most text messages and phone calls sent for one user in a day (UTC): up to 1000000; 0 is no cap."},
	{"telephony_daily_limit", func(v *settingsView) *web.Field { return &v.TelephonyLimit }, func(s mfa.Settings) int { return s.TelephonyDailyLimit },
		func(f *admin.SettingsFields) **int { return &f.TelephonyDailyLimit }, " (a day)",
		"The most text messages and phone calls sent for the whole account in a day (UTC): up to 1000000; 0 is no cap."},
	{"inactive_user_expiration", func(v *settingsView) *web.Field { return &v.InactiveExpiration }, func(s mfa.Settings) int { return s.InactiveUserExpiration },
		func(f *admin.SettingsFields) **int { return &f.InactiveUserExpiration }, " (days)",
		"Users who have not logged in for this long are removed: 30 to 365 days, or 0 to keep them."},
	{"self_service_bypass_minutes", func(v *settingsView) *web.Field { return &v.SelfBypassMinutes }, func(s mfa.Settings) int { return int(s.SelfBypassLifetime.Minutes()) },
		func(f *admin.SettingsFields) **int { return &f.SelfBypassMinutes }, " (minutes)",
		"How long a code a user gets for themselves is valid: 1 to 60 minutes."},
}

// settingsFields fills the view's text fields from value (by form name).
func settingsFields(v *settingsView, value func(name string) string) {
	for _, n := range numberSettings {
		*n.view(v) = web.Field{Name: n.name, Label: settingLabels[n.name] + n.unit, Value: value(n.name), InputMode: "numeric", Required: true, Hint: n.hint}
	}
	v.AAGUIDs = web.Field{Name: "webauthn_aaguids", Label: settingLabels["webauthn_aaguids"], Value: value("webauthn_aaguids"),
		Hint: "The security key models accepted when only listed models are allowed, separated by commas."}
	v.SMSMessage = web.Field{Name: "sms_message", Label: settingLabels["sms_message"], Value: value("sms_message"),
		Hint: "The words before the passcodes in a text message: at most 160 characters."}
	v.FraudEmail = web.Field{Name: "fraud_email", Label: settingLabels["fraud_email"], Value: value("fraud_email"), Type: "email", Autocomplete: "off",
		Hint: "Who is told when a user reports a login as fraud. Leave empty for nobody."}
}

func settingsViewOf(s mfa.Settings) settingsView {
	v := settingsView{HelpdeskBypass: s.HelpDeskCanSendBypass, SelfBypass: s.SelfBypass, SelfBypassCheck: string(s.SelfBypassCheck),
		Attestation: s.WebAuthnAttestation, UserVerification: s.WebAuthnUserVerification,
		SMSRefresh: s.SMSRefresh, FraudEmailEnabled: s.FraudEmailEnabled, VerifiedPush: s.VerifiedPush}
	if v.SelfBypassCheck == "" {
		v.SelfBypassCheck = string(mfa.IdentityPIN)
	}
	if v.Attestation == "" {
		v.Attestation = mfa.AttestationNone
	}
	if v.UserVerification == "" {
		v.UserVerification = mfa.UserVerificationPre
	}
	settingsFields(&v, func(name string) string {
		switch name {
		case "webauthn_aaguids":
			return strings.Join(s.WebAuthnAAGUIDs, ", ")
		case "sms_message":
			return s.SMSMessage
		case "fraud_email":
			return s.FraudEmail
		}
		for _, n := range numberSettings {
			if n.name == name {
				return strconv.Itoa(n.get(s))
			}
		}
		return ""
	})
	return v
}

func ownerOnly(c req, what string) error {
	if c.Admin.Role != mfa.RoleOwner {
		return mfa.E(mfa.Denied, "Only an Owner can "+what+".")
	}
	return nil
}

// settings serves GET /console/settings (Owners only).
func (p *Pages) settings(w http.ResponseWriter, r *http.Request, c req) error {
	if err := ownerOnly(c, "change the settings"); err != nil {
		return err
	}
	s, err := p.admin.GetSettings(r.Context(), c.Actor)
	if err != nil {
		return err
	}
	view := p.view(c, msgSettingsTitle, "/console/settings", settingsViewOf(s))
	if r.URL.Query().Get("done") == "saved" {
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgSettingsSaved}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "settings.html", view)
}

// updateSettings serves POST /console/settings: every field of the form
// through the admin service's settings update (the Admin API's POST
// /admin/v1/settings), which validates them all before changing any and
// writes the administrator log record.
func (p *Pages) updateSettings(w http.ResponseWriter, r *http.Request, c req) error {
	if err := ownerOnly(c, "change the settings"); err != nil {
		return err
	}
	pf := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	v := settingsView{HelpdeskBypass: pf("helpdesk_bypass") == "allow", SelfBypass: pf("self_service_bypass") == "on",
		SelfBypassCheck: pf("self_service_bypass_check"), Attestation: pf("webauthn_attestation"), UserVerification: pf("webauthn_user_verification"),
		SMSRefresh: pf("sms_refresh") == "on", FraudEmailEnabled: pf("fraud_email_enabled") == "on", VerifiedPush: pf("verified_push") == "on"}
	settingsFields(&v, pf)
	web.Form(r, p.tmpl, "settings.html", p.view(c, msgSettingsTitle, "/console/settings", v))

	var f admin.SettingsFields
	for _, n := range numberSettings {
		x, err := strconv.Atoi(pf(n.name))
		if err != nil {
			return mfa.InvalidField(n.name, settingLabels[n.name]+": enter a whole number.")
		}
		*n.dst(&f) = &x
	}
	hb := "deny"
	if v.HelpdeskBypass {
		hb = "allow"
	}
	ag, msg, fe := pf("webauthn_aaguids"), pf("sms_message"), pf("fraud_email")
	f.HelpdeskBypass, f.SelfBypass, f.SelfBypassCheck = &hb, &v.SelfBypass, &v.SelfBypassCheck
	f.WebAuthnAttestation, f.WebAuthnAAGUIDs, f.WebAuthnUserVerification = &v.Attestation, &ag, &v.UserVerification
	f.SMSRefresh, f.SMSMessage = &v.SMSRefresh, &msg
	f.FraudEmail, f.FraudEmailEnabled = &fe, &v.FraudEmailEnabled
	f.VerifiedPush = &v.VerifiedPush
	if _, err := p.admin.UpdateSettings(r.Context(), c.Actor, f); err != nil {
		return nameField(err)
	}
	return web.Redirect(w, r, "/console/settings?done=saved")
}

// nameField puts the field's label in front of a service message that
// starts with "must" or "at most" ("Push timeout must be between …").
func nameField(err error) error {
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field == "" {
		return err
	}
	label, ok := settingLabels[me.Field]
	if !ok {
		return err
	}
	msg := me.Msg
	switch {
	case me.Field == "fraud_email" && strings.Contains(msg, "needs"):
		msg = label + ": enter the address to send fraud alerts to, or turn fraud alerts by email off."
	case strings.HasPrefix(msg, "must"):
		msg = label + " " + msg + "."
	case strings.HasPrefix(msg, "at most"):
		msg = label + ": " + msg + "."
	default:
		msg = label + ": " + msg
	}
	return mfa.InvalidField(me.Field, msg)
}
