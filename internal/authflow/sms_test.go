package authflow_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
)

// smsEnv is an env with a recording notifier and SMS sends unlimited.
func smsEnv(t *testing.T, opts ...authflow.Option) (*env, *mfatest.Notifier) {
	n := &mfatest.Notifier{}
	return newEnv(t, append([]authflow.Option{authflow.WithNotifier(n), authflow.WithSMSLimit(authflow.Limit{})}, opts...)...), n
}

func (e *env) authSMS(user, device string) (authflow.AuthResult, error) {
	e.t.Helper()
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
		Factor: mfa.FactorSMS, Device: device, IP: "192.0.2.1"})
	e.Clock.Advance(time.Millisecond)
	return res, err
}

// lastCodes returns the codes of the last SMS sent, checking its envelope.
func lastCodes(t *testing.T, n *mfatest.Notifier, to string) []string {
	t.Helper()
	msgs := n.Messages()
	if len(msgs) == 0 {
		t.Fatal("no SMS sent")
	}
	m := msgs[len(msgs)-1]
	if m.Channel != mfa.ChannelSMS || m.To != to || m.Context != "authentication" {
		t.Fatalf("message = %s to %s (%s), want sms to %s (authentication)", m.Channel, m.To, m.Context, to)
	}
	f := strings.Fields(string(m.Body))
	if len(f) < 3 || strings.Join(f[:2], " ") != "twostep passcodes:" {
		t.Fatalf("SMS text = %q, want the prefix and codes", m.Body)
	}
	codes := f[2:]
	for i, c := range codes {
		if len(c) != 7 || c[0] != byte('0'+(i+1)%10) {
			t.Errorf("code %d = %q, want 7 digits starting with %d", i, c, (i+1)%10)
		}
	}
	return codes
}

func TestAuthSMSFactor(t *testing.T) {
	e, n := smsEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.phone(u, "+15555550199", mfa.PhoneLandline) // cannot receive SMS
	p := e.phone(u, "+15555550100", mfa.PhoneMobile)

	res, err := e.authSMS("alice", "auto")
	if err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(sms auto)", res, "deny", "sent", authflow.MsgSMSSent)
	wantLog(t, e, u.ID, "sms_refresh", mfa.ResultDenied, "new_sms_passcodes")
	if l := e.lastLog(u.ID); l.DeviceID != p.ID {
		t.Errorf("auth log device = %s, want %s", l.DeviceID, p.ID)
	}
	first := lastCodes(t, n, p.Number)
	if len(first) != 10 {
		t.Errorf("batch of %d codes, want 10", len(first))
	}
	if got := e.getUser(u.ID); got.FailedAttempts != 0 {
		t.Errorf("failed attempts = %d, want 0 (asking for codes is no failure)", got.FailedAttempts)
	}
	if got, err := e.Store.GetPhone(e.ctx, p.ID); err != nil || !got.SMSPasscodesSent {
		t.Errorf("phone sms_passcodes_sent = %v, %v; want true", got.SMSPasscodesSent, err)
	}
	tl, err := e.Store.ListTelephonyLog(e.ctx, mfa.LogFilter{})
	if err != nil || len(tl) != 1 || tl[0].Context != "authentication" || tl[0].Phone != p.Number || tl[0].Credits != 1 {
		t.Errorf("telephony log = %+v, %v; want one authentication SMS", tl, err)
	}
	pre, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"}})
	if err != nil || pre.Devices[1].SMSNextCode != "1" {
		t.Errorf("preauth = %+v, %v; want sms_nextcode 1 on the mobile", pre, err)
	}

	// The codes work once each, as passcodes.
	wantAuth(t, "Auth(first code)", e.auth("alice", first[0]), "allow", "allow", authflow.MsgSuccess)
	wantLog(t, e, u.ID, "sms_passcode", mfa.ResultSuccess, "valid_passcode")
	wantAuth(t, "Auth(first code again)", e.auth("alice", first[0]), "deny", "deny", authflow.MsgUsed)

	// By phone id; the new batch voids the old one.
	if res, err = e.authSMS("alice", p.ID); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(sms id)", res, "deny", "sent", authflow.MsgSMSSent)
	second := lastCodes(t, n, p.Number)
	wantAuth(t, "Auth(old batch code)", e.auth("alice", first[1]), "deny", "deny", authflow.MsgIncorrect)
	wantAuth(t, "Auth(new batch code)", e.auth("alice", second[0]), "allow", "allow", authflow.MsgSuccess)

	// A phone that cannot receive SMS; an unknown device.
	l := e.phone(u, "+15555550111", mfa.PhoneLandline)
	_, err = e.authSMS("alice", l.ID)
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != "device" || !strings.Contains(me.Msg, "landline") {
		t.Errorf("Auth(sms landline) = %v, want Invalid device naming the landline", err)
	}
	_, err = e.authSMS("alice", "DPNOSUCHPHONE0000000")
	if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != "device" {
		t.Errorf("Auth(sms unknown device) = %v, want Invalid device", err)
	}
}

