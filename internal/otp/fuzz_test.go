package otp

import (
	"errors"
	"strings"
	"testing"
)

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"123456", "012345678", "push2", "SMS", "phone99", yubicoOTP, "", " \t", "push0", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, digits, keyword, device := Classify(s)
		switch kind {
		case KindDigits:
			if digits < 6 || digits > 9 || keyword != "" || device != 0 {
				t.Errorf("Classify(%q) = %v, %d, %q, %d: inconsistent", s, kind, digits, keyword, device)
			}
		case KindYubiKey:
			if !IsModhex(strings.TrimSpace(s)) {
				t.Errorf("Classify(%q) = yubikey, but not modhex", s)
			}
		case KindKeyword:
			if keyword != "push" && keyword != "phone" && keyword != "sms" || device < 0 || device > 99 {
				t.Errorf("Classify(%q) = keyword %q device %d", s, keyword, device)
			}
		case KindInvalid:
			if digits != 0 || keyword != "" || device != 0 {
				t.Errorf("Classify(%q) = invalid with extras", s)
			}
		default:
			t.Errorf("Classify(%q) = unknown kind %v", s, kind)
		}
	})
}

func FuzzParseYubiKeyOTP(f *testing.F) {
	key, uid := mustHex(f, yubicoKeyHex), mustHex(f, yubicoUIDHex)
	for _, s := range []string{yubicoOTP, strings.ToUpper(yubicoOTP), "", "c", strings.Repeat("v", 64), strings.Repeat("c", 66), "dteffuje"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		y, err := ParseYubiKeyOTP(s, key, uid)
		if err != nil {
			if !errors.Is(err, ErrYubiKeyFormat) && !errors.Is(err, ErrYubiKeyCRC) && !errors.Is(err, ErrYubiKeyIdentity) {
				t.Errorf("ParseYubiKeyOTP(%q) error = %v, want a sentinel", s, err)
			}
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Errorf("ParseYubiKeyOTP(%q) error echoes the input", s)
			}
			return
		}
		// A success round-trips through the encoder.
		again, err := EncodeYubiKeyOTP(y, key)
		if err != nil {
			t.Fatalf("EncodeYubiKeyOTP(parsed %q) error = %v", s, err)
		}
		y2, err := ParseYubiKeyOTP(again, key, uid)
		if err != nil || y2 != y {
			t.Errorf("round trip of %q: %v, %v", s, y2, err)
		}
	})
}

func FuzzVerifyHOTP(f *testing.F) {
	f.Add([]byte("12345678901234567890"), "755224", uint64(0), 10, 6)
	f.Add([]byte{}, "", uint64(0), 0, 0)
	f.Add([]byte("k"), "12345678", ^uint64(0)-3, 20, 8)
	f.Add([]byte("k"), "1234567x", uint64(5), -1, 9)
	f.Fuzz(func(t *testing.T, secret []byte, code string, next uint64, window, digits int) {
		window %= 200 // keep each run quick; the sign is kept
		counter, ok := VerifyHOTP(secret, code, next, window, digits)
		if !ok {
			return
		}
		if counter < next || counter-next >= uint64(window) {
			t.Errorf("VerifyHOTP(next %d, window %d) = %d outside the window", next, window, counter)
		}
		if got := HOTP(secret, counter, digits); got != code {
			t.Errorf("VerifyHOTP matched counter %d whose code differs", counter)
		}
		var codes [3]string
		for i := range codes {
			codes[i] = HOTP(secret, counter+uint64(i), digits)
		}
		if counter < ^uint64(0)-3 {
			if n, ok := ResyncHOTP(secret, codes, counter, 1, digits); !ok || n != counter+3 {
				t.Errorf("ResyncHOTP at matched counter %d = %d, %v, want %d, true", counter, n, ok, counter+3)
			}
		}
	})
}
