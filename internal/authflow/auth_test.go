package authflow_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

func wantAuth(t *testing.T, what string, got authflow.AuthResult, result, status, msg string) {
	t.Helper()
	if got.Result != result || got.Status != status || got.StatusMsg != msg {
		t.Errorf("%s = %s/%s %q, want %s/%s %q", what, got.Result, got.Status, got.StatusMsg, result, status, msg)
	}
}

func wantLog(t *testing.T, e *env, userID, factor string, result mfa.AuthResult, reason string) {
	t.Helper()
	l := e.lastLog(userID)
	if l.Factor != factor || l.Result != result || l.Reason != reason {
		t.Errorf("auth log = %s/%s/%s, want %s/%s/%s", l.Factor, l.Result, l.Reason, factor, result, reason)
	}
	if l.TxID == "" || l.IKey != e.In.IKey || l.IntegrationName != e.In.Name || l.IP != "192.0.2.1" {
		t.Errorf("auth log = %+v, want txid, integration and ip set", l)
	}
}

func TestAuthHOTPAuthenticator(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	a := e.app(u, 5, false)

	code := otp.HOTP(seed, 8, 6) // three presses ahead: inside the window
	wantAuth(t, "Auth(counter 8)", e.auth("alice", code), "allow", "allow", authflow.MsgSuccess)
	wantLog(t, e, u.ID, "duo_mobile_passcode", mfa.ResultSuccess, "valid_passcode")
	if l := e.lastLog(u.ID); l.DeviceID != a.PhoneID || l.DeviceName != "work phone" {
		t.Errorf("auth log device = %s %q, want the phone", l.DeviceID, l.DeviceName)
	}
	wantAuth(t, "Auth(counter 8 again)", e.auth("alice", code), "deny", "deny", authflow.MsgUsed)
	wantLog(t, e, u.ID, "duo_mobile_passcode", mfa.ResultFailure, "used_passcode")
	// Codes just behind the counter are "already used", not "incorrect".
	wantAuth(t, "Auth(counter 7)", e.auth("alice", otp.HOTP(seed, 7, 6)), "deny", "deny", authflow.MsgUsed)
	wantAuth(t, "Auth(counter 19)", e.auth("alice", otp.HOTP(seed, 19, 6)), "deny", "deny", authflow.MsgIncorrect)
	wantLog(t, e, u.ID, "passcode", mfa.ResultFailure, "invalid_passcode")
	at := e.Clock.Now()
	wantAuth(t, "Auth(counter 9)", e.auth("alice", otp.HOTP(seed, 9, 6)), "allow", "allow", authflow.MsgSuccess)
	if n := len(e.logs(u.ID)); n != 5 {
		t.Errorf("auth log holds %d records, want one per decision (5)", n)
	}
	got := e.getUser(u.ID)
	if got.FailedAttempts != 0 || !got.LastLogin.Equal(at) {
		t.Errorf("user after success: failures %d, last login %v; want 0, now", got.FailedAttempts, got.LastLogin)
	}
}

func TestAuthTOTPAuthenticator(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.app(u, 0, true)
	code := otp.TOTP(seed, e.Clock.Now().Add(-30*time.Second), 30, 6)
	wantAuth(t, "Auth(previous step)", e.auth("alice", code), "allow", "allow", authflow.MsgSuccess)
	wantAuth(t, "Auth(previous step again)", e.auth("alice", code), "deny", "deny", authflow.MsgUsed)
	wantAuth(t, "Auth(now)", e.auth("alice", otp.TOTP(seed, e.Clock.Now(), 30, 6)), "allow", "allow", authflow.MsgSuccess)
	wantAuth(t, "Auth(2 steps ahead)", e.auth("alice", otp.TOTP(seed, e.Clock.Now().Add(time.Minute), 30, 6)), "deny", "deny", authflow.MsgIncorrect)
}