func TestAuthSMSKeywords(t *testing.T) {
	e, n := smsEnv(t)
	u := e.user("bob", mfa.StatusActive)
	p1 := e.phone(u, "+15555550101", mfa.PhoneMobile)
	p2 := e.phone(u, "+15555550102", mfa.PhoneMobile)
	land := e.phone(u, "+15555550103", mfa.PhoneLandline)
	_ = land

	wantAuth(t, "Auth(sms)", e.auth("bob", "sms"), "deny", "sent", authflow.MsgSMSSent)
	lastCodes(t, n, p1.Number)
	wantAuth(t, "Auth(SMS2)", e.auth("bob", " SMS2 "), "deny", "sent", authflow.MsgSMSSent)
	codes := lastCodes(t, n, p2.Number)
	wantLog(t, e, u.ID, "sms_refresh", mfa.ResultDenied, "new_sms_passcodes")
	wantAuth(t, "Auth(sms1)", e.auth("bob", "sms1"), "deny", "sent", authflow.MsgSMSSent)
	lastCodes(t, n, p1.Number)
	wantAuth(t, "Auth(code of phone 2)", e.auth("bob", codes[0]), "allow", "allow", authflow.MsgSuccess)

	// The third device is a landline; there is no ninth.
	wantAuth(t, "Auth(sms3)", e.auth("bob", "sms3"), "deny", "deny", authflow.MsgNoSMSDevice)
	wantLog(t, e, u.ID, "sms_refresh", mfa.ResultDenied, "no_sms_device")
	wantAuth(t, "Auth(sms9)", e.auth("bob", "sms9"), "deny", "deny", authflow.MsgNoSMSDevice)
	// No phone has the app; there is no ninth phone to call.
	wantAuth(t, "Auth(push)", e.auth("bob", "push"), "deny", "deny", authflow.MsgNoPushDevice)
	wantAuth(t, "Auth(phone9)", e.auth("bob", "phone9"), "deny", "deny", authflow.MsgNoPhoneDevice)
	if n := len(n.Messages()); n != 3 {
		t.Errorf("%d SMS sent, want 3", n)
	}
	if got := e.getUser(u.ID); got.FailedAttempts != 0 {
		t.Errorf("failed attempts = %d, want 0", got.FailedAttempts)
	}
}

func TestAuthSMSNoDevice(t *testing.T) {
	e, n := smsEnv(t)
	u := e.user("carol", mfa.StatusActive)
	e.phone(u, "+15555550100", mfa.PhoneLandline)
	res, err := e.authSMS("carol", "auto")
	if err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(sms)", res, "deny", "deny", authflow.MsgNoSMSDevice)
	wantLog(t, e, u.ID, "sms_refresh", mfa.ResultDenied, "no_sms_device")
	if len(n.Messages()) != 0 {
		t.Error("an SMS was sent")
	}
}

func TestAuthSMSNotifierDown(t *testing.T) {
	e, n := smsEnv(t)
	u := e.user("dave", mfa.StatusActive)
	e.phone(u, "+15555550100", mfa.PhoneMobile)
	n.SetFail(mfa.E(mfa.Unavailable, "carrier down"))
	_, err := e.authSMS("dave", "")
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.Unavailable {
		t.Errorf("Auth(sms, carrier down) = %v, want Unavailable", err)
	}
	if l := e.logs(u.ID); len(l) != 0 {
		t.Errorf("auth log = %+v, want none", l)
	}

	// No notifier at all.
	e2 := newEnv(t)
	u2 := e2.user("erin", mfa.StatusActive)
	e2.phone(u2, "+15555550100", mfa.PhoneMobile)
	_, err = e2.authSMS("erin", "auto")
	if !errors.As(err, &me) || me.Kind != mfa.Unavailable {
		t.Errorf("Auth(sms, no notifier) = %v, want Unavailable", err)
	}
}

