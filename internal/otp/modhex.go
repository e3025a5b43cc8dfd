package otp

import (
	"errors"
	"fmt"
)

// modhexAlphabet maps nibbles 0..f to the characters YubiKeys type. The
// letters sit at the same key positions on most keyboard layouts.
const modhexAlphabet = "cbdefghijklnrtuv"

// ErrModhex is wrapped by DecodeModhex errors.
var ErrModhex = errors.New("otp: invalid modhex")

// fromModhex returns the nibble for c (either case) or -1.
func fromModhex(c byte) int {
	if 'A' <= c && c <= 'Z' {
		c += 'a' - 'A'
	}
	switch c {
	case 'c':
		return 0
	case 'b':
		return 1
	case 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l':
		return int(c-'d') + 2
	case 'n':
		return 11
	case 'r':
		return 12
	case 't':
		return 13
	case 'u':
		return 14
	case 'v':
		return 15
	}
	return -1
}

// IsModhex reports whether s is non-empty, of even length and made only of
// modhex characters (either case; caps lock makes a YubiKey type upper
// case). It is true exactly when DecodeModhex(s) succeeds on a non-empty s.
func IsModhex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if fromModhex(s[i]) < 0 {
			return false
		}
	}
	return true
}

// DecodeModhex decodes modhex (either case). Errors wrap ErrModhex and give
// a position, never the input.
func DecodeModhex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: odd length", ErrModhex)
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		hi, lo := fromModhex(s[2*i]), fromModhex(s[2*i+1])
		if hi < 0 || lo < 0 {
			pos := 2*i + 1
			if hi >= 0 {
				pos++
			}
			return nil, fmt.Errorf("%w: bad character at position %d", ErrModhex, pos)
		}
		b[i] = byte(hi<<4 | lo)
	}
	return b, nil
}

// EncodeModhex encodes b as lower-case modhex.
func EncodeModhex(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = modhexAlphabet[c>>4]
		out[2*i+1] = modhexAlphabet[c&0x0f]
	}
	return string(out)
}
