package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestSendSMSPasscodes(t *testing.T) { testSendSMSPasscodes(t, newActEnv(t)) }

func TestSendSMSPasscodesPostgres(t *testing.T) {
	testSendSMSPasscodes(t, newActEnv(t, sqltest.PostgresDSN(t)))
}

// smsCodes returns the codes of an SMS batch text after the settings'
// message, checking the shape: 7 digits, the first telling the position.
func smsCodes(t *testing.T, body, prefix string, size int) []string {
	t.Helper()
	rest, ok := strings.CutPrefix(body, prefix+" ")
	if !ok {
		t.Fatalf("SMS %q does not start with %q", body, prefix)
	}
	codes := strings.Fields(rest)
	if len(codes) != size {
		t.Fatalf("SMS has %d codes, want %d", len(codes), size)
	}
	for i, c := range codes {
		if len(c) != 7 || strings.Trim(c, "0123456789") != "" || c[0] != byte('0'+(i+1)%10) {
			t.Errorf("code %d = %q; want 7 digits starting with %d", i, c, (i+1)%10)
		}
	}
	return codes
}

func useSMS(e *actEnv, userID, code string, at time.Time) (mfa.AuthOutcome, error) {
	return e.store.ApplyAuth(e.t.Context(), mfa.AuthWrite{UserID: userID, At: at,
		Guard: mfa.Guard{Kind: mfa.GuardSMSCode, Code: mfa.Passcode(code), Now: at}})
}

func testSendSMSPasscodes(t *testing.T, e *actEnv) {
	ctx := t.Context()
	alice, bob := e.user("alice", ""), e.user("bob", "")
	p := e.phone(mfa.PhoneMobile, true, alice, bob)

	if err := e.svc.SendSMSPasscodes(ctx, e.owner, p.ID); err != nil {
		t.Fatalf("SendSMSPasscodes() = %v", err)
	}
	msgs := e.notes.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sent %d messages, want one SMS", len(msgs))
	}
	m := msgs[0]
	if m.Channel != mfa.ChannelSMS || m.To != p.Number || m.Context != "administrator" || m.UserID != alice.ID {
		t.Errorf("message = %s to %s context %q user %s; want SMS to %s, administrator, alice", m.Channel, m.To, m.Context, m.UserID, p.Number)
	}
	first := smsCodes(t, string(m.Body), "twostep passcodes:", 10)
	if got, _ := e.store.GetPhone(ctx, p.ID); !got.SMSPasscodesSent {
		t.Error("SMSPasscodesSent = false after sending, want true")
	}
	tl := e.telephony()
	if len(tl) != 1 || tl[0].Context != "administrator" || tl[0].Credits != 1 || tl[0].Phone != p.Number || tl[0].UserID != alice.ID {
		t.Errorf("telephony log = %+v; want one administrator SMS credit", tl)
	}
	// The batch is alice's (the phone's first user): code 0 works once.
	now := e.clock.Now()
	out, err := useSMS(e, alice.ID, first[0], now)
	if err != nil || out.SMS.Index != 0 || out.SMS.Remaining != 9 {
		t.Fatalf("using code 0 = %+v, %v; want index 0, 9 remaining", out.SMS, err)
	}
	if _, err := useSMS(e, bob.ID, first[1], now); err == nil {
		t.Error("bob used alice's SMS code; want an error")
	}
	if next, left, err := e.store.SMSBatchState(ctx, alice.ID, p.ID, now); err != nil || next != 1 || left != 9 {
		t.Errorf("SMSBatchState = %d, %d, %v; want next 1 (the digit 2 code), 9 left", next, left, err)
	}

	// A new batch voids the old one's unused codes.
	if err := e.svc.SendSMSPasscodes(ctx, e.owner, p.ID); err != nil {
		t.Fatal(err)
	}
	second := smsCodes(t, string(e.notes.Messages()[1].Body), "twostep passcodes:", 10)
	if _, err := useSMS(e, alice.ID, first[1], now); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("using an old batch's code = %v, want NotFound", err)
	}
	if out, err := useSMS(e, alice.ID, second[3], now); err != nil || out.SMS.Index != 3 {
		t.Errorf("using the new batch's code 3 = %+v, %v; want index 3", out.SMS, err)
	}

	// Settings: batch size, message and expiry.
	s := mfa.DefaultSettings()
	s.SMSBatchSize, s.SMSMessage, s.SMSExpire = 3, "Your codes:", 30*time.Minute
	if err := e.store.PutSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SendSMSPasscodes(ctx, e.owner, p.ID); err != nil {
		t.Fatal(err)
	}
	third := smsCodes(t, string(e.notes.Messages()[2].Body), "Your codes:", 3)
	if _, err := useSMS(e, alice.ID, third[0], now.Add(31*time.Minute)); err == nil {
		t.Error("used an SMS code after sms_expiration; want an error")
	}
	if _, err := useSMS(e, alice.ID, third[1], now.Add(29*time.Minute)); err != nil {
		t.Errorf("using an SMS code before sms_expiration = %v", err)
	}

	// The carrier's receipt: a credit per segment, its message id.
	e.notes.SetReceipt(func(int, mfa.Message) mfa.Receipt { return mfa.Receipt{CarrierID: "SM-admin", Segments: 2} })
	if err := e.svc.SendSMSPasscodes(ctx, e.owner, p.ID); err != nil {
		t.Fatal(err)
	}
	e.notes.SetReceipt(nil)
	fourth := smsCodes(t, string(e.notes.Messages()[3].Body), "Your codes:", 3)
	tl = e.telephony()
	if len(tl) != 4 || tl[3].Credits != 2 || tl[3].CarrierID != "SM-admin" || tl[2].Credits != 1 || tl[2].CarrierID != "" {
		t.Errorf("telephony log = %+v; want the last SMS with 2 credits and carrier id SM-admin, the one before 1 and none", tl)
	}

	if log := e.adminLog(); strings.Count(log, "phone_send_sms_passcodes phone "+p.ID) != 4 {
		t.Errorf("admin log = %q; want four phone_send_sms_passcodes records", log)
	}
	e.secretsAbsent(append(append(append(first, second...), third...), fourth...)...)
}

// TestSendSMSCapped: an administrator's SMS counts against the user's
// daily cap like a login's; over it the request is RateLimited with the
// clear message and nothing is sent or stored.
func TestSendSMSCapped(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	alice := e.user("alice", "")
	p := e.phone(mfa.PhoneMobile, true, alice)
	if _, err := e.store.UpdateSettings(ctx, func(s *mfa.Settings) error { s.TelephonyDailyUserLimit = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SendSMSPasscodes(ctx, e.owner, p.ID); err != nil {
		t.Fatalf("SendSMSPasscodes() = %v", err)
	}
	err := e.svc.SendSMSPasscodes(ctx, e.owner, p.ID)
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.RateLimited || me.Msg != mfa.MsgUserTelephonyCap {
		t.Fatalf("SendSMSPasscodes() over the cap = %v, want RateLimited %q", err, mfa.MsgUserTelephonyCap)
	}
	if n := len(e.notes.Messages()); n != 1 {
		t.Errorf("sent %d SMS, want 1", n)
	}
	if n := len(e.telephony()); n != 1 {
		t.Errorf("telephony log has %d records, want 1", n)
	}
}