// TestAuthSMSFailedSendKeepsCodes: when the carrier cannot take a new
// batch nothing is stored: the codes of the previous batch still work and
// the user reads that the SMS could not be sent.
func TestAuthSMSFailedSendKeepsCodes(t *testing.T) {
	e, n := smsEnv(t)
	u := e.user("gina", mfa.StatusActive)
	p := e.phone(u, "+15555550100", mfa.PhoneMobile)
	if _, err := e.authSMS("gina", "auto"); err != nil {
		t.Fatal(err)
	}
	codes := lastCodes(t, n, p.Number)
	n.SetFail(mfa.Wrap(mfa.Unavailable, "could not send the SMS", errors.New("twilio: HTTP 401")))
	_, err := e.authSMS("gina", "auto")
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.Unavailable || me.Msg != authflow.MsgSMSNotSent {
		t.Errorf("Auth(sms, carrier refuses) = %v, want Unavailable %q", err, authflow.MsgSMSNotSent)
	}
	n.SetFail(nil)
	wantAuth(t, "Auth(old code after a failed send)", e.auth("gina", codes[0]), "allow", "allow", authflow.MsgSuccess)
	// A cap's refusal keeps its kind and words.
	n.SetFail(mfa.E(mfa.RateLimited, "daily SMS limit reached"))
	if _, err := e.authSMS("gina", "auto"); mfa.KindOf(err) != mfa.RateLimited || !strings.Contains(err.Error(), "daily SMS limit") {
		t.Errorf("Auth(sms, capped) = %v, want the cap's RateLimited", err)
	}
}

func TestAuthSMSRateLimit(t *testing.T) {
	e, n := smsEnv(t, authflow.WithSMSLimit(authflow.DefaultSMSLimit()))
	u := e.user("frank", mfa.StatusActive)
	e.phone(u, "+15555550100", mfa.PhoneMobile)
	for i := range 3 {
		if _, err := e.authSMS("frank", "auto"); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	_, err := e.authSMS("frank", "auto")
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.RateLimited {
		t.Errorf("fourth send = %v, want RateLimited", err)
	}
	if len(n.Messages()) != 3 {
		t.Errorf("%d SMS sent, want 3", len(n.Messages()))
	}
	// Passcodes are not limited by SMS sends.
	wantAuth(t, "Auth(wrong code)", e.auth("frank", "1234567"), "deny", "deny", authflow.MsgIncorrect)
	e.Clock.Advance(time.Minute)
	if _, err := e.authSMS("frank", "auto"); err != nil {
		t.Errorf("send after a minute: %v", err)
	}
}

func TestAuthSMSRefusedUsers(t *testing.T) {
	e, n := smsEnv(t)
	u := e.user("gina", mfa.StatusDisabled)
	e.phone(u, "+15555550100", mfa.PhoneMobile)
	res, err := e.authSMS("gina", "auto")
	if err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(sms, disabled)", res, "deny", "deny", authflow.MsgDisabled)
	if len(n.Messages()) != 0 {
		t.Error("an SMS was sent to a disabled user")
	}
}

func TestAuthSMSRefresh(t *testing.T) {
	for _, refresh := range []bool{false, true} {
		e, n := smsEnv(t)
		e.settings(func(s *mfa.Settings) { s.SMSBatchSize, s.SMSRefresh = 2, refresh })
		u := e.user("rita", mfa.StatusActive)
		p := e.phone(u, "+15555550142", mfa.PhoneMobile)
		if _, err := e.authSMS("rita", "auto"); err != nil {
			t.Fatal(err)
		}
		codes := lastCodes(t, n, p.Number)
		wantAuth(t, "Auth(first code)", e.auth("rita", codes[0]), "allow", "allow", authflow.MsgSuccess)
		if got := len(n.Messages()); got != 1 {
			t.Errorf("refresh=%t: %d SMS after the first code, want 1 (codes remain)", refresh, got)
		}
		wantAuth(t, "Auth(last code)", e.auth("rita", codes[1]), "allow", "allow", authflow.MsgSuccess)
		want := 1
		if refresh {
			want = 2
		}
		if got := len(n.Messages()); got != want {
			t.Fatalf("refresh=%t: %d SMS after the last code, want %d", refresh, got, want)
		}
		if refresh {
			fresh := lastCodes(t, n, p.Number)
			wantAuth(t, "Auth(code of the refreshed batch)", e.auth("rita", fresh[0]), "allow", "allow", authflow.MsgSuccess)
		}
	}
}
