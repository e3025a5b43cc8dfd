package otp

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHexSecret(t *testing.T) {
	tests := []struct {
		give    string
		want    []byte
		wantErr string
	}{
		{give: "3132333435363738393031323334353637383930", want: rfcSecret},
		{give: "3132333435363738393031323334353637383930\n", want: rfcSecret},
		{give: "31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 39 30", want: rfcSecret},
		{give: "AbCdEf0123456789aBcD", want: []byte{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd}},
		{give: strings.Repeat("ff", 64), want: []byte(strings.Repeat("\xff", 64))},
		{give: "", wantErr: "empty"},
		{give: "   ", wantErr: "empty"},
		{give: "3132333435363738393", wantErr: "odd"},
		{give: "313233343536373839", wantErr: "9 bytes"},
		{give: strings.Repeat("ff", 65), wantErr: "65 bytes"},
		{give: "31323334353637383930zz", wantErr: "position 21"},
		{give: "0x31323334353637383930", wantErr: "position 2"},
	}
	for _, tt := range tests {
		got, err := ParseHexSecret(tt.give)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseHexSecret(%q) error = %v, want ErrSecret mentioning %q", tt.give, err, tt.wantErr)
			}
			if err != nil && len(tt.give) >= 4 && strings.Contains(err.Error(), strings.TrimSpace(tt.give)) {
				t.Errorf("ParseHexSecret(%q) error %q echoes the value", tt.give, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseHexSecret(%q) error = %v", tt.give, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseHexSecret(%q) mismatch (-want +got):\n%s", tt.give, diff)
		}
	}
}

func TestParseBase32Secret(t *testing.T) {
	const rfcB32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32("12345678901234567890")
	tests := []struct {
		give    string
		want    []byte
		wantErr string
	}{
		{give: rfcB32, want: rfcSecret},
		{give: strings.ToLower(rfcB32), want: rfcSecret},
		{give: "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", want: rfcSecret},
		{give: "JBSWY3DPEHPK3PXPJBSW", want: []byte("Hello!\xde\xad\xbe\xefHe")},      // 20 chars: 12 bytes + 4 spare bits
		{give: "JBSWY3DPEHPK3PXPJBSWY===", want: []byte("Hello!\xde\xad\xbe\xefHel")}, // padded
		{give: "JBSWY3DPEHPK3PXPJBSWY", want: []byte("Hello!\xde\xad\xbe\xefHel")},    // unpadded
		{give: "", wantErr: "empty"},
		{give: "====", wantErr: "empty"},
		{give: "JBSWY3DPEHPK3PX", wantErr: "9 bytes"},
		{give: "JBSWY3DPEHPK3PXPJ", wantErr: "impossible length"},
		{give: "JBSWY3DPEHPK3PXPJBSW1Y", wantErr: "position 21"},
		{give: "JBSWY3DP=EHPK3PXPJBSWY", wantErr: "position 9"},
		{give: strings.Repeat("A", 104), want: make([]byte, 65), wantErr: "65 bytes"},
	}
	for _, tt := range tests {
		got, err := ParseBase32Secret(tt.give)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseBase32Secret(%q) error = %v, want ErrSecret mentioning %q", tt.give, err, tt.wantErr)
			}
			if err != nil && len(tt.give) >= 5 && strings.Contains(err.Error(), tt.give) {
				t.Errorf("ParseBase32Secret(%q) error %q echoes the value", tt.give, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseBase32Secret(%q) error = %v", tt.give, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseBase32Secret(%q) mismatch (-want +got):\n%s", tt.give, diff)
		}
	}
}
