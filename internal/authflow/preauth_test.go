package authflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestPreauthOutcomes(t *testing.T) {
	const portal = "https://mfa.example.com/portal/"
	e := newEnv(t, authflow.WithEnrollPortal(portal))
	active := e.user("alice", mfa.StatusActive)
	e.app(active, 0, false)
	e.user("bob", mfa.StatusBypass)
	e.user("carol", mfa.StatusDisabled)
	locked := e.user("dave", mfa.StatusLockedOut)
	_ = locked
	e.user("erin", mfa.StatusActive) // no device

	tests := []struct {
		give   string
		policy mfa.EnrollPolicy
		want   string
		msg    string
	}{
		{"alice", mfa.EnrollPolicyEnroll, authflow.ResultAuth, "Account is active"},
		{"bob", mfa.EnrollPolicyEnroll, authflow.ResultAllow, authflow.MsgBypassUser},
		{"carol", mfa.EnrollPolicyEnroll, authflow.ResultDeny, authflow.MsgDisabled},
		{"dave", mfa.EnrollPolicyAllow, authflow.ResultDeny, authflow.MsgLockedOut},
		{"erin", mfa.EnrollPolicyEnroll, authflow.ResultEnroll, authflow.MsgEnroll},
		{"erin", mfa.EnrollPolicyAllow, authflow.ResultAllow, authflow.MsgAllowUnknown},
		{"erin", mfa.EnrollPolicyDeny, authflow.ResultDeny, authflow.MsgDenyUnknown},
		{"nobody", mfa.EnrollPolicyEnroll, authflow.ResultEnroll, authflow.MsgEnroll},
		{"nobody", mfa.EnrollPolicyAllow, authflow.ResultAllow, authflow.MsgAllowUnknown},
		{"nobody", mfa.EnrollPolicyDeny, authflow.ResultDeny, authflow.MsgDenyUnknown},
		{"ALICE", mfa.EnrollPolicyDeny, authflow.ResultAuth, "Account is active"},
	}
	for _, tt := range tests {
		in := e.In
		in.EnrollPolicy = tt.policy
		got, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: in, Who: authflow.Who{Username: tt.give}})
		if err != nil {
			t.Fatalf("Preauth(%s, %s) = %v", tt.give, tt.policy, err)
		}
		if got.Result != tt.want || got.StatusMsg != tt.msg {
			t.Errorf("Preauth(%s, %s) = %s %q, want %s %q", tt.give, tt.policy, got.Result, got.StatusMsg, tt.want, tt.msg)
		}
		// Only an enroll answer names the portal, for known and unknown
		// users alike.
		if wantURL := map[bool]string{true: portal}[tt.want == authflow.ResultEnroll]; got.EnrollPortalURL != wantURL {
			t.Errorf("Preauth(%s, %s).EnrollPortalURL = %q, want %q", tt.give, tt.policy, got.EnrollPortalURL, wantURL)
		}
	}
	if l := e.logs(""); len(l) != 0 {
		t.Errorf("preauth wrote %d auth log records, want 0", len(l))
	}
}

func TestPreauthDevices(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	a := e.app(u, 0, false)
	sms := e.phone(u, "+15555550199", mfa.PhoneMobile)
	land := e.phone(u, "+15555550142", mfa.PhoneLandline)
	e.phone(u, "", mfa.PhoneTablet) // no number, no app: no capability, not listed
	tok := e.token(u, mfa.Token{Type: mfa.TokenH6, Serial: "123456", Secret: mfa.Secret(seed)})
	err := e.Store.ReplaceSMSBatch(e.ctx, mfa.SMSBatch{ID: e.id(mfa.PrefixSMSBatch), UserID: u.ID, PhoneID: sms.ID,
		Codes: []mfa.Passcode{"1000001", "2000002", "3000003"}, Created: e.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.auth("alice", "1000001"); got.Result != authflow.ResultAllow {
		t.Fatalf("Auth(sms code 1) = %+v, want allow", got)
	}

	got, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{UserID: u.ID}})
	if err != nil {
		t.Fatal(err)
	}
	want := []authflow.Device{
		{ID: a.PhoneID, Type: "phone", Number: "XXX-XXX-0100", Name: "work phone", DisplayName: "work phone (XXX-XXX-0100)",
			Capabilities: []mfa.Capability{"auto", "push", "sms", "phone", "mobile_otp"}},
		{ID: sms.ID, Type: "phone", Number: "XXX-XXX-0199", Name: "work phone", DisplayName: "work phone (XXX-XXX-0199)",
			Capabilities: []mfa.Capability{"auto", "sms", "phone"}, SMSNextCode: "2"},
		{ID: land.ID, Type: "phone", Number: "XXX-XXX-0142", Name: "work phone", DisplayName: "work phone (XXX-XXX-0142)",
			Capabilities: []mfa.Capability{"auto", "phone"}},
		{ID: tok.ID, Type: "token", Name: "123456", DisplayName: "123456", Capabilities: []mfa.Capability{}},
	}
	if got.Result != authflow.ResultAuth {
		t.Fatalf("Preauth = %+v, want auth", got)
	}
	if diff := cmp.Diff(want, got.Devices); diff != "" {
		t.Errorf("Preauth devices (-want +got):\n%s", diff)
	}
}

func TestPreauthLazyUnlock(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.app(u, 0, false)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 2; s.LockoutExpire = 90 * time.Minute })
	for range 2 {
		e.auth("alice", "000000")
	}
	if got := e.getUser(u.ID); got.Status != mfa.StatusLockedOut {
		t.Fatalf("status = %s, want locked out", got.Status)
	}
	e.Clock.Advance(89 * time.Minute)
	pre := func() string {
		got, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"}})
		if err != nil {
			t.Fatal(err)
		}
		return got.Result
	}
	if got := pre(); got != authflow.ResultDeny {
		t.Errorf("Preauth before expiry = %s, want deny", got)
	}
	e.Clock.Advance(time.Minute)
	if got := pre(); got != authflow.ResultAuth {
		t.Errorf("Preauth at expiry = %s, want auth", got)
	}
	if got := e.getUser(u.ID); got.Status != mfa.StatusActive || got.FailedAttempts != 0 {
		t.Errorf("after unlock: status %s, failures %d; want active, 0", got.Status, got.FailedAttempts)
	}
}

func TestPreauthInvalid(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		give  authflow.Who
		field string
	}{
		{authflow.Who{}, "username"},
		{authflow.Who{Username: "a", UserID: "DUAAAAAAAAAAAAAAAAAA"}, "user_id"},
		{authflow.Who{UserID: "DUAAAAAAAAAAAAAAAAAA"}, "user_id"},
	}
	for _, tt := range tests {
		_, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: tt.give})
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != tt.field {
			t.Errorf("Preauth(%+v) = %v, want Invalid %s", tt.give, err, tt.field)
		}
	}
}

func TestMaskNumber(t *testing.T) {
	tests := []struct{ give, want string }{
		{"+15555550100", "XXX-XXX-0100"},
		{"+44 20 7946 0958", "XXX-XXX-0958"},
		{"12", "XXX-XXX-12"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := authflow.MaskNumber(tt.give); got != tt.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
