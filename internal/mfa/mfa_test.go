package mfa

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestSecretsNeverPrint(t *testing.T) {
	const seed = "JBSWY3DPEHPK3PXP-seed"
	s := Secret(seed)
	p := Passcode("123456789")
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "seed", s, "code", p)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "seed", s, "code", p)
	j, err := json.Marshal(struct {
		S Secret
		P Passcode
	}{s, p})
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d", p, p, p, p, p, p, p, p),
		fmt.Sprint(struct{ S Secret }{s}),
		fmt.Sprintf("%+v", struct{ P Passcode }{p}),
		text.String(), js.String(), string(j),
		(&Error{Kind: Invalid, Msg: "bad"}).Error(),
	}
	for _, out := range outs {
		for _, leak := range []string{seed, "123456789", fmt.Sprintf("%x", seed)} {
			if strings.Contains(out, leak) {
				t.Errorf("output %q leaks a secret", out)
			}
		}
	}
	if string(s.Reveal()) != seed {
		t.Errorf("Reveal() = %q, want the seed", s.Reveal())
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^DU[A-Z0-9]{18}$`)
	seen := map[string]bool{}
	for range 1000 {
		id, err := NewID(PrefixUser, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(id) {
			t.Fatalf("NewID(DU) = %q, want DU + 18 of A-Z0-9", id)
		}
		if seen[id] {
			t.Fatalf("NewID returned %q twice", id)
		}
		seen[id] = true
	}
	digits, err := RandomDigits(rand.Reader, 9)
	if err != nil || !regexp.MustCompile(`^[0-9]{9}$`).MatchString(digits) {
		t.Errorf("RandomDigits(9) = %q, %v", digits, err)
	}
	if _, err := NewID("DU", bytes.NewReader(nil)); err == nil {
		t.Error("NewID(empty reader) = nil error, want error")
	}
}

func TestRandomStringUniform(t *testing.T) {
	counts := map[byte]int{}
	s, err := RandomString(rand.Reader, "abc", 30000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(s) {
		counts[s[i]]++
	}
	for _, c := range []byte("abc") {
		// Expect 10000 each; 5 sigma is about 400.
		if counts[c] < 9400 || counts[c] > 10600 {
			t.Errorf("RandomString: %c drawn %d times of 30000, want about 10000", c, counts[c])
		}
	}
}

func TestPhoneCapabilities(t *testing.T) {
	tests := []struct {
		name string
		give Phone
		want []Capability
	}{
		{"activated mobile", Phone{Type: PhoneMobile, Number: "+15555550100", Activated: true}, []Capability{CapAuto, CapPush, CapSMS, CapPhone, CapMobileOTP}},
		{"mobile", Phone{Type: PhoneMobile, Number: "+15555550100"}, []Capability{CapAuto, CapSMS, CapPhone}},
		{"landline", Phone{Type: PhoneLandline, Number: "+15555550100"}, []Capability{CapAuto, CapPhone}},
		{"activated tablet", Phone{Type: PhoneTablet, Activated: true}, []Capability{CapAuto, CapPush, CapMobileOTP}},
		{"tablet", Phone{Type: PhoneTablet}, nil},
		{"mobile without number", Phone{Type: PhoneMobile}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.give.Capabilities()
			if !slices.Equal(got, tt.want) {
				t.Errorf("Capabilities() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	err := fmt.Errorf("get user: %w", NotFoundf("user %s not found", "DU1"))
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Errorf("errors.Is(%v, ErrNotFound/ErrConflict) wrong", err)
	}
	if got := KindOf(err); got != NotFound {
		t.Errorf("KindOf(%v) = %v, want not found", err, got)
	}
	if got := KindOf(errors.New("boom")); got != Internal {
		t.Errorf("KindOf(plain) = %v, want internal", got)
	}
	f := InvalidField("count", "at most 100 active bypass codes")
	if f.Field != "count" || !errors.Is(f, ErrInvalid) {
		t.Errorf("InvalidField = %+v", f)
	}
	w := Wrap(Unavailable, "database unavailable", errors.New("dial tcp"))
	if !strings.Contains(w.Error(), "dial tcp") || w.Msg != "database unavailable" {
		t.Errorf("Wrap().Error() = %q", w.Error())
	}
}

func TestBypassCodeSpent(t *testing.T) {
	now := testTime()
	tests := []struct {
		name string
		give BypassCode
		want bool
	}{
		{"uses left", BypassCode{UsesLeft: 1}, false},
		{"used up", BypassCode{UsesLeft: 0}, true},
		{"unlimited", BypassCode{Unlimited: true}, false},
		{"expired", BypassCode{UsesLeft: 1, Expires: now}, true},
		{"not yet expired", BypassCode{Unlimited: true, Expires: now.Add(1)}, false},
	}
	for _, tt := range tests {
		if got := tt.give.Spent(now); got != tt.want {
			t.Errorf("%s: Spent() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
