package main

import (
	"encoding/base64"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/otp"
)

var secret = []byte(activation.HOTPSecret)

func TestActivateThenCodesOffline(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	r := h.ok("", "activate", s.AddActivation(activation))
	first := groupCode(otp.HOTP(secret, 3, 6))
	for _, want := range []string{`Activated "Example Corp (alice)" on ` + s.Host, "Passcode: " + first} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("activate output lacks %q:\n%s", want, r)
		}
	}
	st, err := os.Stat(h.vault)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("vault %s: %v, mode %v; want 0600", h.vault, err, st.Mode())
	}

	// From now on no network, ever.
	h.transport = noNetwork{t}
	h.setenv("TWOSTEP_CA_FILE", "")
	tests := []struct {
		args []string
		want uint64 // the counter of the code shown
	}{
		{[]string{"code"}, 3},
		{[]string{"code"}, 3}, // showing does not advance
		{[]string{"code", "Example Corp (alice)"}, 3},
		{[]string{"code", "--next"}, 4},
		{[]string{"code"}, 4},
		{[]string{"refresh"}, 5},
		{[]string{"code", "--next", "example corp (ALICE)"}, 6},
	}
	for _, tt := range tests {
		r := h.ok("", tt.args...)
		want := "Example Corp (alice)  " + groupCode(otp.HOTP(secret, tt.want, 6))
		if strings.TrimSpace(r.stdout) != want {
			t.Errorf("twostep %v = %q, want %q", tt.args, strings.TrimSpace(r.stdout), want)
		}
	}
	var codes []codeJSON
	h.jsonOut(&codes, "code", "--json")
	six := uint64(6)
	want := []codeJSON{{Account: "Example Corp (alice)", Kind: "twostep", Type: "hotp", Code: otp.HOTP(secret, 6, 6), Counter: &six}}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("code --json mismatch (-want +got):\n%s", diff)
	}
	h.fails(1, []string{`no such account "nobody"`}, "", "code", "nobody")
}

func TestActivateForms(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T, full, host string) string
	}{
		{"code", func(_ *testing.T, full, _ string) string { return full }},
		{"duo scheme", func(_ *testing.T, full, _ string) string { return "duo://" + full }},
		{"activation URL", func(_ *testing.T, full, host string) string { return "https://" + host + "/activate/" + full }},
		{"barcode URL", func(_ *testing.T, full, host string) string {
			return "https://" + host + "/frame/qr?value=" + url.QueryEscape(full)
		}},
		{"QR image", func(t *testing.T, full, _ string) string { return qrFile(t, full) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.server()
			full := s.AddActivation(activation)
			r := h.ok("", "activate", tt.give(t, full, s.Host))
			if !strings.Contains(r.stdout, "Passcode: "+groupCode(otp.HOTP(secret, 3, 6))) {
				t.Errorf("activate output:\n%s", r)
			}
			if len(s.Devices()) != 1 {
				t.Errorf("server has %d devices, want 1", len(s.Devices()))
			}
		})
	}
}

