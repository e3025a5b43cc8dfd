package authflow_test

import (
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

// FuzzAuthPasscode feeds arbitrary passcodes through classification and
// every verifier (app, OATH tokens, YubiKey, SMS, bypass) of one user on a
// real store: no panic, no error, and an allow only for a well-formed code.
func FuzzAuthPasscode(f *testing.F) {
	for _, s := range []string{"", "123456", "12345678", "1234567", "111222333", "123456789", "push", "sms2",
		" 755224 ", "287082", strings.Repeat("c", 32), strings.Repeat("v", 44), strings.Repeat("C", 64),
		"\x00\xff", "1234567890", "٣٣٣٣٣٣"} {
		f.Add(s)
	}
	e := newEnv(f)
	u := e.user("alice", mfa.StatusActive)
	e.app(u, 0, false)
	e.token(u, mfa.Token{Type: mfa.TokenH8, Secret: mfa.Secret(seed)})
	e.token(u, mfa.Token{Type: mfa.TokenT6, Secret: mfa.Secret(seed)})
	e.token(u, mfa.Token{Type: mfa.TokenYK, AESKey: mfa.Secret("0123456789abcdef"), PrivateID: mfa.Secret("\x01\x02\x03\x04\x05\x06")})
	e.bypass(u, "111222333", 1)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 0 })
	f.Fuzz(func(t *testing.T, code string) {
		res, err := e.Svc.Auth(t.Context(), authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"},
			Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(code), Async: true})
		if code == "" {
			if mfa.KindOf(err) != mfa.Invalid {
				t.Fatalf("Auth(\"\") = %v, want Invalid", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Auth(%q) = %v", code, err)
		}
		kind, _, _, _ := otp.Classify(code)
		switch {
		case res.Result == authflow.ResultDeny:
		case res.TxID != "" && kind == otp.KindKeyword: // "push", "phone2": a transaction started
		case res.Result == authflow.ResultAllow && (kind == otp.KindDigits || kind == otp.KindYubiKey):
		default:
			t.Fatalf("Auth(%q) = %+v", code, res)
		}
	})
}
