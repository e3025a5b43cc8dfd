package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/radiusd"
)

// radiusSecret is the shared secret of the test's RADIUS clients.
const radiusSecret = "radius-e2e-secret-0123456789"

// radiusServer is a twostepd with RADIUS on, as a NAS sees it.
type radiusServer struct {
	t     *testing.T
	in    *instance
	addr  string // UDP host:port
	a     adminE2E
	creds credentials
}

// startRadiusServe starts twostepd with [radius] on loopback and the
// given [[radius.clients]] tables (TOML), secret radiusSecret unless a
// table says otherwise.
func startRadiusServe(t *testing.T, clients string, getenv func(string) string) *radiusServer {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "twostep.toml")
	body := "[radius]\nlisten = \"127.0.0.1:0\"\n" + clients
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startServe(t, getenv, "--config", cfg)
	m := regexp.MustCompile(`"msg":"radius listening","addr":"([^"]+)"`).FindStringSubmatch(in.logs.String())
	if m == nil {
		t.Fatalf("no radius listener in the log:\n%s", in.logs)
	}
	rs := &radiusServer{t: t, in: in, addr: m[1], a: adminE2E{t, in}}
	// A second node on a shared database bootstraps nothing.
	if _, err := os.Stat(filepath.Join(in.data, "initial-credentials.json")); err == nil {
		rs.creds, _ = readCredentials(t, in.data)
	}
	return rs
}

// radclientReply is what Debian's radclient printed for one request.
type radclientReply struct {
	Code  string // "Access-Accept", "Access-Reject", "Access-Challenge", or "" for no reply
	Out   string
	State string // the State attribute, as radclient prints it (0x...)
}

