package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pamDuoModules are where Debian and other distributions put pam_duo.so
// (package libpam-duo, duo_unix 1.11.3 on Debian 12).
var pamDuoModules = []string{
	"/lib/*/security/pam_duo.so",
	"/usr/lib/*/security/pam_duo.so",
	"/lib/security/pam_duo.so",
	"/usr/lib/security/pam_duo.so",
	"/lib64/security/pam_duo.so",
	"/usr/lib64/security/pam_duo.so",
}

// needPAMDuo returns the path of pam_duo.so, skipping the test when it is
// not installed (failing under CI=true, where .ci/run installs it).
func needPAMDuo(t *testing.T) string {
	t.Helper()
	for _, pattern := range pamDuoModules {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0]
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("pam_duo.so is not installed (Debian package libpam-duo); .ci/run must install it")
	}
	t.Skip("pam_duo.so is not installed (apt-get install libpam-duo); skipping the real pam_duo test")
	return ""
}

// pamService writes a PAM service file into /etc/pam.d (PAM reads services
// only from there) whose auth stack is pam_duo alone with conf, and
// removes it when the test ends. It needs root: it skips otherwise, and
// fails under CI=true.
func pamService(t *testing.T, module, conf string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the pam_duo test must run as root: it writes a service file to /etc/pam.d")
		}
		t.Skip("not root: the pam_duo test writes a service file to /etc/pam.d")
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "twostep-test-" + hex.EncodeToString(b)
	path := filepath.Join("/etc/pam.d", name)
	body := fmt.Sprintf("# written by twostep's pam_duo end-to-end test; safe to delete\n"+
		"auth required %s conf=%s debug\naccount required pam_permit.so\n", module, conf)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("write PAM service: %v", err)
		}
		t.Skipf("cannot write a PAM service file: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("remove %s: %v", path, err)
		}
	})
	return name
}

