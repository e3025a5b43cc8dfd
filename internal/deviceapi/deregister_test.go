package deviceapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

const devicePath = "/push/v2/device"

// deregister is DELETE /push/v2/device signed by d, with Duo Mobile's
// common parameters in the query string.
func (f *fixture) deregister(d *device, mods ...func(*signSpec)) envelope {
	f.t.Helper()
	return f.signed(d, http.MethodDelete, devicePath, url.Values{"akey": {d.AKey}, "pkpush": {"rsa-sha512"}}, mods...)
}

// pushCapable reports whether preauth for u offers push on phoneID.
func (f *fixture) pushCapable(u mfa.User, phoneID string) bool {
	f.t.Helper()
	res, err := f.Flow.Preauth(f.t.Context(), authflow.PreauthRequest{Integration: f.Key, Who: authflow.Who{Username: u.Username}})
	if err != nil {
		f.t.Fatalf("Preauth(%s) = %v", u.Username, err)
	}
	for _, d := range res.Devices {
		if d.ID == phoneID && slices.Contains(d.Capabilities, mfa.CapPush) {
			return true
		}
	}
	return false
}

func TestDeregister(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	p := f.phone(u)
	d := f.activate(f.code(u, p.ID, time.Now().Add(time.Hour)), 0)
	bob, other := f.enroll("bob", 1)
	if !f.pushCapable(u, p.ID) {
		t.Fatal("preauth does not offer push on the activated phone")
	}
	res := f.push(u)
	if got := f.list(d, 0); len(got) != 1 || got[0].TxID != res.TxID {
		t.Fatalf("transactions before deregistering = %+v, want the push %s", got, res.TxID)
	}

	// Only the holder of the install's key can deregister it.
	wantFail(t, "DELETE signed with another key", f.deregister(d, func(s *signSpec) { s.Key = other.Key }), 401, 40103, "")
	wantFail(t, "DELETE of an unknown install", f.deregister(d, func(s *signSpec) { s.PKey = newID(t, mfa.PrefixAuthenticator) }), 401, 40102, "")
	wantFail(t, "DELETE signed for another path", f.deregister(d, func(s *signSpec) { s.Path = txPath }), 401, 40103, "")
	if au, err := f.Store.GetAuthenticator(t.Context(), d.PKey); err != nil || au.Status != mfa.AuthenticatorActive {
		t.Fatalf("install after refused deregistrations = %+v, %v; want active", au, err)
	}

	e := f.deregister(d)
	wantOK(t, "DELETE /push/v2/device", e)
	var out struct {
		Result string `json:"result"`
	}
	e.decode(t, &out)
	if out.Result != "SUCCESS" {
		t.Errorf("DELETE /push/v2/device = %s, want result SUCCESS", e.Raw)
	}
	if au, err := f.Store.GetAuthenticator(t.Context(), d.PKey); err != nil || au.Status != mfa.AuthenticatorRevoked {
		t.Errorf("install after deregistering = %+v, %v; want revoked", au, err)
	}
	if logs := f.Logs.String(); !strings.Contains(logs, "authenticator deregistered") || !strings.Contains(logs, d.PKey) {
		t.Errorf("no info line about the deregistration in the logs:\n%s", logs)
	}

	// The phone is no longer activated: no push, and the install is gone
	// for every signed call, deregistering again included.
	phones, err := f.Store.UserPhones(t.Context(), u.ID)
	if err != nil || len(phones) != 1 || phones[0].Activated {
		t.Errorf("UserPhones after deregistering = %+v, %v; want the phone, not activated", phones, err)
	}
	if f.pushCapable(u, p.ID) {
		t.Error("preauth still offers push on the deregistered phone")
	}
	wantFail(t, "DELETE again", f.deregister(d), 401, 40110, "")
	wantFail(t, "GET transactions after deregistering", f.signed(d, http.MethodGet, txPath, nil), 401, 40110, "")
	wantFail(t, "answer the waiting push after deregistering", f.answer(d, res.TxID, approve()), 401, 40110, "")

	// The install's passcodes are refused with the advice to reactivate.
	if r := f.passcode(u, hotpCode(t, []byte(d.Act.HOTPSecret), 0)); r.Result != authflow.ResultDeny || r.StatusMsg != authflow.MsgReactivate {
		t.Errorf("passcode of the deregistered install = %+v, want deny %q", r, authflow.MsgReactivate)
	}

	// Other installs are untouched.
	if got := f.list(other, 0); len(got) != 0 {
		t.Errorf("bob's install lists %+v", got)
	}
	if !f.pushCapable(bob, other.AKey) {
		t.Error("preauth no longer offers push on bob's phone")
	}

	// The phone can be activated again.
	again := f.activate(f.code(u, p.ID, time.Now().Add(time.Hour)), 2)
	if again.AKey != p.ID || !f.pushCapable(u, p.ID) {
		t.Errorf("reactivation after deregistering = %+v; want phone %s offered for push again", again.Act, p.ID)
	}
	f.list(again, 0)
}

// TestDeregisterLeavesNewerInstall: an install replaced by a newer
// activation cannot deregister (401/40110), and the newer one stays.
func TestDeregisterLeavesNewerInstall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.user("alice")
	p := f.phone(u)
	old := f.activate(f.code(u, p.ID, time.Now().Add(time.Hour)), 0)
	cur := f.activate(f.code(u, p.ID, time.Now().Add(time.Hour)), 1)
	wantFail(t, "DELETE as the replaced install", f.deregister(old), 401, 40110, "")
	if !f.pushCapable(u, p.ID) {
		t.Error("preauth no longer offers push after the replaced install's DELETE")
	}
	f.list(cur, 0)
}
