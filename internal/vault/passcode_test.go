package vault_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/vault"
)

func otpAccount(secret string, alg vault.Algorithm, digits int, totp bool) vault.Account {
	a := vault.Account{Name: "t", Kind: vault.KindOTPAuth, Secret: vault.Secret(secret), Algorithm: alg, Digits: digits}
	if totp {
		a.UseTOTP, a.Period = true, 30
	}
	return a
}

// RFC 4226 appendix D.
func TestPasscodeHOTPRFC4226(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	a := otpAccount("12345678901234567890", vault.SHA1, 6, false)
	for c, w := range want {
		a.Counter = uint64(c)
		p, err := a.Passcode(time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Code != w || p.Counter != uint64(c) || !p.Expires.IsZero() {
			t.Errorf("Passcode(counter %d) = %+v, want code %s", c, p, w)
		}
	}
}

// RFC 6238 appendix B, with each algorithm's seed.
func TestPasscodeTOTPRFC6238(t *testing.T) {
	seeds := map[vault.Algorithm]string{
		vault.SHA1:   "12345678901234567890",
		vault.SHA256: "12345678901234567890123456789012",
		vault.SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	tests := []struct {
		give int64
		want map[vault.Algorithm]string
	}{
		{59, map[vault.Algorithm]string{vault.SHA1: "94287082", vault.SHA256: "46119246", vault.SHA512: "90693936"}},
		{1111111109, map[vault.Algorithm]string{vault.SHA1: "07081804", vault.SHA256: "68084774", vault.SHA512: "25091201"}},
		{1111111111, map[vault.Algorithm]string{vault.SHA1: "14050471", vault.SHA256: "67062674", vault.SHA512: "99943326"}},
		{1234567890, map[vault.Algorithm]string{vault.SHA1: "89005924", vault.SHA256: "91819424", vault.SHA512: "93441116"}},
		{2000000000, map[vault.Algorithm]string{vault.SHA1: "69279037", vault.SHA256: "90698825", vault.SHA512: "38618901"}},
		{20000000000, map[vault.Algorithm]string{vault.SHA1: "65353130", vault.SHA256: "77737706", vault.SHA512: "47863826"}},
	}
	for _, tt := range tests {
		for alg, want := range tt.want {
			a := otpAccount(seeds[alg], alg, 8, true)
			now := time.Unix(tt.give, 0)
			p, err := a.Passcode(now)
			if err != nil {
				t.Fatal(err)
			}
			if p.Code != want {
				t.Errorf("%s Passcode(%d) = %s, want %s", alg, tt.give, p.Code, want)
			}
			wantExp := time.Unix((tt.give/30+1)*30, 0)
			if !p.Expires.Equal(wantExp) {
				t.Errorf("%s Passcode(%d).Expires = %v, want %v", alg, tt.give, p.Expires, wantExp)
			}
		}
	}
}

// A twostep install's key is the ASCII bytes of hotp_secret, never
// hex-decoded; internal/otp (the server's verifier) must agree.
func TestPasscodeMatchesServerOTP(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	a := vault.Account{Name: "corp", Kind: vault.KindTwostep, APIHost: "h", PKey: "DP", PrivateKey: "k",
		Secret: vault.Secret(secret), Algorithm: vault.SHA1, Digits: 6}
	for _, c := range []uint64{0, 1, 2, 99, 1 << 40} {
		a.Counter = c
		p, err := a.Passcode(time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if want := otp.HOTP([]byte(secret), c, 6); p.Code != want {
			t.Errorf("Passcode(counter %d) = %s, want %s (otp.HOTP)", c, p.Code, want)
		}
	}
	a.UseTOTP, a.Period = true, 30
	now := time.Unix(1795299940, 0)
	p, _ := a.Passcode(now)
	if want := otp.TOTP([]byte(secret), now, 30, 6); p.Code != want {
		t.Errorf("TOTP Passcode = %s, want %s", p.Code, want)
	}
}

func TestNext(t *testing.T) {
	a := otpAccount("12345678901234567890", vault.SHA1, 6, false)
	if err := a.Next(); err != nil || a.Counter != 1 {
		t.Fatalf("Next() = %v, counter %d; want nil, 1", err, a.Counter)
	}
	a.Counter = ^uint64(0)
	if err := a.Next(); err == nil {
		t.Error("Next() at the last counter = nil, want an error")
	}
	tt := otpAccount("12345678901234567890", vault.SHA1, 6, true)
	if err := tt.Next(); err == nil || !strings.Contains(err.Error(), "time-based") {
		t.Errorf("Next() on TOTP = %v, want a time-based error", err)
	}
}

func TestPasscodeRefusesInvalidAccount(t *testing.T) {
	tests := []struct {
		name string
		give vault.Account
	}{
		{"no secret", vault.Account{Name: "a", Kind: vault.KindOTPAuth, Algorithm: vault.SHA1, Digits: 6}},
		{"digits", otpAccount("12345678901234567890", vault.SHA1, 5, false)},
		{"algorithm", otpAccount("12345678901234567890", "MD5", 6, false)},
		{"period", vault.Account{Name: "a", Kind: vault.KindOTPAuth, Secret: vault.Secret("x"), Algorithm: vault.SHA1, Digits: 6, UseTOTP: true}},
		{"kind", vault.Account{Name: "a", Kind: "sms", Secret: vault.Secret("x"), Algorithm: vault.SHA1, Digits: 6}},
		{"twostep without key", vault.Account{Name: "a", Kind: vault.KindTwostep, APIHost: "h", PKey: "p", Secret: vault.Secret("x"), Algorithm: vault.SHA1, Digits: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.give.Passcode(time.Unix(100, 0)); err == nil {
				t.Errorf("Passcode() = nil error, want one")
			}
		})
	}
}