func TestActivateFailures(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	used := s.AddActivation(activation)
	h.ok("", "activate", used)
	h.fails(1, []string{"unknown, already used or expired"}, "", "activate", used)
	h.fails(1, []string{"not an activation code"}, "", "activate", "hello")
	h.fails(1, []string{"missing.png", "no such file"}, "", "activate", "missing.png")
	h.fails(1, []string{"x.png", "not a PNG"}, "", "activate", writeFile(t, "x.png", "not a png"))
	h.fails(2, []string{"account name"}, "", "activate", "--name", " bad", s.AddActivation(activation))

	// A server with its own CA, without --ca-file: a hint, and no vault.
	h2 := newHarness(t)
	h2.fails(1, []string{"--ca-file"}, "", "activate", s.AddActivation(activation))
	if _, err := os.Stat(h2.vault); err == nil {
		t.Error("a failed activation created the vault")
	}
	// The passphrase is settled before the code is spent.
	h3 := newHarness(t)
	h3.setenv("TWOSTEP_PASSPHRASE", "")
	h3.setenv("TWOSTEP_CA_FILE", s.CAFile)
	before := len(s.Devices())
	h3.fails(1, []string{"TWOSTEP_PASSPHRASE"}, "", "activate", s.AddActivation(activation))
	if len(s.Devices()) != before {
		t.Error("the activation code was redeemed although the vault could not be created")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := t.TempDir() + "/" + name
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestActivateStoresCA(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	h.setenv("TWOSTEP_CA_FILE", "")
	h.ok("", "--ca-file", s.CAFile, "activate", s.AddActivation(activation))
	// Later calls trust the saved CA without the flag.
	r := h.ok("", "pending")
	if !strings.Contains(r.stdout, "No login requests are waiting.") {
		t.Errorf("pending:\n%s", r)
	}
}

func TestReactivateReplaces(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	old := h.activate(s, activation)
	r := h.ok("", "activate", s.AddActivation(activation))
	if !strings.Contains(r.stdout, `Reactivated "Example Corp (alice)"`) {
		t.Errorf("second activation output:\n%s", r)
	}
	var accounts []accountJSON
	h.jsonOut(&accounts, "accounts", "--json")
	if len(accounts) != 1 || accounts[0].PKey == old {
		t.Errorf("accounts after reactivation = %+v, want one with a new pkey", accounts)
	}
	// Another user at the same organisation gets a name of its own.
	bob := activation
	bob.Username, bob.UserID = "bob", "DUBOB"
	h.activate(s, bob, "--name", "Work")
	alice2 := activation
	alice2.UserID = "DUOTHER"
	h.activate(s, alice2)
	h.jsonOut(&accounts, "accounts", "--json")
	var names []string
	for _, a := range accounts {
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"Example Corp (alice)", "Work", "Example Corp (alice) #2"}, names); diff != "" {
		t.Errorf("account names (-want +got):\n%s", diff)
	}
}

func TestTOTPInstall(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	now := time.Unix(1795299940, 0) // 10 s into a step
	h.now = func() time.Time { return now }
	resp := activation
	resp.UseTOTP = true
	h.activate(s, resp)
	r := h.ok("", "code")
	want := "Example Corp (alice)  " + groupCode(otp.TOTP(secret, now, 30, 6)) + "  20 s left"
	if strings.TrimSpace(r.stdout) != want {
		t.Errorf("code = %q, want %q", strings.TrimSpace(r.stdout), want)
	}
	h.fails(1, []string{"time-based"}, "", "code", "--next")
}

func TestConcurrentRefresh(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	h.activate(s, activation)
	h.transport = noNetwork{t}
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if r := h.run("", "refresh"); r.code != 0 {
				t.Errorf("refresh: %s", r)
			}
		})
	}
	wg.Wait()
	var codes []codeJSON
	h.jsonOut(&codes, "code", "--json")
	if len(codes) != 1 || *codes[0].Counter != 3+n {
		t.Errorf("counter after %d concurrent refreshes = %v, want %d", n, *codes[0].Counter, 3+n)
	}
}

func TestGroupCode(t *testing.T) {
	tests := []struct{ give, want string }{
		{"123456", "123 456"},
		{"12345678", "1234 5678"},
		{"1234567", "123 4567"},
		{"123", "123"},
	}
	for _, tt := range tests {
		if got := groupCode(tt.give); got != tt.want {
			t.Errorf("groupCode(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestActivationCodeHostIsServer(t *testing.T) {
	// The code's HOST64 names the server; the activation URL's host is
	// only where the page was.
	h := newHarness(t)
	s := h.server()
	full := s.AddActivation(activation)
	h.ok("", "activate", "https://portal.example.invalid/activate/"+full)
	host64 := full[strings.Index(full, "-")+1:]
	if b, _ := base64.RawStdEncoding.DecodeString(host64); string(b) != s.Host {
		t.Fatalf("fake code host = %q", b)
	}
}
