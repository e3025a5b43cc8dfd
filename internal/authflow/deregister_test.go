package authflow_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

// capabilities returns what preauth offers on the user's phone phoneID
// (nil when the phone is not listed).
func (e *env) capabilities(user, phoneID string) []mfa.Capability {
	e.t.Helper()
	res, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: user}})
	if err != nil {
		e.t.Fatalf("Preauth(%s) = %v", user, err)
	}
	for _, d := range res.Devices {
		if d.ID == phoneID {
			return d.Capabilities
		}
	}
	return nil
}

func TestDeregister(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("jane", mfa.StatusActive)
	au := e.app(u, 0, false)
	other := e.app(e.user("kim", mfa.StatusActive), 0, false)
	if caps := e.capabilities("jane", au.PhoneID); !slices.Contains(caps, mfa.CapPush) || !slices.Contains(caps, mfa.CapMobileOTP) {
		t.Fatalf("preauth capabilities before = %v, want push and mobile_otp", caps)
	}
	if res := e.auth("jane", otp.HOTP(seed, 0, 6)); res.Result != authflow.ResultAllow {
		t.Fatalf("passcode before deregistering = %+v, want allow", res)
	}
	pending := e.push("jane")

	if err := e.Svc.Deregister(e.ctx, au); err != nil {
		t.Fatalf("Deregister = %v", err)
	}
	if _, err := e.Svc.Install(e.ctx, au.ID); !errors.Is(err, authflow.ErrInstallRevoked) {
		t.Errorf("Install after Deregister = %v, want ErrInstallRevoked", err)
	}
	// The phone stays the user's (calls, SMS) but no longer has the app.
	caps := e.capabilities("jane", au.PhoneID)
	if slices.Contains(caps, mfa.CapPush) || slices.Contains(caps, mfa.CapMobileOTP) || !slices.Contains(caps, mfa.CapSMS) {
		t.Errorf("preauth capabilities after Deregister = %v, want sms and phone, no push or mobile_otp", caps)
	}
	if res := e.auth("jane", otp.HOTP(seed, 1, 6)); res.Result != authflow.ResultDeny || res.StatusMsg != authflow.MsgReactivate {
		t.Errorf("passcode of the deregistered install = %+v, want deny %q", res, authflow.MsgReactivate)
	}
	if l := e.lastLog(u.ID); l.Reason != authflow.ReasonRevokedDevice {
		t.Errorf("auth log reason = %q, want %q", l.Reason, authflow.ReasonRevokedDevice)
	}
	// The push that was waiting is no longer offered to the phone's app
	// and times out.
	var st authflow.StatusResult
	for range 20 {
		if st = e.status(pending.TxID); st.Final() {
			break
		}
	}
	if st.Result != authflow.ResultDeny || st.Status != authflow.StatusTimeout {
		t.Errorf("waiting push after Deregister = %+v, want deny/timeout", st)
	}

	// Another user's install is untouched.
	if _, err := e.Svc.Install(e.ctx, other.ID); err != nil {
		t.Errorf("other install after Deregister = %v, want active", err)
	}
	if caps := e.capabilities("kim", other.PhoneID); !slices.Contains(caps, mfa.CapPush) {
		t.Errorf("kim's capabilities = %v, want push", caps)
	}

	// An install that does not exist is NotFound.
	gone := au
	gone.ID = e.id(mfa.PrefixAuthenticator)
	if err := e.Svc.Deregister(e.ctx, gone); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("Deregister(unknown install) = %v, want NotFound", err)
	}
}
