package otp

import "testing"

func TestClassify(t *testing.T) {
	type result struct {
		kind    Kind
		digits  int
		keyword string
		device  int
	}
	tests := []struct {
		give string
		want result
	}{
		{"123456", result{KindDigits, 6, "", 0}},
		{" 1234567 ", result{KindDigits, 7, "", 0}},
		{"12345678", result{KindDigits, 8, "", 0}},
		{"012345678", result{KindDigits, 9, "", 0}}, // bypass code, leading zero
		{"12345", result{}},
		{"1234567890", result{}},
		{"123 456", result{}},
		{"-12345", result{}},
		{"１２３４５６", result{}}, // full-width digits
		{"dteffujehknhfjbrjnlnldnhcujvddbikngjrtgh", result{KindYubiKey, 0, "", 0}},
		{"DTEFFUJEHKNHFJBRJNLNLDNHCUJVDDBIKNGJRTGH", result{KindYubiKey, 0, "", 0}},
		{"hknhfjbrjnlnldnhcujvddbikngjrtgh", result{KindYubiKey, 0, "", 0}},                                 // 32: no public id
		{"hknhfjbrjnlnldnhcujvddbikngjrtg", result{}},                                                       // 31
		{"cccccccccccccccccccccccccccccccchknhfjbrjnlnldnhcujvddbikngjrtgh", result{KindYubiKey, 0, "", 0}}, // 64
		{"cccccccccccccccccccccccccccccccccchknhfjbrjnlnldnhcujvddbikngjrtgh", result{}},                    // 66
		{"dteffujehknhfjbrjnlnldnhcujvddbikngjrtgha", result{}},
		{"push", result{KindKeyword, 0, "push", 0}},
		{"PUSH", result{KindKeyword, 0, "push", 0}},
		{"push2", result{KindKeyword, 0, "push", 2}},
		{"push 2", result{}},
		{"push99", result{KindKeyword, 0, "push", 99}},
		{"push100", result{}},
		{"push0", result{}},
		{"push02", result{}},
		{"pushx", result{}},
		{"phone", result{KindKeyword, 0, "phone", 0}},
		{"Phone3", result{KindKeyword, 0, "phone", 3}},
		{"sms", result{KindKeyword, 0, "sms", 0}},
		{"sms1", result{KindKeyword, 0, "sms", 1}},
		{" sms ", result{KindKeyword, 0, "sms", 0}},
		{"auto", result{}},
		{"", result{}},
		{"   ", result{}},
		{"pus", result{}},
	}
	for _, tt := range tests {
		var got result
		got.kind, got.digits, got.keyword, got.device = Classify(tt.give)
		if got != tt.want {
			t.Errorf("Classify(%q) = %+v, want %+v", tt.give, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		give Kind
		want string
	}{
		{KindInvalid, "invalid"},
		{KindDigits, "digits"},
		{KindYubiKey, "yubikey"},
		{KindKeyword, "keyword"},
		{Kind(42), "Kind(42)"},
		{Kind(-1), "Kind(-1)"},
	}
	for _, tt := range tests {
		if got := tt.give.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tt.give), got, tt.want)
		}
	}
}