// TestPAMDuoEndToEnd drives Debian's real pam_duo module, through
// pamtester under a pseudo-terminal, against a real twostepd: a unix
// integration (v1 signatures, legacy /rest/v1 BSON API) and local accounts
// that hold HOTP hardware tokens, with codes computed by oathtool. It proves
// that pam_duo's prompt, answer and status flow (PAM conversation, not
// login_duo's stdio) works end to end, and that PAM gets success only for a
// right code.
func TestPAMDuoEndToEnd(t *testing.T) {
	module := needPAMDuo(t)
	pamtester := needProgram(t, "pamtester", "pamtester")
	script := needProgram(t, "script", "util-linux")
	needProgram(t, "oathtool", "oathtool")

	// pam_duo looks the user up with getpwnam: the Duo username must be
	// a local account. Use system accounts every Debian system has.
	var users []string
	for _, name := range []string{"daemon", "bin", "nobody"} {
		if _, err := user.Lookup(name); err == nil {
			users = append(users, name)
		}
	}
	if len(users) < 2 {
		t.Skipf("need two of the local accounts daemon, bin, nobody; have %v", users)
	}

	in := startServe(t, nil)
	a := adminE2E{t, in}
	a.ok("integration", "add", "pam", "--type", "unix")
	var ikey string
	for _, it := range jsonOf[[]struct {
		IKey string `json:"integration_key"`
		Name string `json:"name"`
	}](t, a.ok("integration", "list", "--json")) {
		if it.Name == "pam" {
			ikey = it.IKey
		}
	}
	if ikey == "" {
		t.Fatal("integration pam not listed")
	}
	skey := jsonOf[struct {
		SKey string `json:"secret_key"`
	}](t, a.ok("integration", "show", ikey, "--show-secret", "--json")).SKey

	secrets := map[string][]byte{}
	for _, u := range users[:2] {
		a.ok("user", "add", u)
		secret := make([]byte, 20)
		rand.Read(secret)
		secrets[u] = secret
		tokens := filepath.Join(t.TempDir(), u+".csv")
		os.WriteFile(tokens, []byte("serial,secret,counter\nPAM-"+u+","+hex.EncodeToString(secret)+",0\n"), 0o600)
		a.ok("token", "import", tokens, "--type", "h6", "--assign", u)
	}

	creds, _ := readCredentials(t, in.data)
	_, port, _ := strings.Cut(in.addr, ":")
	conf := filepath.Join(t.TempDir(), "pam_duo.conf")
	// pam_duo refuses a config that group or others can read.
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[duo]\nikey = %s\nskey = %s\nhost = localhost:%s\ncafile = %s\nfailmode = secure\npushinfo = no\n",
		ikey, skey, port, creds.CAFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	service := pamService(t, module, conf)

	authenticate := func(t *testing.T, u string) *ptyRun {
		p := startPTY(t, script, fmt.Sprintf("%s -v %s %s authenticate", pamtester, service, u))
		p.t = t
		return p
	}
	// waitPrompt waits for the nth prompt: the server's menu header,
	// then the question, which ends in ": " without a newline.
	waitPrompt := func(p *ptyRun, u string, n int) {
		p.t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := p.output()
			if strings.Count(out, "Duo two-factor login for "+u) >= n && strings.HasSuffix(strings.TrimRight(out, " "), ":") {
				return
			}
			if time.Now().After(deadline) {
				p.t.Fatalf("no prompt %d within 10s; output:\n%s", n, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const ok = "pamtester: successfully authenticated"

	frank, gina := users[0], users[1]
	t.Run("right passcode", func(t *testing.T) {
		p := authenticate(t, frank)
		waitPrompt(p, frank, 1)
		p.typeLine(oathHOTP(t, secrets[frank], 0))
		if code := p.wait(); code != 0 {
			t.Errorf("pamtester exit code = %d, want 0; output:\n%s", code, p.output())
		}
		out := p.output()
		t.Logf("pamtester transcript:\n%s", out)
		for _, want := range []string{"Success. Logging you in...", ok} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("wrong passcodes refused", func(t *testing.T) {
		p := authenticate(t, frank)
		// pam_duo asks three times (prompts = 3, the default).
		answers := []string{wrongHOTP(t, secrets[frank]), oathHOTP(t, secrets[frank], 0) /* used above */, "12345"}
		for i, answer := range answers {
			waitPrompt(p, frank, i+1)
			p.typeLine(answer)
		}
		if code := p.wait(); code == 0 {
			t.Errorf("pamtester exit code = 0 after three wrong answers; output:\n%s", p.output())
		}
		out := p.output()
		t.Logf("pamtester transcript:\n%s", out)
		if strings.Contains(out, ok) {
			t.Errorf("PAM authenticated with wrong passcodes:\n%s", out)
		}
		for _, want := range []string{"Incorrect passcode. Please try again.", "already been used", "Failed Duo login for '" + frank + "'"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("wrong then right", func(t *testing.T) {
		p := authenticate(t, gina)
		waitPrompt(p, gina, 1)
		p.typeLine(wrongHOTP(t, secrets[gina]))
		waitPrompt(p, gina, 2)
		if !strings.Contains(p.output(), "Incorrect passcode. Please try again.") {
			t.Errorf("no refusal before the second prompt:\n%s", p.output())
		}
		p.typeLine(oathHOTP(t, secrets[gina], 3)) // within the look-ahead window
		if code := p.wait(); code != 0 || !strings.Contains(p.output(), ok) {
			t.Errorf("pamtester exit code = %d, want 0 and %q; output:\n%s", code, ok, p.output())
		}
	})

	// Every decision reached the authentication log: frank 1 + 3, gina 2.
	for u, want := range map[string]int{frank: 4, gina: 2} {
		if got := strings.Count(a.ok("logs", "auth", "--since", "1h", "--user", u), "\n") - 1; got != want {
			t.Errorf("logs auth --user %s shows %d records, want %d", u, got, want)
		}
	}
}

// wrongHOTP is a 6-digit code that is none of the codes a fresh HOTP token
// on secret would accept or call already used.
func wrongHOTP(t *testing.T, secret []byte) string {
	t.Helper()
	near := map[string]bool{}
	for n := range uint64(16) {
		near[oathHOTP(t, secret, n)] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (i*123457)%1000000)
		if !near[c] {
			return c
		}
	}
}
