package radiusd

import (
	"strings"

	"github.com/twostep-auth/twostep/internal/otp"
)

// Passcode lengths read from the end of a password without a comma.
const (
	minTrailingDigits = 6
	maxTrailingDigits = 9
)

// splitPassword reads the password field of an append-mode request into
// the first factor's password and the second factor (a passcode or a
// keyword: push, phone, sms, push2, ...), as Duo's Authentication Proxy
// does:
//   - without a first factor the whole field is the second factor;
//   - "password,factor": the part after the last comma, when it is a
//     passcode or a keyword;
//   - otherwise its last 6 to 9 digits, when the field ends in such a
//     run and holds something before it;
//   - otherwise the whole field is the password and factor is empty.
//
// A password that itself ends in 6 to 9 digits must use the comma form.
func splitPassword(field string, withPassword bool) (password, factor string) {
	if !withPassword {
		return "", strings.TrimSpace(field)
	}
	if i := strings.LastIndexByte(field, ','); i >= 0 {
		if f := strings.TrimSpace(field[i+1:]); IsFactor(f) {
			return field[:i], f
		}
	}
	j := len(field)
	for j > 0 && field[j-1] >= '0' && field[j-1] <= '9' {
		j--
	}
	if n := len(field) - j; n >= minTrailingDigits && n <= maxTrailingDigits && j > 0 {
		return field[:j], field[j:]
	}
	return field, ""
}

// IsFactor reports whether s reads as a second factor.
func IsFactor(s string) bool {
	kind, _, _, _ := otp.Classify(s)
	return kind != otp.KindInvalid
}
