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
	HelpdeskBypass, SelfBypass                                                            bool
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
}

func settingsFields(v *settingsView, lt, le, pt, td, sm, ag string) {
	v.LockoutThreshold = web.Field{Name: "lockout_threshold", Label: settingLabels["lockout_threshold"], Value: lt, InputMode: "numeric", Required: true,
		Hint: "Failed logins in a row before a user is locked out; 0 never locks out."}
	v.LockoutExpire = web.Field{Name: "lockout_expire_duration", Label: settingLabels["lockout_expire_duration"] + " (minutes)", Value: le, InputMode: "numeric", Required: true,
		Hint: "A locked-out user is unlocked after this long: 5 to 30000 minutes, or 0 for an administrator to unlock them."}
	v.PushTimeout = web.Field{Name: "push_timeout_seconds", Label: settingLabels["push_timeout_seconds"] + " (seconds)", Value: pt, InputMode: "numeric", Required: true,
		Hint: "How long a push waits for an answer: 15 to 300 seconds."}
	v.TrustedDays = web.Field{Name: "trusted_device_max_days", Label: settingLabels["trusted_device_max_days"] + " (at most, days)", Value: td, InputMode: "numeric", Required: true,
		Hint: "The longest any application may remember a device: 1 to 365 days."}
	v.SelfBypassMinutes = web.Field{Name: "self_service_bypass_minutes", Label: settingLabels["self_service_bypass_minutes"] + " (minutes)", Value: sm, InputMode: "numeric", Required: true,
		Hint: "How long a code a user gets for themselves is valid: 1 to 60 minutes."}
	v.AAGUIDs = web.Field{Name: "webauthn_aaguids", Label: settingLabels["webauthn_aaguids"], Value: ag,
		Hint: "The security key models accepted when only listed models are allowed, separated by commas."}
}

func settingsViewOf(s mfa.Settings) settingsView {
	v := settingsView{HelpdeskBypass: s.HelpDeskCanSendBypass, SelfBypass: s.SelfBypass, SelfBypassCheck: string(s.SelfBypassCheck),
		Attestation: s.WebAuthnAttestation, UserVerification: s.WebAuthnUserVerification}
	if v.SelfBypassCheck == "" {
		v.SelfBypassCheck = string(mfa.IdentityPIN)
	}
	if v.Attestation == "" {
		v.Attestation = mfa.AttestationNone
	}
	if v.UserVerification == "" {
		v.UserVerification = mfa.UserVerificationPre
	}
	settingsFields(&v, strconv.Itoa(s.LockoutThreshold), strconv.Itoa(int(s.LockoutExpire.Minutes())), strconv.Itoa(int(s.PushTimeout.Seconds())),
		strconv.Itoa(s.TrustedDeviceMaxDays), strconv.Itoa(int(s.SelfBypassLifetime.Minutes())), strings.Join(s.WebAuthnAAGUIDs, ", "))
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
		SelfBypassCheck: pf("self_service_bypass_check"), Attestation: pf("webauthn_attestation"), UserVerification: pf("webauthn_user_verification")}
	settingsFields(&v, pf("lockout_threshold"), pf("lockout_expire_duration"), pf("push_timeout_seconds"), pf("trusted_device_max_days"),
		pf("self_service_bypass_minutes"), pf("webauthn_aaguids"))
	web.Form(r, p.tmpl, "settings.html", p.view(c, msgSettingsTitle, "/console/settings", v))

	var f admin.SettingsFields
	for _, n := range []struct {
		name string
		dst  **int
	}{
		{"lockout_threshold", &f.LockoutThreshold}, {"lockout_expire_duration", &f.LockoutExpireMinutes},
		{"push_timeout_seconds", &f.PushTimeoutSeconds}, {"trusted_device_max_days", &f.TrustedDeviceMaxDays},
		{"self_service_bypass_minutes", &f.SelfBypassMinutes},
	} {
		x, err := strconv.Atoi(pf(n.name))
		if err != nil {
			return mfa.InvalidField(n.name, settingLabels[n.name]+": enter a whole number.")
		}
		*n.dst = &x
	}
	hb, sb := "deny", v.SelfBypass
	if v.HelpdeskBypass {
		hb = "allow"
	}
	ag := pf("webauthn_aaguids")
	f.HelpdeskBypass, f.SelfBypass, f.SelfBypassCheck = &hb, &sb, &v.SelfBypassCheck
	f.WebAuthnAttestation, f.WebAuthnAAGUIDs, f.WebAuthnUserVerification = &v.Attestation, &ag, &v.UserVerification
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
	case strings.HasPrefix(msg, "must"):
		msg = label + " " + msg + "."
	case strings.HasPrefix(msg, "at most"):
		msg = label + ": " + msg + "."
	default:
		msg = label + ": " + msg
	}
	return mfa.InvalidField(me.Field, msg)
}
