package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/deviceclient/deviceclienttest"
)

const aliceAccount = "Example Corp (alice)"

// device returns the fake's install pkey.
func fakeDevice(t *testing.T, s *deviceclienttest.Server, pkey string) deviceclienttest.Device {
	t.Helper()
	for _, d := range s.Devices() {
		if d.PKey == pkey {
			return d
		}
	}
	t.Fatalf("the server does not know install %s", pkey)
	return deviceclienttest.Device{}
}

// deletes counts the DELETE /push/v2/device requests the fake verified.
func deletes(s *deviceclienttest.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodDelete && r.Path == "/push/v2/device" {
			n++
		}
	}
	return n
}

// hasAccount reports whether `twostep accounts` lists name.
func hasAccount(h *harness, name string) bool {
	h.t.Helper()
	var accts []accountJSON
	h.jsonOut(&accts, "accounts", "--json")
	for _, a := range accts {
		if a.Name == name {
			return true
		}
	}
	return false
}

func TestRemoveDeregisters(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	h.ok("", "add", ghURI)
	// The saved CA is what the removal trusts.
	h.setenv("TWOSTEP_CA_FILE", "")

	// Declining changes nothing, here or on the server.
	h.fails(1, []string{"nothing removed"}, "n\n", "remove", aliceAccount)
	if n := deletes(s); n != 0 || fakeDevice(t, s, pkey).Revoked {
		t.Fatalf("declined remove sent %d DELETEs; install %+v", n, fakeDevice(t, s, pkey))
	}

	r := h.ok("y\n", "remove", aliceAccount)
	if !strings.Contains(r.stdout, `Remove "`+aliceAccount+`"? This device will be deregistered from `+s.Host) {
		t.Errorf("remove prompt does not say the device will be deregistered:\n%s", r)
	}
	if !strings.Contains(r.stdout, `Removed "`+aliceAccount+`".`) || !strings.Contains(r.stdout, "Deregistered this device from "+s.Host) {
		t.Errorf("remove output:\n%s", r)
	}
	if d := fakeDevice(t, s, pkey); !d.Deregistered || deletes(s) != 1 {
		t.Errorf("after remove: install %+v, %d DELETEs; want one DELETE that deregistered it", d, deletes(s))
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.PKey != pkey || last.Params.Get("akey") == "" {
		t.Errorf("DELETE = %+v, want it signed by %s with akey", last, pkey)
	}
	if hasAccount(h, aliceAccount) || !hasAccount(h, "GitHub:alice") {
		t.Errorf("after remove: accounts still list %q or lost GitHub:alice", aliceAccount)
	}

	// A third-party account is removed locally, with no network at all.
	h.transport = noNetwork{t}
	r = h.ok("", "remove", "--yes", "GitHub:alice")
	if strings.Contains(r.stdout+r.stderr, "eregister") || strings.Contains(r.stderr, "Warning") {
		t.Errorf("remove of an otpauth account mentions the server:\n%s", r)
	}
	if hasAccount(h, "GitHub:alice") {
		t.Error("GitHub:alice still listed after remove")
	}
}

func TestRemoveUnreachableServer(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	dead := &e2eDeadNetwork{}
	h.transport = dead

	// The question comes first: declining makes no request.
	h.fails(1, []string{"nothing removed"}, "n\n", "remove", aliceAccount)
	if n := dead.count(); n != 0 {
		t.Errorf("declined remove made %d requests", n)
	}

	r := h.fails(exitError, []string{"could not deregister", s.Host, "network is off", "nothing was removed",
		`twostep remove --local "` + aliceAccount + `"`}, "", "remove", "--yes", aliceAccount)
	t.Logf("remove with the server unreachable: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	if dead.count() == 0 {
		t.Errorf("remove made no request through the app's transport:\n%s", r)
	}
	if !hasAccount(h, aliceAccount) {
		t.Fatal("the account was removed although the server could not be told")
	}

	calls := dead.count()
	r = h.ok("", "remove", "--yes", "--local", aliceAccount)
	if !strings.Contains(r.stdout, `Removed "`+aliceAccount+`".`) {
		t.Errorf("remove --local output:\n%s", r)
	}
	if w := "Warning: removed from this device only: " + s.Host + " still lists this device"; !strings.Contains(r.stderr, w) ||
		!strings.Contains(r.stderr, "until an administrator removes it or it is reactivated") {
		t.Errorf("remove --local does not warn %q...:\n%s", w, r)
	}
	if n := dead.count(); n != calls {
		t.Errorf("remove --local made %d requests, want none", n-calls)
	}
	if hasAccount(h, aliceAccount) {
		t.Error("the account is still listed after remove --local")
	}
	if d := fakeDevice(t, s, pkey); d.Revoked || deletes(s) != 0 {
		t.Errorf("after remove --local the server's install is %+v with %d DELETEs, want untouched", d, deletes(s))
	}
}

func TestRemoveLocalPrompt(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	h.activate(s, activation)
	h.transport = noNetwork{t}
	r := h.ok("y\n", "remove", "--local", aliceAccount)
	if !strings.Contains(r.stdout, "but "+s.Host+" will still list it") {
		t.Errorf("remove --local prompt does not say the server keeps the device:\n%s", r)
	}
}

func TestRemoveAlreadyRevoked(t *testing.T) {
	for _, tt := range []struct {
		name   string
		revoke func(s *deviceclienttest.Server, pkey string)
		note   string
	}{
		{"revoked", (*deviceclienttest.Server).Revoke, "had already revoked this install"},
		{"unknown", (*deviceclienttest.Server).Forget, "did not know this install any more"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.server()
			pkey := h.activate(s, activation)
			tt.revoke(s, pkey)
			r := h.ok("", "remove", "--yes", aliceAccount)
			if !strings.Contains(r.stdout, `Removed "`+aliceAccount+`".`) ||
				!strings.Contains(r.stdout, "Note: "+s.Host+" "+tt.note) || !strings.Contains(r.stdout, "nothing to deregister") {
				t.Errorf("remove of a %s install:\n%s", tt.name, r)
			}
			if strings.Contains(r.stderr, "Warning") {
				t.Errorf("remove of a %s install warns:\n%s", tt.name, r)
			}
			if hasAccount(h, aliceAccount) {
				t.Errorf("the %s install is still listed", tt.name)
			}
		})
	}
}
