package otp

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// FuzzClassify (fuzz_test.go) checks that each result is self-consistent.
// The fuzzers here check that it is the right result: against a reference
// written from Classify's documentation alone, and on inputs built to be of
// a known kind.

// Reference rules, from the Kind documentation.
var (
	refDigits  = regexp.MustCompile(`^[0-9]{6,9}$`)
	refModhex  = regexp.MustCompile(`^[cbdefghijklnrtuvCBDEFGHIJKLNRTUV]{32,64}$`)
	refKeyword = regexp.MustCompile(`^(push|phone|sms)([1-9][0-9]?)?$`)
)

// referenceClassify is Classify as documented: after trimming white space,
// 6-9 ASCII digits; or 32-64 modhex characters of even length, either case;
// or push/phone/sms in any (ASCII) case with an optional device 1-99
// without a leading zero; else invalid.
func referenceClassify(s string) (Kind, int, string, int) {
	s = strings.TrimSpace(s)
	if refDigits.MatchString(s) {
		return KindDigits, len(s), "", 0
	}
	if refModhex.MatchString(s) && len(s)%2 == 0 {
		return KindYubiKey, 0, "", 0
	}
	lower := strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
	if m := refKeyword.FindStringSubmatch(lower); m != nil {
		n := 0
		if m[2] != "" {
			fmt.Sscanf(m[2], "%d", &n)
		}
		return KindKeyword, 0, m[1], n
	}
	return KindInvalid, 0, "", 0
}

func FuzzClassifyReference(f *testing.F) {
	for _, s := range []string{
		"123456", " 987654321\n", "1234567890", "12345", "１２３４５６", "push", "PuSh12", "push012", "sms0",
		"phone99", "phone100", "ſms", "\u212aey", "push\u00a0", "\u00a0123456\u2003", "\u0085sms3\u0085",
		"cccccccccccccccccccccccccccccccc", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "İpush", "smS\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, digits, keyword, device := Classify(s)
		wk, wd, wkw, wdev := referenceClassify(s)
		if kind != wk || digits != wd || keyword != wkw || device != wdev {
			t.Fatalf("Classify(%q) = %v, %d, %q, %d; reference says %v, %d, %q, %d",
				s, kind, digits, keyword, device, wk, wd, wkw, wdev)
		}
	})
}

// FuzzClassifyConstructed builds an input of a known kind from the fuzzer's
// numbers: n digits of a number (a passcode kind), a keyword with a device
// and a case pattern, or a modhex string; padded with white space.
func FuzzClassifyConstructed(f *testing.F) {
	f.Add(uint64(123456), uint8(6), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint64(0), uint8(9), uint8(1), uint8(2), uint8(0xff), uint8(3))
	f.Add(uint64(7), uint8(7), uint8(2), uint8(99), uint8(0x55), uint8(1))
	f.Add(uint64(1<<63), uint8(32), uint8(3), uint8(100), uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, n uint64, width, what, dev, upper, pad uint8) {
		pads := []string{"", " ", "\t", "\r\n", " \u00a0", "\u3000"}
		p := pads[int(pad)%len(pads)]
		caseMask := func(s string) string {
			b := []byte(s)
			for i := range b {
				if upper>>(i%8)&1 == 1 && 'a' <= b[i] && b[i] <= 'z' {
					b[i] -= 'a' - 'A'
				}
			}
			return string(b)
		}
		switch what % 4 {
		case 0: // digits
			w := 6 + int(width)%4
			s := fmt.Sprintf("%0*d", w, n)
			s = s[len(s)-w:] // keep exactly w digits, leading zeros included
			kind, digits, _, _ := Classify(p + s + p)
			if kind != KindDigits || digits != w {
				t.Fatalf("Classify(%q) = %v, %d; want digits, %d", p+s+p, kind, digits, w)
			}
		case 1: // too few or too many digits
			w := []int{1, 2, 3, 4, 5, 10, 11, 20}[int(width)%8]
			s := strings.Repeat(fmt.Sprint(n%10), w)
			if kind, _, _, _ := Classify(s); kind != KindInvalid {
				t.Fatalf("Classify(%q) = %v, want invalid", s, kind)
			}
		case 2: // keyword
			kw := []string{"push", "phone", "sms"}[int(n%3)]
			s := caseMask(kw)
			want := 0
			if d := int(dev) % 120; d > 0 {
				s += fmt.Sprint(d)
				want = d
			}
			kind, _, keyword, device := Classify(p + s + p)
			if want > 99 {
				if kind != KindInvalid {
					t.Fatalf("Classify(%q) = %v, want invalid (device %d > 99)", s, kind, want)
				}
				return
			}
			if kind != KindKeyword || keyword != kw || device != want {
				t.Fatalf("Classify(%q) = %v, %q, %d; want keyword %q, %d", p+s+p, kind, keyword, device, kw, want)
			}
		case 3: // modhex of some length
			w := 28 + int(width)%40
			var b strings.Builder
			for i := range w {
				b.WriteByte(modhexAlphabet[(n>>(i%16*4))&0xf^uint64(i)&0xf])
			}
			s := caseMask(b.String())
			kind, _, _, _ := Classify(p + s + p)
			wantYK := w >= YubiKeyMinLength && w <= YubiKeyMaxLength && w%2 == 0
			if (kind == KindYubiKey) != wantYK {
				t.Fatalf("Classify(%q) = %v; want yubikey %v (length %d)", s, kind, wantYK, w)
			}
		}
	})
}
