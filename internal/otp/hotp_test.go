package otp

import (
	"testing"
	"time"
)

// rfcSecret is the seed of RFC 4226 Appendix D and RFC 6238 Appendix B (SHA1).
var rfcSecret = []byte("12345678901234567890")

func TestHOTPRFC4226(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		if got := HOTP(rfcSecret, uint64(counter), 6); got != w {
			t.Errorf("HOTP(rfc, %d, 6) = %s, want %s", counter, got, w)
		}
	}
}

func TestTOTPRFC6238(t *testing.T) {
	tests := []struct {
		give int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, tt := range tests {
		if got := TOTP(rfcSecret, time.Unix(tt.give, 0), 30, 8); got != tt.want {
			t.Errorf("TOTP(rfc, %d, 30, 8) = %s, want %s", tt.give, got, tt.want)
		}
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		give int64
		step int
		want int64
	}{
		{0, 30, 0},
		{29, 30, 0},
		{30, 30, 1},
		{59, 30, 1},
		{1111111109, 30, 0x23523EC},
		{20000000000, 30, 0x27BC86AA},
		{-1, 30, -1},
		{-30, 30, -1},
		{-31, 30, -2},
		{119, 60, 1},
	}
	for _, tt := range tests {
		if got := Step(time.Unix(tt.give, 0), tt.step); got != tt.want {
			t.Errorf("Step(%d, %d) = %d, want %d", tt.give, tt.step, got, tt.want)
		}
	}
}

func TestHOTPPanicsOnBadDigits(t *testing.T) {
	for _, d := range []int{-1, 0, 5, 9, 10} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("HOTP(rfc, 0, %d) did not panic", d)
				}
			}()
			HOTP(rfcSecret, 0, d)
		}()
	}
}