// radclient sends one Access-Request with Debian's radclient (freeradius-
// utils) and returns its answer. attrs are radclient's attribute lines
// ("User-Name = alice"); withMA adds Message-Authenticator.
func (rs *radiusServer) radclient(secret string, withMA bool, attrs ...string) radclientReply {
	rs.t.Helper()
	bin := needProgram(rs.t, "radclient", "freeradius-utils")
	if withMA {
		attrs = append(attrs, "Message-Authenticator = 0x00")
	}
	ctx, cancel := context.WithTimeout(rs.t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-x", "-r", "1", "-t", "70", rs.addr, "auth", secret)
	cmd.Stdin = strings.NewReader(strings.Join(attrs, ", ") + "\n")
	out, _ := cmd.CombinedOutput() // exit status 1 on a reject or no reply; the output tells
	r := radclientReply{Out: string(out)}
	if m := regexp.MustCompile(`Received (Access-\w+) `).FindStringSubmatch(r.Out); m != nil {
		r.Code = m[1]
	}
	if m := regexp.MustCompile(`State = (0x[0-9a-f]+)`).FindStringSubmatch(r.Out); m != nil {
		r.State = m[1]
	}
	return r
}

// quick is radclient with a short timeout, for requests that must go
// unanswered.
func (rs *radiusServer) unanswered(secret string, withMA bool, attrs ...string) {
	rs.t.Helper()
	bin := needProgram(rs.t, "radclient", "freeradius-utils")
	if withMA {
		attrs = append(attrs, "Message-Authenticator = 0x00")
	}
	cmd := exec.CommandContext(rs.t.Context(), bin, "-x", "-r", "1", "-t", "1", rs.addr, "auth", secret)
	cmd.Stdin = strings.NewReader(strings.Join(attrs, ", ") + "\n")
	out, _ := cmd.CombinedOutput()
	if strings.Contains(string(out), "Received ") || !strings.Contains(string(out), "No reply") {
		rs.t.Errorf("radclient %q got an answer, want none:\n%s", attrs, out)
	}
}

// authLog returns the auth log records of username, newest first.
func (rs *radiusServer) authLog(username string) []authLogJSON {
	rs.t.Helper()
	return jsonOf[[]authLogJSON](rs.t, rs.a.ok("logs", "auth", "--json", "--user", username))
}

type authLogJSON struct {
	Factor      string `json:"factor"`
	Result      string `json:"result"`
	Reason      string `json:"reason"`
	Application struct {
		Key  string `json:"key"`
		Name string `json:"name"`
	} `json:"application"`
	AccessDevice struct {
		IP       string `json:"ip"`
		Hostname string `json:"hostname"`
	} `json:"access_device"`
}

// hotpUser adds a user with an HOTP token of RFC 4226's secret.
func (rs *radiusServer) hotpUser(name string) []byte {
	rs.t.Helper()
	rs.a.ok("user", "add", name)
	file := filepath.Join(rs.t.TempDir(), "tokens.csv")
	secret := []byte("12345678901234567890")
	os.WriteFile(file, []byte(fmt.Sprintf("serial,secret,counter\n%s-tok,%x,0\n", name, secret)), 0o600)
	rs.a.ok("token", "import", file, "--type", "h6", "--assign", name)
	return secret
}

func (rs *radiusServer) metrics(token string) string {
	t := rs.t
	t.Helper()
	req, _ := http.NewRequest("GET", "https://"+rs.creds.APIHost+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	hc := httpsClient(trustCA(t, rs.creds.CAFile))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRadiusAppendModeRadclient drives append mode with Debian's radclient
// against a running twostepd: HOTP passcodes computed by oathtool,
// replay, keyword push approved in the twostep app, retransmissions, and
// the requests that must be dropped.
func TestRadiusAppendModeRadclient(t *testing.T) {
	needProgram(t, "radclient", "freeradius-utils")
	needProgram(t, "oathtool", "oathtool")
	const metricsToken = "metrics-token-0123456789abcdef"
	rs := startRadiusServe(t, `
[[radius.clients]]
name = "vpn"
networks = ["127.0.0.1/32"]
secret = "`+radiusSecret+`"
timeout = "60s"
`, func(k string) string {
		if k == "TWOSTEP_METRICS_TOKEN" {
			return metricsToken
		}
		return ""
	})
	secret := rs.hotpUser("alice")

	user := func(name, password string) []string {
		return []string{"User-Name = " + name, `User-Password = "` + password + `"`, "Calling-Station-Id = 198.51.100.7"}
	}
	code0, code1 := oathHOTP(t, secret, 0), oathHOTP(t, secret, 1)

	t.Run("passcode accepted", func(t *testing.T) {
		r := rs.radclient(radiusSecret, true, user("alice", code0)...)
		if r.Code != "Access-Accept" {
			t.Fatalf("radclient = %q, want Access-Accept:\n%s", r.Code, r.Out)
		}
		if !strings.Contains(r.Out, `Reply-Message = "Success. Logging you in..."`) {
			t.Errorf("accept lacks the success Reply-Message:\n%s", r.Out)
		}
		recs := rs.authLog("alice")
		if len(recs) != 1 || recs[0].Result != "success" || recs[0].Application.Name != "vpn" ||
			recs[0].Application.Key != radiusd.IKeyOf("vpn") || recs[0].AccessDevice.Hostname != "127.0.0.1" ||
			recs[0].AccessDevice.IP != "198.51.100.7" || recs[0].Factor != "hardware_token" {
			t.Errorf("auth log = %+v, want one success by vpn from NAS 127.0.0.1 for 198.51.100.7", recs)
		}
	})
	t.Run("replay rejected", func(t *testing.T) {
		r := rs.radclient(radiusSecret, true, user("alice", code0)...)
		if r.Code != "Access-Reject" || !strings.Contains(r.Out, "already been used") {
			t.Errorf("replayed passcode = %q, want Access-Reject saying it was used:\n%s", r.Code, r.Out)
		}
	})
	t.Run("wrong passcode rejected", func(t *testing.T) {
		r := rs.radclient(radiusSecret, true, user("alice", "000000")...)
		if r.Code != "Access-Reject" || !strings.Contains(r.Out, "Incorrect passcode. Please try again.") {
			t.Errorf("wrong passcode = %q, want Access-Reject with an actionable message:\n%s", r.Code, r.Out)
		}
	})
	t.Run("no factor typed", func(t *testing.T) {
		r := rs.radclient(radiusSecret, true, user("alice", "hunter2")...)
		if r.Code != "Access-Reject" || !strings.Contains(r.Out, "Type a passcode") {
			t.Errorf("empty password = %q, want Access-Reject telling what to type:\n%s", r.Code, r.Out)
		}
	})

	t.Run("retransmission answered from cache", func(t *testing.T) {
		before := len(rs.authLog("alice"))
		conn, err := net.Dial("udp", rs.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		p := radius.New(radius.CodeAccessRequest, []byte(radiusSecret))
		rfc2865.UserName_SetString(p, "alice")
		rfc2865.UserPassword_SetString(p, code1)
		wire := signedRequest(t, p)
		var answers [][]byte
		for range 3 { // the request, then two retransmissions of the same bytes
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(wire); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			answers = append(answers, buf[:n])
		}
		if radius.Code(answers[0][0]) != radius.CodeAccessAccept {
			t.Fatalf("first answer = %v, want Access-Accept", radius.Code(answers[0][0]))
		}
		for i, a := range answers[1:] {
			if string(a) != string(answers[0]) {
				t.Errorf("retransmission %d answered %v, want the cached Access-Accept", i+1, radius.Code(a[0]))
			}
		}
		if got := len(rs.authLog("alice")); got != before+1 {
			t.Errorf("auth log grew by %d records, want 1: the counter moves once", got-before)
		}
		// A new request (new authenticator) with the same code is a replay.
		if r := rs.radclient(radiusSecret, true, user("alice", code1)...); r.Code != "Access-Reject" {
			t.Errorf("the retransmitted code in a new request = %q, want Access-Reject", r.Code)
		}
	})

	t.Run("dropped", func(t *testing.T) {
		rs.unanswered(radiusSecret, false, user("alice", oathHOTP(t, secret, 2))...)                // no Message-Authenticator
		rs.unanswered("wrong-secret-0123456789abc", true, user("alice", oathHOTP(t, secret, 2))...) // wrong secret
		// An unknown source: 127.0.0.2 is outside every client's networks.
		conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(mustAddrPort(t, rs.addr)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		p := radius.New(radius.CodeAccessRequest, []byte(radiusSecret))
		rfc2865.UserName_SetString(p, "alice")
		rfc2865.UserPassword_SetString(p, oathHOTP(t, secret, 2))
		conn.Write(signedRequest(t, p))
		conn.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := conn.Read(make([]byte, 4096)); err == nil {
			t.Errorf("a request from an unknown source got a %d-byte answer", n)
		}
		// None of them spent the code.
		if r := rs.radclient(radiusSecret, true, user("alice", oathHOTP(t, secret, 2))...); r.Code != "Access-Accept" {
			t.Errorf("the code the dropped requests carried = %q, want Access-Accept:\n%s", r.Code, r.Out)
		}
		body := rs.metrics(metricsToken)
		for _, want := range []string{
			`twostep_radius_dropped_total{reason="missing_message_authenticator"} 1`,
			`twostep_radius_dropped_total{reason="bad_message_authenticator"} 1`,
			`twostep_radius_dropped_total{reason="unknown_source"} 1`,
			`twostep_radius_answers_total{cached="true",client="vpn",code="Access-Accept"} 2`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("keyword push approved in the app", func(t *testing.T) {
		rs.a.ok("user", "add", "bob")
		phone := jsonOf[map[string]any](t, rs.a.ok("phone", "add", "bob", "+15555550190", "--json", "--name", "bob's phone"))
		pid, _ := phone["phone_id"].(string)
		act := jsonOf[struct {
			URL string `json:"activation_url"`
		}](t, rs.a.ok("phone", "activate", pid, "--json"))
		dev := activateDevice(t, act.URL, trustCA(t, rs.creds.CAFile))
		approved := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			txs, err := dev.Transactions(ctx, 30*time.Second)
			if err == nil && len(txs) != 1 {
				err = fmt.Errorf("%d pending requests, want 1", len(txs))
			}
			if err == nil {
				err = dev.Answer(ctx, txs[0].ID(), deviceclient.Answer{Approve: true})
			}
			approved <- err
		}()
		r := rs.radclient(radiusSecret, true, user("bob", "push")...)
		if err := <-approved; err != nil {
			t.Fatalf("approving in the app: %v", err)
		}
		if r.Code != "Access-Accept" {
			t.Fatalf("push = %q, want Access-Accept:\n%s", r.Code, r.Out)
		}
		recs := rs.authLog("bob")
		if len(recs) != 1 || recs[0].Factor != "duo_push" || recs[0].Result != "success" || recs[0].Application.Name != "vpn" {
			t.Errorf("auth log = %+v, want one approved push by vpn", recs)
		}
	})
}

// signedRequest encodes an Access-Request with a Message-Authenticator, as
// a BlastRADIUS-safe NAS sends it.
func signedRequest(t *testing.T, p *radius.Packet) []byte {
	t.Helper()
	b, err := radiusd.EncodeRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