func TestAuthHardwareTokens(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	h6 := e.token(u, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed), Counter: 100})
	h8 := e.token(u, mfa.Token{Type: mfa.TokenH8, Secret: mfa.Secret("another-secret-of-20"), Counter: 3})
	e.token(u, mfa.Token{Type: mfa.TokenT6, Secret: mfa.Secret("totp6-secret-0000000"), TOTPStep: 60})
	e.token(u, mfa.Token{Type: mfa.TokenT8, Secret: mfa.Secret("totp8-secret-0000000")})
	aes := []byte("0123456789abcdef")
	priv := [6]byte{1, 2, 3, 4, 5, 6}
	yk := e.token(u, mfa.Token{Type: mfa.TokenYK, Serial: "ccccccbcgujh", AESKey: aes, PrivateID: priv[:], YKCounter: 5<<8 | 1})
	ykOTP := func(use uint16, session uint8) string {
		s, err := otp.EncodeYubiKeyOTP(otp.YubiKeyOTP{PublicID: "ccccccbcgujh", PrivateID: priv, UseCounter: use,
			SessionCounter: session, Timestamp: 1234}, aes)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := e.Clock.Now()
	tests := []struct {
		name, code, factor string
		device             string
	}{
		{"h6", otp.HOTP(seed, 101, 6), "hardware_token", h6.ID},
		{"h8", otp.HOTP([]byte("another-secret-of-20"), 3, 8), "hardware_token", h8.ID},
		{"t6", otp.TOTP([]byte("totp6-secret-0000000"), now, 60, 6), "hardware_token", ""},
		{"t8", otp.TOTP([]byte("totp8-secret-0000000"), now, 30, 8), "hardware_token", ""},
		{"yk", ykOTP(5, 2), "yubikey_passcode", yk.ID},
		{"yk upper case", strings.ToUpper(ykOTP(6, 0)), "yubikey_passcode", yk.ID},
	}
	for _, tt := range tests {
		wantAuth(t, "Auth("+tt.name+")", e.auth("alice", tt.code), "allow", "allow", authflow.MsgSuccess)
		wantLog(t, e, u.ID, tt.factor, mfa.ResultSuccess, "valid_passcode")
		if l := e.lastLog(u.ID); tt.device != "" && l.DeviceID != tt.device {
			t.Errorf("Auth(%s) logged device %s, want %s", tt.name, l.DeviceID, tt.device)
		}
		wantAuth(t, "Auth("+tt.name+" again)", e.auth("alice", tt.code), "deny", "deny", authflow.MsgUsed)
	}
	// An older YubiKey OTP (lower counter) is already used.
	wantAuth(t, "Auth(yk old)", e.auth("alice", ykOTP(5, 1)), "deny", "deny", authflow.MsgUsed)
	// A token's own code past its window is incorrect.
	wantAuth(t, "Auth(h6 far ahead)", e.auth("alice", otp.HOTP(seed, 150, 6)), "deny", "deny", authflow.MsgIncorrect)
}

