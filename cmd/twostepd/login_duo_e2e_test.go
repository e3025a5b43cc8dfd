package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
)

// activateDevice activates a new app install from an activation link,
// as the twostep app does, and returns it.
func activateDevice(t *testing.T, link string, pool *x509.CertPool) *deviceclient.Device {
	t.Helper()
	code, err := deviceclient.ParseActivation(link)
	if err != nil {
		t.Fatalf("ParseActivation(%q) = %v", link, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c, err := deviceclient.New(deviceclient.Config{Host: code.Host, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	act, err := c.Activate(t.Context(), code, key, deviceclient.DeviceInfo{Model: "test"})
	if err != nil {
		t.Fatalf("Activate = %v", err)
	}
	return c.Device(act.PKey, act.AKey, key)
}

// loginDuo is Debian's login_duo (package login-duo, duo_unix 1.11.3): it
// speaks the legacy /rest/v1 API with v1 signatures and BSON answers.
const loginDuo = "/usr/sbin/login_duo"

// needProgram skips the test when path is missing, and fails under CI=true,
// where .ci/run installs it.
func needProgram(t *testing.T, path, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (Debian package %s); .ci/run must install it", path, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s); skipping the real duo_unix client test", path, pkg)
	return ""
}

// ptyRun is a command running under a pseudo-terminal made by util-linux
// script(1), so that login_duo sees a TTY and prompts.
type ptyRun struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan error
}

type lockedWriter struct{ p *ptyRun }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

func startPTY(t *testing.T, script string, command string) *ptyRun {
	t.Helper()
	p := &ptyRun{t: t, done: make(chan error, 1)}
	p.cmd = exec.Command(script, "-qfec", command, "/dev/null")
	p.cmd.Stdout = lockedWriter{p}
	p.cmd.Stderr = lockedWriter{p}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *ptyRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitCount waits (at most 10 s) until the output holds n copies of s.
func (p *ptyRun) waitCount(s string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.output(), s) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("no %d× %q within 10s; output:\n%s", n, s, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *ptyRun) typeLine(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, s+"\n"); err != nil {
		p.t.Fatalf("type %q: %v", s, err)
	}
}

// wait waits (at most 10 s) for the exit and returns the exit code.
func (p *ptyRun) wait() int {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		p.t.Fatalf("login_duo: %v", err)
	case <-time.After(10 * time.Second):
		p.t.Fatalf("login_duo did not exit within 10s; output:\n%s", p.output())
	}
	return -1
}

// TestLoginDuoEndToEnd drives Debian's real login_duo against a real
// twostepd: a unix integration and a user with an RFC 4226 hardware token
// made with the admin CLI, then interactive logins typing passcodes.
func TestLoginDuoEndToEnd(t *testing.T) {
	bin := needProgram(t, loginDuo, "login-duo")
	script := needProgram(t, "script", "util-linux")

	in := startServe(t, nil)
	a := adminE2E{t, in}
	a.ok("integration", "add", "ssh", "--type", "unix")
	var ikey, skey string
	for _, it := range jsonOf[[]struct {
		IKey string `json:"integration_key"`
		Name string `json:"name"`
	}](t, a.ok("integration", "list", "--json")) {
		if it.Name == "ssh" {
			ikey = it.IKey
		}
	}
	if ikey == "" {
		t.Fatal("integration ssh not listed")
	}
	shown := jsonOf[struct {
		SKey string `json:"secret_key"`
	}](t, a.ok("integration", "show", ikey, "--show-secret", "--json"))
	skey = shown.SKey
	a.ok("user", "add", "frank")
	a.ok("user", "add", "gina")
	for _, u := range []string{"frank", "gina"} {
		tokens := filepath.Join(t.TempDir(), u+".csv")
		os.WriteFile(tokens, []byte("serial,secret,counter\nRFC4226-"+u+",3132333435363738393031323334353637383930,0\n"), 0o600)
		a.ok("token", "import", tokens, "--type", "h6", "--assign", u)
	}

	creds, _ := readCredentials(t, in.data)
	_, port, _ := strings.Cut(in.addr, ":")
	conf := filepath.Join(t.TempDir(), "login_duo.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[duo]\nikey = %s\nskey = %s\nhost = localhost:%s\ncafile = %s\nfailmode = secure\npushinfo = no\n",
		ikey, skey, port, creds.CAFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	login := func(user string) *ptyRun {
		return startPTY(t, script, fmt.Sprintf("%s -d -c %s -f %s echo LOGGED-IN-OK", bin, conf, user))
	}

	t.Run("wrong then right", func(t *testing.T) {
		p := login("frank")
		p.t = t
		p.waitCount("Passcode: ", 1)
		if out := p.output(); !strings.Contains(out, "Duo two-factor login for frank") {
			t.Errorf("prompt:\n%s", out)
		}
		p.typeLine("000000")
		p.waitCount("Passcode: ", 2)
		if out := p.output(); !strings.Contains(out, "Incorrect passcode. Please try again.") {
			t.Errorf("no refusal before the second prompt:\n%s", out)
		}
		p.typeLine("755224") // RFC 4226 counter 0
		if code := p.wait(); code != 0 {
			t.Errorf("exit code = %d, want 0; output:\n%s", code, p.output())
		}
		out := p.output()
		t.Logf("login_duo transcript:\n%s", out)
		for _, want := range []string{"Success. Logging you in...", "Successful Duo login for 'frank'", "LOGGED-IN-OK"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("prompts run out", func(t *testing.T) {
		p := login("gina")
		p.t = t
		for i, answer := range []string{"000000", "push1", "111111"} {
			p.waitCount("Passcode: ", i+1)
			p.typeLine(answer)
		}
		if code := p.wait(); code != 1 {
			t.Errorf("exit code = %d, want 1; output:\n%s", code, p.output())
		}
		out := p.output()
		if strings.Contains(out, "LOGGED-IN-OK") || !strings.Contains(out, "No device can receive login requests") ||
			strings.Count(out, "Failed Duo login for 'gina'") != 3 {
			t.Errorf("output:\n%s", out)
		}
	})

	t.Run("replayed code", func(t *testing.T) {
		p := login("frank")
		p.t = t
		p.waitCount("Passcode: ", 1)
		p.typeLine("755224") // used above
		p.waitCount("Passcode: ", 2)
		if !strings.Contains(p.output(), "already been used") {
			t.Errorf("output:\n%s", p.output())
		}
		p.typeLine("287082") // counter 1
		if code := p.wait(); code != 0 || !strings.Contains(p.output(), "LOGGED-IN-OK") {
			t.Errorf("exit code = %d; output:\n%s", code, p.output())
		}
	})

	// The menu offers a call and SMS for a phone without the app. Option 2
	// texts a new SMS batch (to the outbox here); login_duo shows
	// the status, counts a failed attempt and prompts again; the first
	// code of the batch then logs in.
	t.Run("sms option", func(t *testing.T) {
		a.ok("user", "add", "hank")
		a.ok("phone", "add", "hank", "+15555550177")
		p := login("hank")
		p.t = t
		const ask = "Passcode or option (1-2): "
		p.waitCount(ask, 1)
		if out := p.output(); !strings.Contains(out, " 1. Phone call to XXX-XXX-0177") ||
			!strings.Contains(out, " 2. SMS passcodes to XXX-XXX-0177") {
			t.Errorf("prompt lacks the call and SMS options:\n%s", out)
		}
		p.typeLine("2")
		p.waitCount(ask, 2)
		out := p.output()
		if !strings.Contains(out, "New SMS passcodes sent") || !strings.Contains(out, "(next code starts with: 1)") {
			t.Errorf("no SMS status, or no next-code hint in the second prompt:\n%s", out)
		}
		ob, err := outbox.New(filepath.Join(in.data, "outbox"), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		m, ok, err := ob.Last("+15555550177")
		if err != nil || !ok {
			t.Fatalf("outbox.Last = %v, %v; want the SMS", ok, err)
		}
		codes := strings.Fields(string(m.Body))
		if len(codes) < 2 {
			t.Fatalf("SMS text has no codes")
		}
		p.typeLine(codes[len(codes)-10]) // the first of the default 10
		if code := p.wait(); code != 0 {
			t.Errorf("exit code = %d, want 0; output:\n%s", code, p.output())
		}
		out = p.output()
		t.Logf("login_duo transcript:\n%s", out)
		if !strings.Contains(out, "Success. Logging you in...") || !strings.Contains(out, "LOGGED-IN-OK") {
			t.Errorf("output:\n%s", out)
		}
	})

	// A phone with the twostep app: the menu offers a push first; choosing
	// it sends a login request that the app (the device API client here)
	// approves, while login_duo polls status.bson and prints the progress.
	t.Run("push approved in the app", func(t *testing.T) {
		a.ok("user", "add", "ivan")
		phone := jsonOf[map[string]any](t, a.ok("phone", "add", "ivan", "+15555550188", "--json", "--name", "ivan's phone"))
		pid, _ := phone["phone_id"].(string)
		act := jsonOf[struct {
			URL string `json:"activation_url"`
		}](t, a.ok("phone", "activate", pid, "--json"))
		dev := activateDevice(t, act.URL, trustCA(t, creds.CAFile))

		p := login("ivan")
		p.t = t
		const ask = "Passcode or option (1-3): "
		p.waitCount(ask, 1)
		if out := p.output(); !strings.Contains(out, " 1. Push to ivan's phone (XXX-XXX-0188)") ||
			!strings.Contains(out, " 2. Phone call to") || !strings.Contains(out, " 3. SMS passcodes to") {
			t.Errorf("menu:\n%s", out)
		}
		p.typeLine("1")
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		txs, err := dev.Transactions(ctx, 20*time.Second)
		if err != nil || len(txs) != 1 {
			t.Fatalf("app's pending requests = %+v, %v", txs, err)
		}
		// login_duo shows the first status poll's answer at once; approve after it.
		p.waitCount("Pushed a login request to your device...", 1)
		if err := dev.Answer(ctx, txs[0].ID(), deviceclient.Answer{Approve: true}); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(); code != 0 {
			t.Errorf("exit code = %d, want 0; output:\n%s", code, p.output())
		}
		out := p.output()
		t.Logf("login_duo transcript:\n%s", out)
		for _, want := range []string{"Pushed a login request to your device...", "Success. Logging you in...", "LOGGED-IN-OK"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	// Without a TTY login_duo does not prompt: it sends factors.default
	// synchronously (async=0); frank has only a token, so no push can be sent. It
	// prints no status line then, only the failure.
	t.Run("no tty", func(t *testing.T) {
		cmd := exec.Command(bin, "-d", "-c", conf, "-f", "frank", "echo", "LOGGED-IN-OK")
		cmd.Stdin = strings.NewReader("")
		cmd.WaitDelay = 10 * time.Second
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("login_duo without a TTY did not exit within 10s: %s", out)
		}
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || strings.Contains(string(out), "LOGGED-IN-OK") ||
			!strings.Contains(string(out), "Failed Duo login for 'frank'") {
			t.Errorf("login_duo without a TTY = %v; output:\n%s", err, out)
		}
	})
}
