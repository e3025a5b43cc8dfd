package authflow_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
)

// TestEndCall: a call that ends without a keypress ends the transaction
// in deny with Duo's reason, once; a later keypress is refused.
func TestEndCall(t *testing.T) {
	tests := []struct {
		give       authflow.CallEnd
		wantStatus string
		wantResult mfa.AuthResult
		wantReason string
	}{
		{authflow.CallHangUp, authflow.StatusDeny, mfa.ResultFailure, authflow.ReasonNoKeysPressed},
		{authflow.CallNoAnswer, authflow.StatusTimeout, mfa.ResultFailure, authflow.ReasonNoResponse},
		{authflow.CallBusy, authflow.StatusPushFail, mfa.ResultError, authflow.ReasonCallFailed},
		{authflow.CallFailed, authflow.StatusPushFail, mfa.ResultError, authflow.ReasonCallFailed},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			e, n := newEnvCall(t)
			u := e.user("ivy", mfa.StatusActive)
			p := e.phone(u, "+15555550123", mfa.PhoneLandline)
			res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "ivy"},
				Factor: mfa.FactorPhone, Device: p.ID, Async: true})
			if err != nil {
				t.Fatal(err)
			}
			if msgs := n.Messages(); len(msgs) != 1 || !strings.Contains(string(msgs[0].Body), "Say yes, ivy, to test app.") {
				t.Errorf("call = %+v, want the configured prompt", msgs)
			}
			if err := e.Svc.EndCall(e.ctx, res.TxID, tt.give); err != nil {
				t.Fatalf("EndCall(%s) = %v", tt.give, err)
			}
			st := e.status(res.TxID)
			if st.Result != authflow.ResultDeny || st.Status != tt.wantStatus {
				t.Errorf("status after %s = %+v, want deny/%s", tt.give, st, tt.wantStatus)
			}
			if l := e.lastLog(u.ID); l.Factor != authflow.LogFactorPhone || l.Result != tt.wantResult || l.Reason != tt.wantReason {
				t.Errorf("log after %s = %+v, want %s/%s", tt.give, l, tt.wantResult, tt.wantReason)
			}
			if err := e.Svc.EndCall(e.ctx, res.TxID, tt.give); mfa.KindOf(err) != mfa.Conflict {
				t.Errorf("second EndCall = %v, want conflict", err)
			}
			if err := e.Svc.AnswerCall(e.ctx, res.TxID, "1"); err == nil {
				t.Errorf("AnswerCall after the call ended = nil, want an error")
			}
		})
	}
	e, _ := newEnvCall(t)
	if err := e.Svc.EndCall(e.ctx, "nosuchtx", authflow.CallHangUp); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("EndCall(unknown) = %v, want not found", err)
	}
	if _, ok := authflow.ParseCallEnd("completed"); ok {
		t.Error("ParseCallEnd(completed) = ok, want unknown")
	}
}

func newEnvCall(t *testing.T) (*env, *mfatest.Notifier) {
	n := &mfatest.Notifier{}
	return newEnv(t, authflow.WithNotifier(n), authflow.WithRecheck(5*time.Millisecond),
		authflow.WithCallPrompt("Say yes, {username}, to {application}.")), n
}

// TestTelephonyReceipts: the carrier's receipt reaches the telephony log:
// an SMS batch costs a credit per segment (1 when the carrier did not
// say) and keeps the message id; a call costs 1 and keeps the call id.
func TestTelephonyReceipts(t *testing.T) {
	e, n := newEnvCall(t)
	u := e.user("ivy", mfa.StatusActive)
	mobile := e.phone(u, "+15555550124", mfa.PhoneMobile)
	land := e.phone(u, "+15555550123", mfa.PhoneLandline)
	n.SetReceipt(func(i int, m mfa.Message) mfa.Receipt {
		if m.Channel == mfa.ChannelVoice {
			return mfa.Receipt{CarrierID: "CA-" + m.TxID}
		}
		return mfa.Receipt{CarrierID: fmt.Sprintf("SM-%d", i), Segments: 3}
	})
	if _, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "ivy"},
		Factor: mfa.FactorSMS, Device: mobile.ID}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "ivy"},
		Factor: mfa.FactorPhone, Device: land.ID, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	n.SetReceipt(nil) // a carrier that tells nothing
	e.Clock.Advance(2 * time.Minute)
	if _, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "ivy"},
		Factor: mfa.FactorSMS, Device: mobile.ID}); err != nil {
		t.Fatal(err)
	}
	tl, err := e.Store.ListTelephonyLog(e.ctx, mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tl {
		got = append(got, fmt.Sprintf("%s %s %d %q", r.Type, r.Phone, r.Credits, r.CarrierID))
	}
	want := []string{`sms +15555550124 3 "SM-1"`, `phone +15555550123 1 "CA-` + res.TxID + `"`, `sms +15555550124 1 ""`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("telephony log mismatch (-want +got):\n%s", diff)
	}
}

// TestCallExtensionDelays: a call to a phone with an extension carries the
// phone's predelay/postdelay to the carrier; unset ones stay nil (the
// carrier's configured delays apply).
func TestCallExtensionDelays(t *testing.T) {
	e, n := newEnvCall(t)
	u := e.user("ivy", mfa.StatusActive)
	p := e.phone(u, "+15555550123", mfa.PhoneLandline)
	pre, post := 4*time.Second, 0*time.Second
	p.Extension, p.PreDelay, p.PostDelay = "4711", &pre, &post
	if err := e.Store.UpdatePhone(e.ctx, p); err != nil {
		t.Fatal(err)
	}
	plain := e.phone(u, "+15555550124", mfa.PhoneLandline)
	for _, dev := range []string{p.ID, plain.ID} {
		if _, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "ivy"},
			Factor: mfa.FactorPhone, Device: dev, Async: true}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := n.Messages()
	if len(msgs) != 2 {
		t.Fatalf("calls = %+v, want 2", msgs)
	}
	m := msgs[0]
	if m.Extension != "4711" || m.ExtensionPreDelay == nil || *m.ExtensionPreDelay != pre ||
		m.ExtensionPostDelay == nil || *m.ExtensionPostDelay != post {
		t.Errorf("call to the phone with delays = ext %q, pre %v, post %v; want 4711, 4s, 0s", m.Extension, m.ExtensionPreDelay, m.ExtensionPostDelay)
	}
	if m := msgs[1]; m.ExtensionPreDelay != nil || m.ExtensionPostDelay != nil {
		t.Errorf("call to the phone without delays = pre %v, post %v; want nil, nil", m.ExtensionPreDelay, m.ExtensionPostDelay)
	}
}