func TestAuthSMSPasscode(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	p := e.phone(u, "+15555550199", mfa.PhoneMobile)
	err := e.Store.ReplaceSMSBatch(e.ctx, mfa.SMSBatch{ID: e.id(mfa.PrefixSMSBatch), UserID: u.ID, PhoneID: p.ID,
		Codes: []mfa.Passcode{"1234567", "2345678"}, Created: e.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(sms)", e.auth("alice", "2345678"), "allow", "allow", authflow.MsgSuccess)
	wantLog(t, e, u.ID, "sms_passcode", mfa.ResultSuccess, "valid_passcode")
	wantAuth(t, "Auth(sms again)", e.auth("alice", "2345678"), "deny", "deny", authflow.MsgUsed)
	wantAuth(t, "Auth(unknown sms)", e.auth("alice", "3456789"), "deny", "deny", authflow.MsgIncorrect)
	wantLog(t, e, u.ID, "sms_passcode", mfa.ResultFailure, "invalid_passcode")
}

func TestAuthBypassCodes(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.app(u, 0, false)
	e.bypass(u, "123456789", 2)
	for i := range 2 {
		wantAuth(t, "Auth(bypass)", e.auth("alice", "123456789"), "allow", "allow", authflow.MsgSuccess)
		wantLog(t, e, u.ID, "bypass_code", mfa.ResultSuccess, "valid_passcode")
		_ = i
	}
	wantAuth(t, "Auth(bypass, 3rd use)", e.auth("alice", "123456789"), "deny", "deny", authflow.MsgIncorrect)
	wantLog(t, e, u.ID, "bypass_code", mfa.ResultFailure, "invalid_passcode")

	e.bypass(u, "987654321", 0)
	refusing := e.In
	refusing.RefuseBypassCodes = true
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: refusing, Who: authflow.Who{Username: "alice"},
		Factor: mfa.FactorPasscode, Passcode: "987654321", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(bypass, refusing app)", res, "deny", "deny", authflow.MsgBypassRefused)
	if l := e.lastLog(u.ID); l.Result != mfa.ResultDenied || l.Reason != "bypass_code_refused" {
		t.Errorf("auth log = %s/%s, want denied/bypass_code_refused", l.Result, l.Reason)
	}
	wantAuth(t, "Auth(unlimited bypass)", e.auth("alice", "987654321"), "allow", "allow", authflow.MsgSuccess)
	wantAuth(t, "Auth(unlimited bypass again)", e.auth("alice", "987654321"), "allow", "allow", authflow.MsgSuccess)
}

func TestAuthBypassCodeNeedsDevice(t *testing.T) {
	e := newEnv(t)
	u := e.user("erin", mfa.StatusActive) // no device
	e.bypass(u, "123456789", 1)
	wantAuth(t, "Auth(bypass, no device)", e.auth("erin", "123456789"), "deny", "deny", authflow.MsgEnroll)
	wantLog(t, e, u.ID, "passcode", mfa.ResultDenied, "user_not_enrolled")
	codes, _, err := e.Store.ListBypassCodes(e.ctx, mfa.BypassFilter{UserID: u.ID})
	if err != nil || len(codes) != 1 || codes[0].UsesLeft != 1 {
		t.Errorf("bypass codes after refusal = %+v, %v; want the code unspent", codes, err)
	}
}

func TestAuthUserStatus(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"bob", "carol", "dave"} {
		status := map[string]mfa.UserStatus{"bob": mfa.StatusBypass, "carol": mfa.StatusDisabled, "dave": mfa.StatusLockedOut}[name]
		e.app(e.user(name, status), 0, false)
	}
	tests := []struct {
		user, result, status, msg string
		logResult                 mfa.AuthResult
		reason                    string
	}{
		{"bob", "allow", "bypass", authflow.MsgBypassUser, mfa.ResultSuccess, "bypass_user"},
		{"carol", "deny", "deny", authflow.MsgDisabled, mfa.ResultDenied, "user_disabled"},
		{"dave", "deny", "locked_out", authflow.MsgLockedOut, mfa.ResultDenied, "locked_out"},
		{"nobody", "deny", "deny", authflow.MsgEnroll, mfa.ResultDenied, "user_not_enrolled"},
	}
	for _, tt := range tests {
		wantAuth(t, "Auth("+tt.user+")", e.auth(tt.user, "000000"), tt.result, tt.status, tt.msg)
		l := e.logs("")
		if got := l[len(l)-1]; got.Username != tt.user || got.Result != tt.logResult || got.Reason != tt.reason {
			t.Errorf("Auth(%s) logged %s %s/%s, want %s/%s", tt.user, got.Username, got.Result, got.Reason, tt.logResult, tt.reason)
		}
	}
	allow := e.In
	allow.EnrollPolicy = mfa.EnrollPolicyAllow
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: allow, Who: authflow.Who{Username: "nobody"},
		Factor: mfa.FactorPasscode, Passcode: "x"})
	if err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(unknown, allow policy)", res, "allow", "allow", authflow.MsgAllowUnknown)
}

