package authapi

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestLoginMenu(t *testing.T) {
	app := authflow.Device{ID: "DP1", Type: authflow.DevicePhone, Number: "XXX-XXX-0100", Name: "Alice's phone",
		DisplayName: "Alice's phone (XXX-XXX-0100)", SMSNextCode: "2",
		Capabilities: []mfa.Capability{mfa.CapAuto, mfa.CapPush, mfa.CapSMS, mfa.CapPhone, mfa.CapMobileOTP}}
	mobile := authflow.Device{ID: "DP2", Type: authflow.DevicePhone, Number: "XXX-XXX-0177", DisplayName: "XXX-XXX-0177",
		Capabilities: []mfa.Capability{mfa.CapAuto, mfa.CapSMS, mfa.CapPhone}}
	landline := authflow.Device{ID: "DP3", Type: authflow.DevicePhone, Number: "XXX-XXX-0199", DisplayName: "Desk (XXX-XXX-0199)",
		Capabilities: []mfa.Capability{mfa.CapAuto, mfa.CapPhone}}
	tablet := authflow.Device{ID: "DP4", Type: authflow.DevicePhone, DisplayName: "iOS",
		Capabilities: []mfa.Capability{mfa.CapAuto, mfa.CapPush, mfa.CapMobileOTP}}
	token := authflow.Device{ID: "DH1", Type: authflow.DeviceToken, Name: "123456", DisplayName: "123456",
		Capabilities: []mfa.Capability{}}

	tests := []struct {
		name     string
		user     string
		give     []authflow.Device
		verified bool
		text     string
		factors  map[string]string
	}{
		{
			name: "app phone", user: "alice", give: []authflow.Device{app},
			text: "Duo two-factor login for alice\n\n" +
				"Enter a passcode or select one of the following options:\n\n" +
				" 1. Push to Alice's phone (XXX-XXX-0100)\n" +
				" 2. Phone call to Alice's phone (XXX-XXX-0100)\n" +
				" 3. SMS passcodes to Alice's phone (XXX-XXX-0100) (next code starts with: 2)\n\n" +
				"Passcode or option (1-3): ",
			factors: map[string]string{"default": "push1", "1": "push1", "2": "phone1", "3": "sms1"},
		},
		{
			// Numbers follow preauth's list: the token is device 1.
			name: "token, mobile, landline, tablet", user: "bob", give: []authflow.Device{token, mobile, landline, tablet},
			text: "Duo two-factor login for bob\n\n" +
				"Enter a passcode or select one of the following options:\n\n" +
				" 1. Phone call to XXX-XXX-0177\n" +
				" 2. SMS passcodes to XXX-XXX-0177\n" +
				" 3. Phone call to Desk (XXX-XXX-0199)\n" +
				" 4. Push to iOS\n\n" +
				"Passcode or option (1-4): ",
			factors: map[string]string{"default": "push4", "1": "phone2", "2": "sms2", "3": "phone3", "4": "push4"},
		},
		{
			// Verified Push names push options verified_pushN, the rest
			// as usual.
			name: "verified push", user: "bob", give: []authflow.Device{token, mobile, landline, tablet}, verified: true,
			text: "Duo two-factor login for bob\n\n" +
				"Enter a passcode or select one of the following options:\n\n" +
				" 1. Phone call to XXX-XXX-0177\n" +
				" 2. SMS passcodes to XXX-XXX-0177\n" +
				" 3. Phone call to Desk (XXX-XXX-0199)\n" +
				" 4. Push to iOS\n\n" +
				"Passcode or option (1-4): ",
			factors: map[string]string{"default": "verified_push4", "1": "phone2", "2": "sms2", "3": "phone3", "4": "verified_push4"},
		},
		{
			name: "no push: call by default", user: "carol", give: []authflow.Device{mobile},
			text: "Duo two-factor login for carol\n\n" +
				"Enter a passcode or select one of the following options:\n\n" +
				" 1. Phone call to XXX-XXX-0177\n" +
				" 2. SMS passcodes to XXX-XXX-0177\n\n" +
				"Passcode or option (1-2): ",
			factors: map[string]string{"default": "phone1", "1": "phone1", "2": "sms1"},
		},
		{
			name: "token only", user: "dave", give: []authflow.Device{token},
			text: "Duo two-factor login for dave\n\n" +
				"Enter a passcode from your authenticator app or hardware token, or a bypass code.\n\n" +
				"Passcode: ",
			factors: map[string]string{"default": "passcode"},
		},
		{
			name: "control characters dropped", user: "eve\r\n\x1b[2J", give: []authflow.Device{{ID: "DP5",
				Type: authflow.DevicePhone, DisplayName: "Evil\x1b[31m\nphone", Capabilities: []mfa.Capability{mfa.CapPush}}},
			text: "Duo two-factor login for eve[2J\n\n" +
				"Enter a passcode or select one of the following options:\n\n" +
				" 1. Push to Evil[31mphone\n\n" +
				"Passcode or option (1-1): ",
			factors: map[string]string{"default": "push1", "1": "push1"},
		},
	}
	for _, tt := range tests {
		got := newLoginMenu(tt.user, tt.give, tt.verified)
		if diff := cmp.Diff(tt.text, got.Text); diff != "" {
			t.Errorf("%s: newLoginMenu text mismatch (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.factors, got.Factors); diff != "" {
			t.Errorf("%s: newLoginMenu factors mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestEnrollText(t *testing.T) {
	tests := []struct{ msg, url, want string }{
		{"Enroll an authentication device to proceed", "", "Enroll an authentication device to proceed"},
		{"Enroll an authentication device to proceed", "https://mfa.example.com/portal?x\n",
			"Enroll an authentication device to proceed: https://mfa.example.com/portal?x"},
	}
	for _, tt := range tests {
		if got := enrollText(tt.msg, tt.url); got != tt.want {
			t.Errorf("enrollText(%q, %q) = %q, want %q", tt.msg, tt.url, got, tt.want)
		}
	}
}
