package otp

import (
	"strconv"
	"strings"
)

// Kind is what a user typed into a single passcode box, judged by format
// only; nothing is verified.
type Kind int

const (
	// KindInvalid is anything else, including the empty string. It is the
	// zero value.
	KindInvalid Kind = iota
	// KindDigits is 6 to 9 decimal digits: an authenticator, token or SMS
	// passcode (6 to 8) or a bypass code (9). Classify reports the count.
	KindDigits
	// KindYubiKey is a Yubico OTP: 32 to 64 modhex characters, even length.
	KindYubiKey
	// KindKeyword is "push", "phone" or "sms", any case, optionally followed
	// by a device number 1 to 99 ("push2"), as Duo integrations accept in
	// the passcode field.
	KindKeyword
)

// Passcode lengths Classify reports as KindDigits.
const (
	minTypedDigits = 6
	maxTypedDigits = 9 // bypass codes are nine digits
)

var kindNames = [...]string{KindInvalid: "invalid", KindDigits: "digits", KindYubiKey: "yubikey", KindKeyword: "keyword"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Classify tells what kind of code s is, after trimming surrounding
// white space. For KindDigits, digits is the number of digits; for
// KindKeyword, keyword is "push", "phone" or "sms" and device the device
// number, 0 when none was given (use the default device). Other results are
// zero.
func Classify(s string) (kind Kind, digits int, keyword string, device int) {
	s = strings.TrimSpace(s)
	if n := len(s); n >= minTypedDigits && n <= maxTypedDigits && allDigits(s) {
		return KindDigits, n, "", 0
	}
	if len(s) >= YubiKeyMinLength && len(s) <= YubiKeyMaxLength && IsModhex(s) {
		return KindYubiKey, 0, "", 0
	}
	lower := strings.ToLower(s)
	for _, kw := range [...]string{"push", "phone", "sms"} {
		rest, found := strings.CutPrefix(lower, kw)
		if !found {
			continue
		}
		if rest == "" {
			return KindKeyword, 0, kw, 0
		}
		// 1..99 without a leading zero.
		if len(rest) <= 2 && allDigits(rest) && rest[0] != '0' {
			n := int(rest[0] - '0')
			if len(rest) == 2 {
				n = n*10 + int(rest[1]-'0')
			}
			return KindKeyword, 0, kw, n
		}
	}
	return KindInvalid, 0, "", 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
