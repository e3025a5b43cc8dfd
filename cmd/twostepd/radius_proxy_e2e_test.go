package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// upstreamSecret is the shared secret between twostepd and the upstream.
const upstreamSecret = "upstream-secret-0123456789"

// startFreeradius runs Debian's freeradius on a free loopback port as the
// upstream RADIUS server of proxy mode: a copy of the packaged
// configuration with only pap and files, one client (twostepd on
// 127.0.0.1, which must send Message-Authenticator) and the users given in
// the files module's syntax. It returns the server's address.
func startFreeradius(t *testing.T, users string) string {
	t.Helper()
	bin := needProgram(t, "/usr/sbin/freeradius", "freeradius")
	const packaged = "/etc/freeradius/3.0"
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-rL", packaged+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", packaged, err, out)
	}
	mods, _ := os.ReadDir(filepath.Join(dir, "mods-enabled"))
	for _, m := range mods {
		switch m.Name() {
		case "pap", "files", "always", "expr":
		default:
			os.Remove(filepath.Join(dir, "mods-enabled", m.Name()))
		}
	}
	sites, _ := os.ReadDir(filepath.Join(dir, "sites-enabled"))
	for _, s := range sites {
		os.Remove(filepath.Join(dir, "sites-enabled", s.Name()))
	}
	conf, err := os.ReadFile(filepath.Join(dir, "radiusd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c := string(conf)
	c = regexp.MustCompile(`(?m)^(\s*)(user|group) = freerad$`).ReplaceAllString(c, "$1# $2 (the test runs it as itself)")
	c = regexp.MustCompile(`(?m)^logdir = .*$`).ReplaceAllString(c, "logdir = "+filepath.Join(dir, "log"))
	c = regexp.MustCompile(`(?m)^run_dir = .*$`).ReplaceAllString(c, "run_dir = "+filepath.Join(dir, "run"))
	c = regexp.MustCompile(`(?m)^proxy_requests\s*=.*$`).ReplaceAllString(c, "proxy_requests = no")
	os.MkdirAll(filepath.Join(dir, "log"), 0o700)
	os.MkdirAll(filepath.Join(dir, "run"), 0o700)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	files := map[string]string{
		"radiusd.conf": c,
		"clients.conf": "client twostep {\n\tipaddr = 127.0.0.1\n\tsecret = " + upstreamSecret + "\n\trequire_message_authenticator = yes\n}\n",
		"sites-enabled/default": fmt.Sprintf(`server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = %d
	}
	authorize {
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
}
`, port),
		"mods-config/files/authorize": users,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-X", "-d", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start freeradius: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var log strings.Builder
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !sent && strings.Contains(sc.Text(), "Ready to process requests") {
				ready <- true
				sent = true
			}
		}
		if !sent {
			ready <- false
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("freeradius exited before it was ready:\n%s", log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("freeradius not ready within 30s")
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// TestRadiusProxyFreeradius: twostepd checks the first factor with Debian's
// freeradius, continuing to the second only on its Access-Accept and
// copying its reply attributes through; a wrong upstream password is
// rejected without the passcode being tried.
func TestRadiusProxyFreeradius(t *testing.T) {
	needProgram(t, "radclient", "freeradius-utils")
	needProgram(t, "oathtool", "oathtool")
	upstream := startFreeradius(t, "frank\tCleartext-Password := \"upstream-pw\"\n\tFilter-Id := \"vpn-users\"\n")
	rs := startRadiusServe(t, `
[[radius.clients]]
name = "vpn-proxy"
networks = ["127.0.0.1/32"]
secret = "`+radiusSecret+`"
first_factor = "proxy"

[radius.clients.proxy]
address = "`+upstream+`"
secret = "`+upstreamSecret+`"
`, nil)
	secret := rs.hotpUser("frank")
	login := func(password string) radclientReply {
		return rs.radclient(radiusSecret, true, "User-Name = frank", `User-Password = "`+password+`"`)
	}
	code0 := oathHOTP(t, secret, 0)

	r := login("wrong-pw," + code0)
	if r.Code != "Access-Reject" || !strings.Contains(r.Out, "Incorrect user name or password") {
		t.Errorf("wrong upstream password = %q, want Access-Reject naming the password:\n%s", r.Code, r.Out)
	}
	recs := rs.authLog("frank")
	if len(recs) != 1 || recs[0].Factor != "first_factor" || recs[0].Reason != "invalid_first_factor" || recs[0].Application.Name != "vpn-proxy" {
		t.Errorf("auth log after the wrong password = %+v, want one first-factor deny", recs)
	}
	// The passcode was not tried: it still works, with the right password.
	r = login("upstream-pw," + code0)
	if r.Code != "Access-Accept" {
		t.Fatalf("right password and passcode = %q, want Access-Accept:\n%s", r.Code, r.Out)
	}
	if !strings.Contains(r.Out, `Filter-Id = "vpn-users"`) {
		t.Errorf("the upstream's reply attributes were not copied through:\n%s", r.Out)
	}
	// The trailing-digits form, and a wrong passcode after the right password.
	if r := login("upstream-pw" + oathHOTP(t, secret, 1)); r.Code != "Access-Accept" {
		t.Errorf("password followed by the passcode = %q, want Access-Accept:\n%s", r.Code, r.Out)
	}
	if r := login("upstream-pw,000000"); r.Code != "Access-Reject" || !strings.Contains(r.Out, "Incorrect passcode") {
		t.Errorf("right password, wrong passcode = %q, want Access-Reject:\n%s", r.Code, r.Out)
	}
	if r := login("upstream-pw"); r.Code != "Access-Reject" || !strings.Contains(r.Out, "after your password with a comma") {
		t.Errorf("password without a factor = %q, want Access-Reject saying how to add one:\n%s", r.Code, r.Out)
	}
}