func TestVerifyHOTPWindow(t *testing.T) {
	const next, window = 100, 10
	tests := []struct {
		name   string
		give   uint64 // counter whose code is presented
		want   uint64
		wantOK bool
	}{
		{"first in window", next, next, true},
		{"last in window", next + window - 1, next + window - 1, true},
		{"just before window", next - 1, 0, false},
		{"just after window", next + window, 0, false},
	}
	for _, tt := range tests {
		code := HOTP(rfcSecret, tt.give, 6)
		got, ok := VerifyHOTP(rfcSecret, code, next, window, 6)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: VerifyHOTP(code@%d, next %d, window %d) = %d, %v, want %d, %v",
				tt.name, tt.give, next, window, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestVerifyHOTPRefuses(t *testing.T) {
	code6 := HOTP(rfcSecret, 0, 6)
	code8 := HOTP(rfcSecret, 0, 8)
	tests := []struct {
		name   string
		secret []byte
		code   string
		window int
		digits int
	}{
		{"8-digit code, 6 expected", rfcSecret, code8, 10, 6},
		{"6-digit code, 8 expected", rfcSecret, code6, 10, 8},
		{"digits 5", rfcSecret, code6[:5], 10, 5},
		{"digits 9", rfcSecret, code6 + "000", 10, 9},
		{"empty secret", nil, code6, 10, 6},
		{"zero window", rfcSecret, code6, 0, 6},
		{"negative window", rfcSecret, code6, -5, 6},
		{"empty code", rfcSecret, "", 10, 6},
		{"non-digit", rfcSecret, "75522a", 10, 6},
		{"space padded", rfcSecret, " 75522", 10, 6},
		{"wrong code", rfcSecret, "000000", 1, 6},
	}
	for _, tt := range tests {
		if got, ok := VerifyHOTP(tt.secret, tt.code, 0, tt.window, tt.digits); ok {
			t.Errorf("%s: VerifyHOTP = %d, true, want refusal", tt.name, got)
		}
	}
}

func TestVerifyHOTPCounterOverflow(t *testing.T) {
	const maxU = ^uint64(0)
	// The window reaches past the top of the counter space; the search stops
	// before MaxUint64 instead of wrapping to 0.
	if got, ok := VerifyHOTP(rfcSecret, HOTP(rfcSecret, 0, 6), maxU-2, 10, 6); ok {
		t.Errorf("VerifyHOTP(code@0, next max-2) = %d, true, want refusal (no wrap)", got)
	}
	if got, ok := VerifyHOTP(rfcSecret, HOTP(rfcSecret, maxU, 6), maxU-2, 10, 6); ok {
		t.Errorf("VerifyHOTP(code@max) = %d, true, want refusal", got)
	}
	if got, ok := VerifyHOTP(rfcSecret, HOTP(rfcSecret, maxU-1, 6), maxU-2, 10, 6); !ok || got != maxU-1 {
		t.Errorf("VerifyHOTP(code@max-1) = %d, %v, want %d, true", got, ok, maxU-1)
	}
}

func TestVerifyTOTPSkew(t *testing.T) {
	const stepSec, skew = 30, 2
	now := time.Unix(1_700_000_015, 0)
	cur := Step(now, stepSec)
	tests := []struct {
		name   string
		give   int64 // step whose code is presented
		wantOK bool
	}{
		{"current", cur, true},
		{"oldest accepted", cur - skew, true},
		{"newest accepted", cur + skew, true},
		{"too old", cur - skew - 1, false},
		{"too new", cur + skew + 1, false},
	}
	for _, tt := range tests {
		for _, digits := range []int{6, 8} {
			code := HOTP(rfcSecret, uint64(tt.give), digits)
			got, ok := VerifyTOTP(rfcSecret, code, now, stepSec, skew, digits)
			if ok != tt.wantOK || (ok && got != tt.give) {
				t.Errorf("%s: VerifyTOTP(code@step %d, now step %d, skew %d, %d digits) = %d, %v, want %d, %v",
					tt.name, tt.give, cur, skew, digits, got, ok, tt.give, tt.wantOK)
			}
		}
	}
}

func TestVerifyTOTPStepBoundary(t *testing.T) {
	// With skew 0 the code of step n is accepted from the first to the last
	// second of that step only.
	code := TOTP(rfcSecret, time.Unix(60, 0), 30, 6) // step 2
	tests := []struct {
		give   int64
		wantOK bool
	}{
		{59, false},
		{60, true},
		{89, true},
		{90, false},
	}
	for _, tt := range tests {
		got, ok := VerifyTOTP(rfcSecret, code, time.Unix(tt.give, 0), 30, 0, 6)
		if ok != tt.wantOK || (ok && got != 2) {
			t.Errorf("VerifyTOTP(code@step 2, t=%d, skew 0) = %d, %v, want 2, %v", tt.give, got, ok, tt.wantOK)
		}
	}
}

func TestVerifyTOTPRefuses(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	code6 := TOTP(rfcSecret, now, 30, 6)
	tests := []struct {
		name   string
		secret []byte
		code   string
		step   int
		skew   int
		digits int
	}{
		{"wrong digits", rfcSecret, code6, 30, 1, 8},
		{"digits 4", rfcSecret, code6[:4], 30, 1, 4},
		{"empty secret", []byte{}, code6, 30, 1, 6},
		{"zero step", rfcSecret, code6, 0, 1, 6},
		{"negative skew", rfcSecret, code6, 30, -1, 6},
		{"non-digit", rfcSecret, "12345x", 30, 1, 6},
	}
	for _, tt := range tests {
		if got, ok := VerifyTOTP(tt.secret, tt.code, now, tt.step, tt.skew, tt.digits); ok {
			t.Errorf("%s: VerifyTOTP = %d, true, want refusal", tt.name, got)
		}
	}
	// Before 1970 no step is matched, even with a skew reaching step 0.
	if got, ok := VerifyTOTP(rfcSecret, HOTP(rfcSecret, 0, 6), time.Unix(-31, 0), 30, 1, 6); ok {
		t.Errorf("VerifyTOTP(code@0, t=-31, skew 1) = %d, true, want refusal", got)
	}
}

func threeCodes(c uint64, digits int) [3]string {
	return [3]string{HOTP(rfcSecret, c, digits), HOTP(rfcSecret, c+1, digits), HOTP(rfcSecret, c+2, digits)}
}

func TestResyncHOTP(t *testing.T) {
	const scan = 1000
	tests := []struct {
		name   string
		from   uint64
		codes  [3]string
		digits int
		want   uint64
		wantOK bool
	}{
		{"at from", 0, threeCodes(0, 6), 6, 3, true},
		{"last scanned", 0, threeCodes(scan-1, 6), 6, scan + 2, true},
		{"8 digits", 500, threeCodes(900, 8), 8, 903, true},
		{"beyond scan", 0, threeCodes(scan, 6), 6, 0, false},
		{"before from", 10, threeCodes(9, 6), 6, 0, false},
		{"gap between codes", 0, [3]string{HOTP(rfcSecret, 5, 6), HOTP(rfcSecret, 6, 6), HOTP(rfcSecret, 8, 6)}, 6, 0, false},
		{"out of order", 0, [3]string{HOTP(rfcSecret, 6, 6), HOTP(rfcSecret, 5, 6), HOTP(rfcSecret, 7, 6)}, 6, 0, false},
		{"same code thrice", 0, [3]string{HOTP(rfcSecret, 5, 6), HOTP(rfcSecret, 5, 6), HOTP(rfcSecret, 5, 6)}, 6, 0, false},
		{"wrong digits", 0, threeCodes(5, 6), 8, 0, false},
		{"malformed code", 0, [3]string{"abcdef", HOTP(rfcSecret, 1, 6), HOTP(rfcSecret, 2, 6)}, 6, 0, false},
	}
	for _, tt := range tests {
		got, ok := ResyncHOTP(rfcSecret, tt.codes, tt.from, scan, tt.digits)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: ResyncHOTP(from %d, scan %d) = %d, %v, want %d, %v", tt.name, tt.from, scan, got, ok, tt.want, tt.wantOK)
		}
	}
	if got, ok := ResyncHOTP(nil, threeCodes(0, 6), 0, scan, 6); ok {
		t.Errorf("ResyncHOTP(empty secret) = %d, true, want refusal", got)
	}
	if got, ok := ResyncHOTP(rfcSecret, threeCodes(0, 6), 0, 0, 6); ok {
		t.Errorf("ResyncHOTP(scan 0) = %d, true, want refusal", got)
	}
}

func BenchmarkVerifyHOTP(b *testing.B) {
	code := HOTP(rfcSecret, 9, 6)
	for b.Loop() {
		VerifyHOTP(rfcSecret, code, 0, 10, 6)
	}
}
