package mfatest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func settingsTests() []storeTest {
	return []storeTest{
		{"Defaults", testSettingsDefaults},
		{"RoundTrip", testSettingsRoundTrip},
	}
}

func testSettingsDefaults(t *testing.T, s mfa.Store) {
	got, err := s.GetSettings(t.Context())
	check(t, "GetSettings()", err)
	if diff := cmp.Diff(mfa.DefaultSettings(), got); diff != "" {
		t.Errorf("GetSettings() of a fresh store: DefaultSettings() (-want +got):\n%s", diff)
	}
}

func testSettingsRoundTrip(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		give mfa.Settings
	}{
		{"every field", mfa.Settings{
			LockoutThreshold:       5,
			LockoutExpire:          15 * time.Minute,
			SMSBatchSize:           3,
			SMSExpire:              36 * time.Hour,
			SMSRefresh:             true,
			SMSMessage:             "ACME codes — ünïcode:",
			HelpDeskCanSendBypass:  false,
			FraudEmail:             "security@example.com",
			FraudEmailEnabled:      true,
			PushTimeout:            90*time.Second + 500*time.Millisecond,
			PushMuteAfterFraud:     time.Hour,
			TrustedDeviceMaxDays:   30,
			VerifiedPush:           true,
			VerifiedPushDigits:     6,
			InactiveUserExpiration: 365,
		}},
		// Zeros that differ from the defaults must not come back as defaults.
		{"zeros", mfa.Settings{}},
		{"defaults", mfa.DefaultSettings()},
	}
	for _, tt := range tests {
		check(t, "PutSettings()", s.PutSettings(ctx, tt.give))
		got, err := s.GetSettings(ctx)
		check(t, "GetSettings()", err)
		if diff := cmp.Diff(tt.give, got); diff != "" {
			t.Errorf("GetSettings() after PutSettings(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}
