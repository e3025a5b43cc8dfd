package authapi_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	duoauth "github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/mfa"
)

const (
	msgSuccess   = "Success. Logging you in..."
	msgIncorrect = "Incorrect passcode. Please try again."
	msgUsed      = "This passcode has already been used. Please generate a new passcode and try again."
)

func authPasscode(t *testing.T, f *fixture, user, code string) (result, status, msg string) {
	t.Helper()
	got, err := f.Duo().Auth("passcode", duoauth.AuthUsername(user), duoauth.AuthPasscode(code), duoauth.AuthIpAddr("192.0.2.7"))
	if err != nil {
		t.Fatalf("Auth = %v", err)
	}
	if got.Stat != "OK" {
		t.Fatalf("Auth = %s %v %v", got.Stat, got.Message, got.Message_Detail)
	}
	return got.Response.Result, got.Response.Status, got.Response.Status_Msg
}

func TestAuthPasscodeWithDuoClient(t *testing.T) {
	f := newFixture(t)
	secret := []byte("12345678901234567890")
	f.app(f.user("alice", mfa.StatusActive), secret, false)
	code := hotp(t, secret, 2) // the app's button pressed twice
	tests := []struct {
		name, code          string
		result, status, msg string
	}{
		{"fresh code", code, "allow", "allow", msgSuccess},
		{"same code", code, "deny", "deny", msgUsed},
		{"older code", hotp(t, secret, 1), "deny", "deny", msgUsed},
		{"wrong code", "000000", "deny", "deny", msgIncorrect},
		{"next code", hotp(t, secret, 3), "allow", "allow", msgSuccess},
	}
	for _, tt := range tests {
		result, status, msg := authPasscode(t, f, "alice", tt.code)
		if result != tt.result || status != tt.status || msg != tt.msg {
			t.Errorf("Auth(%s) = %s/%s %q, want %s/%s %q", tt.name, result, status, msg, tt.result, tt.status, tt.msg)
		}
	}
	logs, _, err := f.Store.ListAuthLog(t.Context(), mfa.AuthLogFilter{})
	if err != nil || len(logs) != len(tests) {
		t.Errorf("auth log = %d records, %v; want %d", len(logs), err, len(tests))
	}
}

func TestAuthTOTPWithDuoClient(t *testing.T) {
	f := newFixture(t)
	secret := []byte("totp-secret-abcdefgh")
	f.app(f.user("alice", mfa.StatusActive), secret, true)
	code := totp(t, secret, time.Now())
	if r, _, msg := authPasscode(t, f, "alice", code); r != "allow" {
		t.Fatalf("Auth(totp) = %s %q, want allow", r, msg)
	}
	if r, _, msg := authPasscode(t, f, "alice", code); r != "deny" || msg != msgUsed {
		t.Errorf("Auth(totp again) = %s %q, want deny %q", r, msg, msgUsed)
	}
}

func TestAuthLockoutWithDuoClient(t *testing.T) {
	f := newFixture(t)
	secret := []byte("12345678901234567890")
	f.app(f.user("alice", mfa.StatusActive), secret, false)
	s, _ := f.Store.GetSettings(t.Context())
	s.LockoutThreshold = 3
	if err := f.Store.PutSettings(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, status, _ := authPasscode(t, f, "alice", "111111"); status != "deny" {
			t.Fatalf("wrong code %d: status %s, want deny", i+1, status)
		}
	}
	if _, status, msg := authPasscode(t, f, "alice", "111111"); status != "locked_out" || !strings.Contains(msg, "locked out") {
		t.Errorf("3rd wrong code = %s %q, want locked_out", status, msg)
	}
	if r, status, _ := authPasscode(t, f, "alice", hotp(t, secret, 0)); r != "deny" || status != "locked_out" {
		t.Errorf("right code while locked = %s/%s, want deny/locked_out", r, status)
	}
	pre, err := f.Duo().Preauth(duoauth.PreauthUsername("alice"))
	if err != nil || pre.Response.Result != "deny" {
		t.Errorf("Preauth(locked) = %+v, %v; want deny", pre, err)
	}
}

func TestAuthStatusWithDuoClient(t *testing.T) {
	f := newFixture(t)
	f.user("bob", mfa.StatusBypass)
	if r, status, msg := authPasscode(t, f, "bob", "123456"); r != "allow" || status != "bypass" {
		t.Errorf("Auth(bypass user) = %s/%s %q, want allow/bypass", r, status, msg)
	}
	f.user("carol", mfa.StatusDisabled)
	if r, _, _ := authPasscode(t, f, "carol", "123456"); r != "deny" {
		t.Errorf("Auth(disabled user) = %s, want deny", r)
	}
}

func TestAuthBadParams(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		give   url.Values
		detail string
	}{
		{url.Values{"username": {"alice"}}, "factor"},
		{url.Values{"username": {"alice"}, "factor": {"push"}, "async": {"yes"}}, "async"},
		{url.Values{"username": {"alice"}, "factor": {"push"}, "pushinfo": {strings.Repeat("a=b&", 5001)}}, "pushinfo"},
		{url.Values{"username": {"alice"}, "factor": {"prompt"}}, "prompt"},
		{url.Values{"username": {"alice"}, "factor": {"bogus"}}, "factor"},
		{url.Values{"username": {"alice"}, "factor": {"passcode"}}, "passcode"},
		{url.Values{"factor": {"passcode"}, "passcode": {"123456"}}, "username"},
	}
	for _, tt := range tests {
		r := f.Call("POST", "/auth/v2/auth", tt.give)
		if r.Status != 400 || r.Code != 40002 || !strings.HasPrefix(r.MessageDetail, tt.detail) {
			t.Errorf("auth %v = %d %d %q, want 400 40002 naming %s", tt.give, r.Status, r.Code, r.MessageDetail, tt.detail)
		}
	}
}

func TestAuthSMSWithDuoClient(t *testing.T) {
	f := newFixture(t)
	p := f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)
	for _, device := range []string{"auto", p.ID} {
		got, err := f.Duo().Auth("sms", duoauth.AuthUsername("alice"), duoauth.AuthDevice(device))
		if err != nil || got.Stat != "OK" {
			t.Fatalf("Auth(sms, %s) = %v %+v", device, err, got)
		}
		if r := got.Response; r.Result != "deny" || r.Status != "sent" || r.Status_Msg != "New SMS passcodes sent" {
			t.Errorf("Auth(sms, %s) = %s/%s %q, want deny/sent", device, r.Result, r.Status, r.Status_Msg)
		}
	}
	msgs := f.Notes.Messages()
	if len(msgs) != 2 || msgs[1].To != p.Number {
		t.Fatalf("messages = %d, want 2 to the phone", len(msgs))
	}
	codes := strings.Fields(string(msgs[1].Body))[2:]
	if r, status, msg := authPasscode(t, f, "alice", codes[0]); r != "allow" || status != "allow" {
		t.Errorf("Auth(SMS code) = %s/%s %q, want allow", r, status, msg)
	}
	r := f.Call("POST", "/auth/v2/auth", url.Values{"username": {"alice"}, "factor": {"sms"}, "device": {"DPXXXXXXXXXXXXXXXXXX"}})
	if r.Status != 400 || r.Code != 40002 || !strings.HasPrefix(r.MessageDetail, "device") {
		t.Errorf("auth(sms, unknown device) = %d %d %q, want 400 40002 device", r.Status, r.Code, r.MessageDetail)
	}
}