func TestAuthLockout(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.app(u, 0, false)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 10 })

	for i := range 9 {
		wantAuth(t, "Auth(wrong)", e.auth("alice", "000000"), "deny", "deny", authflow.MsgIncorrect)
		_ = i
	}
	// A success resets the count.
	wantAuth(t, "Auth(right)", e.auth("alice", otp.HOTP(seed, 0, 6)), "allow", "allow", authflow.MsgSuccess)
	if got := e.getUser(u.ID).FailedAttempts; got != 0 {
		t.Fatalf("failures after success = %d, want 0", got)
	}
	for i := range 9 {
		wantAuth(t, "Auth(wrong)", e.auth("alice", "000000"), "deny", "deny", authflow.MsgIncorrect)
		_ = i
	}
	wantAuth(t, "Auth(10th wrong)", e.auth("alice", "000000"), "deny", "locked_out", authflow.MsgLockedOutNow)
	wantLog(t, e, u.ID, "passcode", mfa.ResultFailure, "invalid_passcode")
	// Locked out: even the right code is refused.
	wantAuth(t, "Auth(11th, right code)", e.auth("alice", otp.HOTP(seed, 1, 6)), "deny", "locked_out", authflow.MsgLockedOut)
	wantLog(t, e, u.ID, "passcode", mfa.ResultDenied, "locked_out")
	got := e.getUser(u.ID)
	if got.Status != mfa.StatusLockedOut || got.FailedAttempts != 11 {
		t.Errorf("user = %s with %d failures, want locked out with 11", got.Status, got.FailedAttempts)
	}
	// An administrator's reset lets the right code in again.
	if err := e.Store.ResetAuthFailures(e.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, "Auth(after reset)", e.auth("alice", otp.HOTP(seed, 1, 6)), "allow", "allow", authflow.MsgSuccess)
}

func TestAuthInvalidRequests(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		factor mfa.Factor
		code   mfa.Passcode
		who    authflow.Who
		field  string
	}{
		{"", "123456", authflow.Who{Username: "a"}, "factor"},
		{"push", "", authflow.Who{}, "username"},
		{"auto", "", authflow.Who{UserID: "DU1", Username: "a"}, "user_id"},
		{"phone", "", authflow.Who{}, "username"},
		{"sms", "", authflow.Who{}, "username"}, // sms is served: only the request is checked
		{"carrier-pigeon", "", authflow.Who{Username: "a"}, "factor"},
		{"passcode", "", authflow.Who{Username: "a"}, "passcode"},
		{"passcode", "123456", authflow.Who{}, "username"},
	}
	for _, tt := range tests {
		_, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: tt.who, Factor: tt.factor, Passcode: tt.code})
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != tt.field {
			t.Errorf("Auth(%s, %+v) = %v, want Invalid %s", tt.factor, tt.who, err, tt.field)
		}
	}
}

