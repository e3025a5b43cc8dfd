package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// settingsForm is the settings form as the page fills it, read back from
// the page (inputs, checked boxes and radios).
func settingsForm(t *testing.T, b *browser) url.Values {
	t.Helper()
	doc := b.page("/console/settings", 200)
	form := url.Values{}
	sel := doc.Find(`form.settings input`)
	for i := range sel.Nodes {
		in := sel.Eq(i)
		name, _ := in.Attr("name")
		typ, _ := in.Attr("type")
		val, _ := in.Attr("value")
		if (typ == "checkbox" || typ == "radio") && in.AttrOr("checked", "-") == "-" {
			continue
		}
		form.Set(name, val)
	}
	return form
}

// TestSettings: the Owner reads and changes the settings through the
// admin service (admin-logged), errors name their field, a tampered
// choice is refused with nothing changed.
func TestSettings(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	b := f.browser()
	b.signIn(f.Owner)
	doc := b.page("/console/", 200)
	if doc.Find(`nav a[href="/console/settings"]`).Length() != 1 {
		t.Fatal("the Owner does not see the Settings link")
	}
	before, _ := f.Store.GetSettings(ctx)
	form := settingsForm(t, b)
	if got := form.Get("lockout_threshold"); got != "10" {
		t.Fatalf("lockout_threshold = %q", got)
	}
	if form.Get("webauthn_attestation") != "none" || form.Get("webauthn_user_verification") != "preferred" {
		t.Errorf("defaults: %v", form)
	}
	if before.HelpDeskCanSendBypass != (form.Get("helpdesk_bypass") == "allow") {
		t.Errorf("helpdesk_bypass box = %q, setting %v", form.Get("helpdesk_bypass"), before.HelpDeskCanSendBypass)
	}

	// Each bad value: 400, the error beside its field, named; nothing changed.
	bad := []struct{ field, value, want string }{
		{"lockout_threshold", "ten", "Lockout threshold: enter a whole number."},
		{"lockout_expire_duration", "3", "Automatic unlock must be 0 (manual unlock) or between 5 and 30000 minutes."},
		{"push_timeout_seconds", "5", "Push timeout must be between 15 and 300 seconds."},
		{"trusted_device_max_days", "400", "Remembered devices must be between 1 and 365 days."},
		{"self_service_bypass_minutes", "0", "Self-service code lifetime must be between 1 and 60 minutes."},
		{"self_service_bypass_check", "ssn", "Identity check must be pin or dob_id."},
		{"webauthn_aaguids", "not-a-uuid", `Allowed AAGUIDs: "not-a-uuid" is not an AAGUID`},
	}
	for _, c := range bad {
		fm := settingsForm(t, b)
		fm.Set(c.field, c.value)
		if c.field != "push_timeout_seconds" {
			fm.Set("push_timeout_seconds", "120") // a real change that must not land
		}
		resp, body := b.do("POST", "/console/settings", fm, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s=%q: %d, want 400", c.field, c.value, resp.StatusCode)
			continue
		}
		doc := parse(t, body)
		if got := doc.Find(`.error-summary a[href="#f-` + c.field + `"]`).Text(); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s=%q: summary %q, want %q", c.field, c.value, got, c.want)
		}
		if doc.Find(`.field-error`).Length() == 0 {
			t.Errorf("%s=%q: no error beside the field", c.field, c.value)
		}
		if v, _ := doc.Find(`[name="` + c.field + `"][type="text"]`).Attr("value"); doc.Find(`[name="`+c.field+`"][type="text"]`).Length() == 1 && v != c.value {
			t.Errorf("%s: the form lost the typed value: %q", c.field, v)
		}
		if after, _ := f.Store.GetSettings(ctx); after.PushTimeout != before.PushTimeout || after.LockoutThreshold != before.LockoutThreshold {
			t.Errorf("%s=%q: a refused form changed the settings", c.field, c.value)
		}
	}

	// A good change: saved, success alert, logged.
	form = settingsForm(t, b)
	form.Set("lockout_threshold", "7")
	form.Set("lockout_expire_duration", "30")
	form.Set("push_timeout_seconds", "90")
	form.Set("trusted_device_max_days", "14")
	form.Del("helpdesk_bypass")
	form.Set("self_service_bypass", "on")
	form.Set("self_service_bypass_check", "dob_id")
	form.Set("self_service_bypass_minutes", "20")
	form.Set("webauthn_attestation", "allowed")
	form.Set("webauthn_aaguids", "cb69481e-8ff7-4039-93ec-0a2729a154a8")
	form.Set("webauthn_user_verification", "required")
	resp, body := b.do("POST", "/console/settings", form, nil)
	wantRedirect(t, "save", resp, body, "/console/settings?done=saved")
	doc = b.page("/console/settings?done=saved", 200)
	if !strings.Contains(doc.Find(`.alert-success`).Text(), "The settings are saved.") {
		t.Errorf("no success alert: %s", doc.Find(`main`).Text())
	}
	s, _ := f.Store.GetSettings(ctx)
	if s.LockoutThreshold != 7 || s.LockoutExpire != 30*time.Minute || s.PushTimeout != 90*time.Second || s.TrustedDeviceMaxDays != 14 ||
		s.HelpDeskCanSendBypass || !s.SelfBypass || s.SelfBypassCheck != mfa.IdentityDOBID || s.SelfBypassLifetime != 20*time.Minute ||
		s.WebAuthnAttestation != mfa.AttestationAllowed || len(s.WebAuthnAAGUIDs) != 1 || s.WebAuthnUserVerification != mfa.UserVerificationReq {
		t.Errorf("saved settings: %+v", s)
	}
	// The page shows what is stored.
	form = settingsForm(t, b)
	if form.Get("lockout_threshold") != "7" || form.Get("helpdesk_bypass") != "" || form.Get("self_service_bypass") != "on" ||
		form.Get("self_service_bypass_check") != "dob_id" || form.Get("webauthn_attestation") != "allowed" ||
		form.Get("webauthn_user_verification") != "required" || form.Get("webauthn_aaguids") != "cb69481e-8ff7-4039-93ec-0a2729a154a8" {
		t.Errorf("the page after saving: %v", form)
	}
	logs, err := f.Store.ListAdminLog(ctx, mfa.LogFilter{Descending: true, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 || logs[0].Action != "customer_update" || logs[0].Actor != f.Owner.Email && !strings.Contains(logs[0].Actor, f.Owner.Email) {
		t.Errorf("admin log: %+v", logs)
	}
	// The Help Desk now sees no bypass button (the setting took effect).
	alice, _ := f.user("alice", mfa.StatusActive)
	h := f.browser()
	h.signIn(f.Help)
	if resp := mustDo(h, "GET", "/console/users/"+alice.ID+"/bypass"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("Help Desk bypass form after deny = %d, want 403", resp.StatusCode)
	}
}

// TestSettingsMoreFields: the text message, push, fraud alert, inactive
// user and telephony cap settings are shown, saved through the admin
// service and shown back; one bad value per field is refused beside its
// field with nothing changed.
func TestSettingsMoreFields(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	b := f.browser()
	b.signIn(f.Owner)
	before, _ := f.Store.GetSettings(ctx)
	form := settingsForm(t, b)
	for name, want := range map[string]string{
		"sms_batch": "10", "sms_expiration": "0", "sms_message": "twostep passcodes:", "fraud_email": "",
		"verified_push_digits": "3", "push_mute_minutes": "20", "inactive_user_expiration": "0",
		"telephony_daily_user_limit": "20", "telephony_daily_limit": "0",
		"sms_refresh": "", "fraud_email_enabled": "", "verified_push": "",
	} {
		if got := form.Get(name); got != want {
			t.Errorf("%s shown as %q, want %q", name, got, want)
		}
	}

	bad := []struct{ field, value, want string }{
		{"sms_batch", "11", "Passcodes per text must be between 1 and 10."},
		{"sms_batch", "x", "Passcodes per text: enter a whole number."},
		{"sms_expiration", "-1", "Text passcode lifetime must be between 0 (never) and 525600 minutes."},
		{"sms_message", strings.Repeat("m", 161), "Text message: longer than 160 characters"},
		{"fraud_email", "not-an-address", "Fraud alert email: not an email address"},
		{"fraud_email_enabled", "on", "Fraud alert email: enter the address to send fraud alerts to"},
		{"verified_push_digits", "7", "Verified push digits must be between 3 and 6."},
		{"push_mute_minutes", "1441", "Push pause after fraud must be between 0 (never mute) and 1440 minutes."},
		{"inactive_user_expiration", "10", "Inactive user removal must be 0 (never) or between 30 and 365 days."},
		{"telephony_daily_user_limit", "1000001", "Texts and calls per user must be between 0 (no cap) and 1000000"},
		{"telephony_daily_limit", "-5", "Texts and calls for the account must be between 0 (no cap) and 1000000"},
	}
	for _, c := range bad {
		fm := settingsForm(t, b)
		fm.Set(c.field, c.value)
		fm.Set("push_timeout_seconds", "120") // a real change that must not land
		fm.Set("sms_refresh", "on")           // another
		resp, body := b.do("POST", "/console/settings", fm, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s=%q: %d, want 400", c.field, c.value, resp.StatusCode)
			continue
		}
		doc := parse(t, body)
		errField := c.field
		if c.field == "fraud_email_enabled" {
			errField = "fraud_email" // the missing address is the thing to fix
		}
		if got := doc.Find(`.error-summary a[href="#f-` + errField + `"]`).Text(); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s=%q: summary %q, want %q", c.field, c.value, got, c.want)
		}
		if doc.Find(`.field-error`).Length() == 0 {
			t.Errorf("%s=%q: no error beside the field", c.field, c.value)
		}
		if after, _ := f.Store.GetSettings(ctx); after.PushTimeout != before.PushTimeout || after.SMSRefresh != before.SMSRefresh {
			t.Errorf("%s=%q: a refused form changed the settings", c.field, c.value)
		}
	}

	logsBefore, _ := f.Store.ListAdminLog(ctx, mfa.LogFilter{})
	form = settingsForm(t, b)
	for k, v := range map[string]string{
		"sms_batch": "5", "sms_expiration": "60", "sms_refresh": "on", "sms_message": "Your codes:",
		"fraud_email": "security@example.com", "fraud_email_enabled": "on",
		"verified_push": "on", "verified_push_digits": "6", "push_mute_minutes": "45",
		"inactive_user_expiration": "90", "telephony_daily_user_limit": "7", "telephony_daily_limit": "5000",
	} {
		form.Set(k, v)
	}
	resp, body := b.do("POST", "/console/settings", form, nil)
	wantRedirect(t, "save", resp, body, "/console/settings?done=saved")
	s, _ := f.Store.GetSettings(ctx)
	if s.SMSBatchSize != 5 || s.SMSExpire != time.Hour || !s.SMSRefresh || s.SMSMessage != "Your codes:" ||
		s.FraudEmail != "security@example.com" || !s.FraudEmailEnabled || !s.VerifiedPush || s.VerifiedPushDigits != 6 ||
		s.PushMuteAfterFraud != 45*time.Minute || s.InactiveUserExpiration != 90 || s.TelephonyDailyUserLimit != 7 || s.TelephonyDailyLimit != 5000 {
		t.Errorf("saved settings: %+v", s)
	}
	if s.LockoutThreshold != before.LockoutThreshold || s.PushTimeout != before.PushTimeout {
		t.Errorf("unchanged fields moved: %+v", s)
	}
	if logsAfter, _ := f.Store.ListAdminLog(ctx, mfa.LogFilter{}); len(logsAfter) != len(logsBefore)+1 {
		t.Errorf("admin log records for one save: %d", len(logsAfter)-len(logsBefore))
	}
	form = settingsForm(t, b)
	for name, want := range map[string]string{
		"sms_batch": "5", "sms_expiration": "60", "sms_refresh": "on", "sms_message": "Your codes:",
		"fraud_email": "security@example.com", "fraud_email_enabled": "on", "verified_push": "on", "verified_push_digits": "6",
		"push_mute_minutes": "45", "inactive_user_expiration": "90", "telephony_daily_user_limit": "7", "telephony_daily_limit": "5000",
	} {
		if got := form.Get(name); got != want {
			t.Errorf("after saving, %s shown as %q, want %q", name, got, want)
		}
	}
	// Turning the checkboxes off saves false.
	form.Del("sms_refresh")
	form.Del("fraud_email_enabled")
	form.Del("verified_push")
	resp, body = b.do("POST", "/console/settings", form, nil)
	wantRedirect(t, "save off", resp, body, "/console/settings?done=saved")
	if s, _ := f.Store.GetSettings(ctx); s.SMSRefresh || s.FraudEmailEnabled || s.VerifiedPush {
		t.Errorf("checkboxes off: %+v", s)
	}
}
