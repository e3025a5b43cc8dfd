package authflow_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

func TestMethods(t *testing.T) {
	phone := func(caps ...mfa.Capability) authflow.Device {
		return authflow.Device{ID: "DP1", Type: authflow.DevicePhone, Capabilities: caps}
	}
	tests := []struct {
		name string
		give authflow.Device
		want []mfa.Factor
	}{
		{"app phone", phone(mfa.CapAuto, mfa.CapPush, mfa.CapSMS, mfa.CapPhone, mfa.CapMobileOTP),
			[]mfa.Factor{mfa.FactorPush, mfa.FactorPhone, mfa.FactorSMS, mfa.FactorPasscode}},
		{"mobile without app", phone(mfa.CapAuto, mfa.CapSMS, mfa.CapPhone),
			[]mfa.Factor{mfa.FactorPhone, mfa.FactorSMS, mfa.FactorPasscode}},
		{"landline", phone(mfa.CapAuto, mfa.CapPhone), []mfa.Factor{mfa.FactorPhone}},
		{"tablet with app", phone(mfa.CapAuto, mfa.CapPush, mfa.CapMobileOTP), []mfa.Factor{mfa.FactorPush, mfa.FactorPasscode}},
		{"hardware token", authflow.Device{ID: "DH1", Type: authflow.DeviceToken, Capabilities: []mfa.Capability{}},
			[]mfa.Factor{mfa.FactorPasscode}},
		{"token never pushes", authflow.Device{ID: "DH2", Type: authflow.DeviceToken, Capabilities: []mfa.Capability{mfa.CapPush}},
			[]mfa.Factor{mfa.FactorPasscode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []mfa.Factor
			for _, m := range authflow.Methods(tt.give) {
				got = append(got, m.Factor)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Methods(%+v) mismatch (-want +got):\n%s", tt.give, diff)
			}
		})
	}
}

// TestMethodTable pins the words every front end prints or parses: the
// text prompt's labels byte for byte, the keywords (which otp.Classify must
// read back as keywords), the auth log words and the sync/async split.
func TestMethodTable(t *testing.T) {
	tests := []struct {
		give      mfa.Factor
		keyword   string
		label     string
		logFactor string
		async     bool
		pending   string
	}{
		{mfa.FactorPush, "push", "Push to %s", "duo_push", true, authflow.StatusPushed},
		{mfa.FactorPhone, "phone", "Phone call to %s", "phone_call", true, authflow.StatusCalling},
		{mfa.FactorSMS, "sms", "SMS passcodes to %s", "sms_refresh", false, ""},
		{mfa.FactorPasscode, "", "", "passcode", false, ""},
	}
	if got := len(authflow.AllMethods()); got != len(tests) {
		t.Errorf("AllMethods() has %d methods, want %d", got, len(tests))
	}
	for i, tt := range tests {
		m, ok := authflow.MethodOf(tt.give)
		if !ok {
			t.Fatalf("MethodOf(%s) not found", tt.give)
		}
		if authflow.AllMethods()[i].Factor != tt.give {
			t.Errorf("AllMethods()[%d] = %s, want %s (menu order)", i, authflow.AllMethods()[i].Factor, tt.give)
		}
		if m.Keyword != tt.keyword || m.MenuLabel != tt.label || m.LogFactor() != tt.logFactor || m.Async != tt.async || m.PendingStatus != tt.pending {
			t.Errorf("MethodOf(%s) = %+v", tt.give, m)
		}
		if tt.keyword == "" {
			continue
		}
		for _, typed := range []string{tt.keyword, tt.keyword + "2", "  " + tt.keyword + "17"} {
			kind, _, kw, _ := otp.Classify(typed)
			byKw, ok := authflow.MethodByKeyword(kw)
			if kind != otp.KindKeyword || !ok || byKw.Factor != tt.give {
				t.Errorf("typed %q: Classify = %v %q, MethodByKeyword = %s %v, want keyword of %s", typed, kind, kw, byKw.Factor, ok, tt.give)
			}
		}
	}
	if push, _ := authflow.MethodOf(mfa.FactorPush); push.VerifiedKeyword != "verified_push" {
		t.Errorf("push VerifiedKeyword = %q, want verified_push", push.VerifiedKeyword)
	}
	if m, ok := authflow.MethodByKeyword("PUSH"); !ok || m.Factor != mfa.FactorPush {
		t.Errorf("MethodByKeyword(PUSH) = %+v, %v, want push (keywords ignore case)", m, ok)
	}
	for _, give := range []mfa.Factor{mfa.FactorAuto, "", "u2f"} {
		if _, ok := authflow.MethodOf(give); ok {
			t.Errorf("MethodOf(%q) found a method, want none", give)
		}
	}
	// Every auth log factor word belongs to exactly one method.
	seen := map[string]mfa.Factor{}
	for _, m := range authflow.AllMethods() {
		for _, w := range m.LogFactors {
			if prev, dup := seen[w]; dup {
				t.Errorf("log factor %q in both %s and %s", w, prev, m.Factor)
			}
			seen[w] = m.Factor
		}
	}
	for _, w := range []string{"duo_push", "phone_call", "sms_refresh", "passcode", "duo_mobile_passcode", "hardware_token",
		"yubikey_passcode", "sms_passcode", "bypass_code"} {
		if _, ok := seen[w]; !ok {
			t.Errorf("log factor %q is in no method", w)
		}
	}
}