func TestAuthRateLimit(t *testing.T) {
	e := newEnv(t, authflow.WithLimits(authflow.Limit{Burst: 3, Every: time.Minute}, authflow.Limit{Burst: 5, Every: time.Minute}))
	e.app(e.user("alice", mfa.StatusActive), 0, false)
	e.app(e.user("bob", mfa.StatusActive), 0, false)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 0 })
	try := func(user, ip string) error {
		_, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
			Factor: mfa.FactorPasscode, Passcode: "000000", IP: ip})
		return err
	}
	for range 3 {
		if err := try("alice", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := try("alice", "192.0.2.2"); !errors.Is(err, mfa.ErrRateLimited) {
		t.Errorf("4th attempt for alice = %v, want RateLimited", err)
	}
	if err := try("bob", "192.0.2.1"); err != nil {
		t.Errorf("bob's 1st attempt = %v, want nil", err)
	}
	try("bob", "192.0.2.1")
	if err := try("bob", "192.0.2.1"); !errors.Is(err, mfa.ErrRateLimited) {
		t.Errorf("6th attempt from 192.0.2.1 = %v, want RateLimited", err)
	}
	e.Clock.Advance(time.Minute)
	if err := try("alice", "192.0.2.3"); err != nil {
		t.Errorf("alice after a minute = %v, want nil", err)
	}
	if n := len(e.logs("")); n != 6 {
		t.Errorf("auth log holds %d records, want 6 (throttled attempts write nothing)", n)
	}
}

func TestAuthNeverLogsPasscodes(t *testing.T) {
	var buf bytes.Buffer
	e := newEnv(t)
	e.Svc = authflow.New(e.Store, e.Clock.Now, rand.Reader, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	e.app(e.user("alice", mfa.StatusActive), 0, false)
	e.bypass(e.getUserByName("alice"), "555666777", 1)
	for _, c := range []string{"555666777", otp.HOTP(seed, 0, 6), "424242"} {
		e.auth("alice", c)
		if strings.Contains(buf.String(), c) {
			t.Errorf("log output %q contains the passcode", buf.String())
		}
	}
	if !strings.Contains(buf.String(), "result=") {
		t.Errorf("log output %q has no decisions", buf.String())
	}
}

func (e *env) getUserByName(name string) mfa.User {
	e.t.Helper()
	u, err := e.Store.GetUserByName(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// TestAuthCodeEqualToAUsedOne: a fresh code whose six digits happen to equal
// a recently used code's (about one code in 300,000) is accepted for its
// own counter or step, as RFC 4226 and 6238 ask; only a code that matches
// nothing but used counters is "already used". The coincidences were
// found by search over the RFC 4226 test secret: HOTP counter 153569 and
// 153567 both give 468457; TOTP steps 910737 and 910738 both give 911617.
func TestAuthCodeEqualToAUsedOne(t *testing.T) {
	if otp.HOTP(seed, 153569, 6) != "468457" || otp.HOTP(seed, 153567, 6) != "468457" ||
		otp.HOTP(seed, 910737, 6) != "911617" || otp.HOTP(seed, 910738, 6) != "911617" {
		t.Fatal("the coincidences this test relies on do not hold")
	}
	t.Run("hotp authenticator", func(t *testing.T) {
		e := newEnv(t)
		e.app(e.user("hope", mfa.StatusActive), 153569, false) // 153566..153568 used
		wantAuth(t, "Auth(counter 153569, digits of 153567)", e.auth("hope", "468457"), "allow", "allow", authflow.MsgSuccess)
		wantAuth(t, "Auth(the same code again)", e.auth("hope", "468457"), "deny", "deny", authflow.MsgUsed)
	})
	t.Run("hotp token", func(t *testing.T) {
		e := newEnv(t)
		e.token(e.user("hal", mfa.StatusActive), mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed), Counter: 153569})
		wantAuth(t, "Auth(counter 153569, digits of 153567)", e.auth("hal", "468457"), "allow", "allow", authflow.MsgSuccess)
		wantAuth(t, "Auth(the same code again)", e.auth("hal", "468457"), "deny", "deny", authflow.MsgUsed)
	})
	at := time.Unix(910738*30+5, 0).UTC() // step 910738; step 910737 is within the skew
	t.Run("totp authenticator", func(t *testing.T) {
		e := newEnv(t)
		e.Clock.Advance(at.Sub(e.Clock.Now()))
		e.app(e.user("tess", mfa.StatusActive), 0, true)
		// The first use takes the lowest step, 910737; the second, the
		// same digits, is step 910738's code; the third has none left.
		wantAuth(t, "Auth(911617) first", e.auth("tess", "911617"), "allow", "allow", authflow.MsgSuccess)
		wantAuth(t, "Auth(911617) second", e.auth("tess", "911617"), "allow", "allow", authflow.MsgSuccess)
		wantAuth(t, "Auth(911617) third", e.auth("tess", "911617"), "deny", "deny", authflow.MsgUsed)
	})
	t.Run("totp token", func(t *testing.T) {
		e := newEnv(t)
		e.Clock.Advance(at.Sub(e.Clock.Now()))
		e.token(e.user("tom", mfa.StatusActive), mfa.Token{Type: mfa.TokenT6, Secret: mfa.Secret(seed), TOTPStep: 30, LastStep: 910737})
		wantAuth(t, "Auth(step 910738, digits of the used 910737)", e.auth("tom", "911617"), "allow", "allow", authflow.MsgSuccess)
		wantAuth(t, "Auth(the same code again)", e.auth("tom", "911617"), "deny", "deny", authflow.MsgUsed)
	})
}
