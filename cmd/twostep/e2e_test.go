package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	duoadmin "github.com/duosecurity/duo_api_golang/admin"
	"github.com/duosecurity/duo_api_golang/authapi"
)

// TestAppE2E is the authenticator app's acceptance test: a real
// `twostepd serve` process (built from this checkout, SQLite in a temporary
// data directory, its own local CA) and the app's real run(), in process,
// with temporary vaults. Duo's own Go client drives the Auth API and the
// Admin API over real TLS, as a relying application would.
//
// It covers activation from an Auth API enroll code and from an Admin API
// activation link; offline passcodes (no network call at all), replay and
// refresh; async pushes listed, approved, denied as fraud (logged, then
// muted); reactivation on a second device revoking the first (passcodes
// and signed requests); interactive `watch`; and `remove` deregistering the
// install, so that preauth no longer offers push.
func TestAppE2E(t *testing.T) {
	start := time.Now()
	srv := startE2EServer(t)
	t.Logf("twostepd ready on %s after %v", srv.host, time.Since(start).Round(time.Millisecond))
	auth := srv.authClient()
	adm := srv.adminClient()
	ctx := t.Context()

	// 1. Enrollment. alice through the Auth API: a bare activation code.
	enr, err := auth.Enroll(authapi.EnrollUsername("alice"))
	if err != nil || enr.Stat != "OK" {
		t.Fatalf("Enroll(alice) = %+v, %v; want OK", enr, err)
	}
	aliceCode, aliceID := enr.Response.Activation_Code, enr.Response.User_Id
	if !regexp.MustCompile(`^(duo://)?[A-Za-z0-9]{20}-[A-Za-z0-9+/]+$`).MatchString(aliceCode) || aliceID == "" || enr.Response.Username != "alice" {
		t.Fatalf("Enroll(alice) = code %q, user %q %q; want CODE-HOST64 and alice's id", aliceCode, aliceID, enr.Response.Username)
	}
	if st := enrollStatus(t, auth, aliceID, aliceCode); st != "waiting" {
		t.Errorf("EnrollStatus before activation = %q, want waiting", st)
	}

	// bob through the Admin API: user, phone, association, activation link.
	created, err := adm.CreateUser(url.Values{"username": {"bob"}})
	if err != nil || created.Stat != "OK" || created.Response.UserID == "" {
		t.Fatalf("CreateUser(bob) = %+v, %v", created, err)
	}
	bobID := created.Response.UserID
	var phone struct {
		PhoneID string `json:"phone_id"`
	}
	srv.adminCall(t, adm, http.MethodPost, "/admin/v1/phones", url.Values{
		"number": {"+15555550123"}, "type": {"mobile"}, "platform": {"generic smartphone"}, "name": {"bob's phone"},
	}, &phone)
	srv.adminCall(t, adm, http.MethodPost, "/admin/v1/users/"+bobID+"/phones", url.Values{"phone_id": {phone.PhoneID}}, nil)
	bobLink := srv.activationURL(t, adm, phone.PhoneID)

	// 2. Activation. alice's vault is encrypted (TWOSTEP_PASSPHRASE, low
	// work factor); the server's CA is given once and saved.
	alice := newHarness(t)
	r := alice.ok("", "activate", "--ca-file", srv.caFile, aliceCode)
	if !strings.Contains(r.stdout, "Activated ") || !strings.Contains(r.stdout, "on "+srv.host) ||
		!regexp.MustCompile(`Passcode: \d{3} \d{3}`).MatchString(r.stdout) {
		t.Errorf("activate output lacks the account, the host or the first passcode:\n%s", r)
	}
	code1 := e2eCode(t, alice)
	if st := enrollStatus(t, auth, aliceID, aliceCode); st != "success" {
		t.Errorf("EnrollStatus after activation = %q, want success", st)
	}
	pre, err := auth.Preauth(authapi.PreauthUsername("alice"))
	if err != nil || pre.Stat != "OK" || pre.Response.Result != "auth" || len(pre.Response.Devices) != 1 ||
		!strings.Contains(strings.Join(pre.Response.Devices[0].Capabilities, ","), "push") {
		t.Errorf("Preauth(alice) = %+v, %v; want auth with one push-capable device", pre, err)
	}

	// bob's vault is unencrypted, activated from the link; no passphrase
	// is ever asked for or given.
	bob := newHarness(t)
	bob.setenv("TWOSTEP_PASSPHRASE", "")
	bob.ok("", "--no-passphrase", "activate", "--ca-file", srv.caFile, bobLink)
	e2eCode(t, bob)
	if len(bob.prompts) != 0 {
		t.Errorf("bob's unencrypted vault asked for a passphrase: %q", bob.prompts)
	}

	// 3. Offline: code never touches the network.
	dead := &e2eDeadNetwork{}
	alice.transport = dead
	if again := e2eCode(t, alice); again != code1 {
		t.Errorf("code with the network off = %s, want the same code %s (showing must not use it up)", again, code1)
	}
	if n := dead.count(); n != 0 {
		t.Errorf("code made %d network requests, want none: %v", n, dead.urls())
	}
	// The seam is real: a command that needs the server does use it.
	alice.fails(1, []string{"network is off"}, "", "pending")
	if dead.count() == 0 {
		t.Errorf("pending made no request through the app's transport: the offline check above proves nothing")
	}
	alice.transport = nil

	passcode(t, auth, "alice", code1, "allow", "")
	const used = "This passcode has already been used. Please generate a new passcode and try again."
	if msg := passcode(t, auth, "alice", code1, "deny", used); msg != used {
		t.Errorf("replayed passcode message = %q, want exactly %q", msg, used)
	}
	alice.transport = dead
	code2 := e2eCode(t, alice, "--next")
	if n := dead.count(); n != 1 { // the one pending above
		t.Errorf("code --next made network requests: %v", dead.urls())
	}
	alice.transport = nil
	if code2 == code1 {
		t.Errorf("code --next = %s, the used code again", code2)
	}
	if again := e2eCode(t, alice); again != code2 {
		t.Errorf("code after --next = %s, want %s", again, code2)
	}
	passcode(t, auth, "alice", code2, "allow", "")

	// 4. Async push, approved.
	integrationName := srv.integrationName(t, adm)
	txid := startPush(t, auth, "alice")
	var pending []txJSON
	alice.jsonOut(&pending, "pending", "--json")
	if len(pending) != 1 || pending[0].TxID != txid || pending[0].Application != integrationName ||
		pending[0].Username != "alice" || pending[0].IP != "198.51.100.7" {
		t.Fatalf("pending --json = %+v, want one request %s for %q, alice, 198.51.100.7", pending, txid, integrationName)
	}
	if !hasPair(pending[0].PushInfo, "Server", "db1") {
		t.Errorf("pending pushinfo = %v, want Server=db1", pending[0].PushInfo)
	}
	r = alice.ok("", "approve", txid)
	if !strings.HasPrefix(r.stdout, "Approved: ") {
		t.Errorf("approve output = %q, want Approved: ...", r.stdout)
	}
	if st := finalStatus(t, auth, txid); st.Result != "allow" || st.Status != "allow" {
		t.Errorf("auth_status after approve = %+v, want allow/allow", st)
	}
	alice.jsonOut(&pending, "pending", "--json")
	if len(pending) != 0 {
		t.Errorf("pending after approve = %+v, want none", pending)
	}

	// Async push to bob, denied as fraud (bob's phone is muted after this:
	// it is bob's last push).
	since := time.Now()
	txid = startPush(t, auth, "bob")
	waitPending(t, bob, txid)
	r = bob.ok("", "deny", "--fraud")
	if !strings.HasPrefix(r.stdout, "Denied and reported as fraud: ") {
		t.Errorf("deny --fraud output = %q", r.stdout)
	}
	if st := finalStatus(t, auth, txid); st.Result != "deny" || st.Status != "fraud" {
		t.Errorf("auth_status after deny --fraud = %+v, want deny/fraud", st)
	}
	rec := srv.authLogRecord(t, adm, since, txid)
	if rec["result"] != "fraud" || rec["reason"] != "user_marked_fraud" {
		t.Errorf("auth log record of %s = result %v reason %v, want fraud user_marked_fraud", txid, rec["result"], rec["reason"])
	}
	// The phone is muted: the next push is refused, saying why.
	res, err := auth.Auth("push", authapi.AuthUsername("bob"), authapi.AuthAsync(), authapi.AuthIpAddr("198.51.100.7"))
	if err != nil || res.Stat != "OK" {
		t.Fatalf("push to bob after the fraud report = %+v, %v", res, err)
	}
	result, msg := res.Response.Result, res.Response.Status_Msg
	if res.Response.Txid != "" {
		st := finalStatus(t, auth, res.Response.Txid)
		result, msg = st.Result, st.Status_Msg
	}
	if result != "deny" || !strings.Contains(strings.ToLower(msg), "fraud") {
		t.Errorf("push to bob after the fraud report = %s %q, want deny with a message about the fraud report", result, msg)
	}
	t.Logf("push to bob after the fraud report: %s %q", result, msg)

	// 5. Reactivation of alice's phone on a second device.
	users, err := adm.GetUsers(duoadmin.GetUsersUsername("alice"))
	if err != nil || users.Stat != "OK" || len(users.Response) != 1 || len(users.Response[0].Phones) != 1 {
		t.Fatalf("GetUsers(alice) = %+v, %v; want alice with one phone", users, err)
	}
	alicePhone := users.Response[0].Phones[0].PhoneID
	alice2 := newHarness(t)
	r = alice2.ok("", "activate", "--ca-file", srv.caFile, srv.activationURL(t, adm, alicePhone))
	if !strings.Contains(r.stdout, "Activated ") {
		t.Errorf("activate on the second device = %s", r)
	}
	stale := e2eCode(t, alice, "--next")
	passcode(t, auth, "alice", stale, "deny", "Reactivate")
	r = alice.fails(exitRevoked, []string{"no longer activated", "reactivate"}, "", "pending")
	t.Logf("pending on the replaced device: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	alice.fails(exitRevoked, []string{"no longer activated", "reactivate"}, "", "approve")
	alice.fails(exitRevoked, []string{"no longer activated", "reactivate"}, "", "watch")
	passcode(t, auth, "alice", e2eCode(t, alice2), "allow", "")

	// 6. watch on the second device: a push shows up, "a" approves it.
	watchApprove(t, ctx, alice2, auth)

	// 7. The QR image (activation_barcode) saved as a PNG: a third device
	// activates from the file, replacing the second.
	var act struct {
		Barcode string `json:"activation_barcode"`
	}
	// (valid_secs makes it another request than the first activation_url
	// of this phone, which may have been signed in the same second.)
	srv.adminCall(t, adm, http.MethodPost, "/admin/v1/phones/"+alicePhone+"/activation_url",
		url.Values{"valid_secs": {"3600"}}, &act)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.pool}}}
	resp, err := hc.Get(act.Barcode)
	if err != nil {
		t.Fatalf("GET activation_barcode: %v", err)
	}
	png, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET activation_barcode = %d %s, %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	qr := filepath.Join(t.TempDir(), "activation.png")
	if err := os.WriteFile(qr, png, 0o600); err != nil {
		t.Fatal(err)
	}
	alice3 := newHarness(t)
	alice3.ok("", "activate", "--ca-file", srv.caFile, qr)
	passcode(t, auth, "alice", e2eCode(t, alice3), "allow", "")
	alice2.fails(exitRevoked, []string{"no longer activated", "reactivate"}, "", "pending")

	// 8. Removing the account from the third device deregisters its
	// install (with the CA saved at activation): the phone is no longer
	// offered for push.
	var accts []accountJSON
	alice3.jsonOut(&accts, "accounts", "--json")
	if len(accts) != 1 || accts[0].Kind != "twostep" {
		t.Fatalf("accounts on the third device = %+v, want one twostep account", accts)
	}
	r = alice3.ok("", "remove", "--yes", accts[0].Name)
	if !strings.Contains(r.stdout, "Deregistered this device from "+srv.host) {
		t.Errorf("remove on the third device = %s, want it deregistered", r)
	}
	pre, err = auth.Preauth(authapi.PreauthUsername("alice"))
	if err != nil || pre.Stat != "OK" {
		t.Fatalf("Preauth(alice) after remove = %+v, %v", pre, err)
	}
	for _, d := range pre.Response.Devices {
		if slices.Contains(d.Capabilities, "push") {
			t.Errorf("Preauth(alice) after remove lists %+v with push, want no push-capable device", d)
		}
	}
	t.Logf("preauth for alice after remove: %s, %d device(s)", pre.Response.Result, len(pre.Response.Devices))
	if !strings.Contains(srv.logs.String(), "authenticator deregistered") {
		t.Errorf("twostepd logged no line about the deregistration")
	}
}

// watchApprove runs `twostep watch` with a stdin pipe, starts a push to
// alice, answers the prompt with "a" and checks the login is allowed.
func watchApprove(t *testing.T, ctx context.Context, h *harness, auth *authapi.AuthApi) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- h.newApp(stdinR, &stdout, &stderr).run(ctx, []string{"watch"}) }()
	stderr.waitFor(t, "Waiting for login requests")

	txid := startPush(t, auth, "alice")
	stdout.waitFor(t, "Request ID:  "+txid)
	stdout.waitFor(t, "Approve or deny? [a]pprove / [d]eny / [s]kip: ")
	if _, err := io.WriteString(stdinW, "a\n"); err != nil {
		t.Fatal(err)
	}
	stdout.waitFor(t, "Approved: ")
	if st := finalStatus(t, auth, txid); st.Result != "allow" {
		t.Errorf("auth_status after approving in watch = %+v, want allow", st)
	}
	cancel()
	if code := within(t, done, "watch to stop"); code != 0 {
		t.Errorf("watch stopped with exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}

// e2eCode runs `twostep code --json [extra]` and returns the one passcode.
func e2eCode(t *testing.T, h *harness, extra ...string) string {
	t.Helper()
	var codes []codeJSON
	h.jsonOut(&codes, append([]string{"code", "--json"}, extra...)...)
	if len(codes) != 1 || !regexp.MustCompile(`^\d{6}$`).MatchString(codes[0].Code) || codes[0].Type != "hotp" {
		t.Fatalf("code --json %v = %+v, want one 6-digit HOTP code", extra, codes)
	}
	return codes[0].Code
}

// passcode logs username in with code through the Auth API and checks the
// result, and that the message contains wantMsg; it returns the message.
func passcode(t *testing.T, auth *authapi.AuthApi, username, code, want, wantMsg string) string {
	t.Helper()
	// Each attempt names its own ipaddr: byte-identical signed requests in
	// one second are one request, accepted once, and a replayed passcode
	// here must reach the passcode check.
	n := passcodeAttempts.Add(1)
	res, err := auth.Auth("passcode", authapi.AuthUsername(username), authapi.AuthPasscode(code),
		authapi.AuthIpAddr(fmt.Sprintf("198.51.100.%d", n%250+1)))
	if err != nil || res.Stat != "OK" {
		t.Fatalf("Auth(passcode %s) = %+v, %v", code, res, err)
	}
	if res.Response.Result != want || !strings.Contains(res.Response.Status_Msg, wantMsg) {
		t.Errorf("Auth(%s, passcode %s) = %s %q, want %s containing %q", username, code, res.Response.Result, res.Response.Status_Msg, want, wantMsg)
	}
	t.Logf("passcode %s for %s: %s %q", code, username, res.Response.Result, res.Response.Status_Msg)
	return res.Response.Status_Msg
}

// passcodeAttempts numbers passcode's and startPush's requests.
var passcodeAttempts atomic.Int64

// startPush starts an async push to username and returns its txid.
func startPush(t *testing.T, auth *authapi.AuthApi, username string) string {
	t.Helper()
	// The push number in pushinfo makes each push its own signed request
	// (byte-identical ones in one second are accepted once).
	n := passcodeAttempts.Add(1)
	res, err := auth.Auth("push", authapi.AuthUsername(username), authapi.AuthAsync(),
		authapi.AuthIpAddr("198.51.100.7"), authapi.AuthPushinfo(fmt.Sprintf("Server=db1&n=%d", n)))
	if err != nil || res.Stat != "OK" || res.Response.Txid == "" {
		t.Fatalf("Auth(push, async, %s) = %+v, %v; want a txid", username, res, err)
	}
	return res.Response.Txid
}

type authStatus struct {
	Result, Status, Status_Msg string
}

// finalStatus polls auth_status until the transaction is final, for at
// most 30 s.
func finalStatus(t *testing.T, auth *authapi.AuthApi, txid string) authStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := auth.AuthStatus(txid)
		if err != nil || res.Stat != "OK" {
			t.Fatalf("AuthStatus(%s) = %+v, %v", txid, res, err)
		}
		st := authStatus{res.Response.Result, res.Response.Status, res.Response.Status_Msg}
		if st.Result != "waiting" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("AuthStatus(%s) still %+v after 30 s", txid, st)
		}
	}
}

// waitPending waits until h's pending lists txid (the push is committed
// before Auth answers, so the first look should see it).
func waitPending(t *testing.T, h *harness, txid string) {
	t.Helper()
	var pending []txJSON
	h.jsonOut(&pending, "pending", "--json")
	if len(pending) != 1 || pending[0].TxID != txid {
		t.Fatalf("pending --json = %+v, want %s alone", pending, txid)
	}
}

func enrollStatus(t *testing.T, auth *authapi.AuthApi, userID, code string) string {
	t.Helper()
	res, err := auth.EnrollStatus(userID, code)
	if err != nil || res.Stat != "OK" {
		t.Fatalf("EnrollStatus(%s) = %+v, %v", userID, res, err)
	}
	return res.Response
}

func hasPair(pairs [][]string, k, v string) bool {
	for _, p := range pairs {
		if len(p) == 2 && p[0] == k && p[1] == v {
			return true
		}
	}
	return false
}

// e2eDeadNetwork is the network switched off: every request fails, and is
// recorded.
type e2eDeadNetwork struct {
	mu    sync.Mutex
	calls []string
}

func (d *e2eDeadNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.calls = append(d.calls, r.Method+" "+r.URL.String())
	d.mu.Unlock()
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, errors.New("network is off")
}

func (d *e2eDeadNetwork) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

func (d *e2eDeadNetwork) urls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// e2eServer is a twostepd serve OS process.
type e2eServer struct {
	cmd    *exec.Cmd
	logs   *e2eLogs
	data   string
	host   string // api_host: localhost:port
	caFile string
	pool   *x509.CertPool
	creds  struct {
		APIHost  string                      `json:"api_host"`
		AdminAPI struct{ IKey, SKey string } `json:"admin_api"`
		AuthAPI  struct{ IKey, SKey string } `json:"auth_api"`
	}
}

// buildTwostepd compiles ../twostepd into dir.
func buildTwostepd(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "twostepd")
	start := time.Now()
	out, err := exec.Command("go", "build", "-o", bin, "../twostepd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ../twostepd: %v\n%s", err, out)
	}
	t.Logf("built twostepd in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// startE2EServer builds twostepd and runs `twostepd serve` on a free port
// (port 0, read back from the "listening" log line) with SQLite in a
// temporary data directory, waits for /healthz over TLS trusting the
// data directory's ca.pem, and reads initial-credentials.json. env adds
// KEY=value settings (TWOSTEP_* ones configure the server).
func startE2EServer(t *testing.T, env ...string) *e2eServer {
	t.Helper()
	bin := buildTwostepd(t, t.TempDir())
	s := &e2eServer{logs: &e2eLogs{addr: make(chan string, 1)}, data: t.TempDir()}
	s.cmd = exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--data", s.data)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TWOSTEP_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stderr = s.logs
	s.cmd.Stdout = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("twostepd exited with %v; logs:\n%s", err, s.logs)
			}
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			t.Errorf("twostepd did not stop on SIGINT within 30 s")
		}
		if t.Failed() {
			t.Logf("twostepd logs:\n%s", s.logs)
		}
	})
	var addr string
	select {
	case addr = <-s.logs.addr:
	case err := <-exited:
		exited <- err
		t.Fatalf("twostepd exited before listening: %v\n%s", err, s.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("twostepd did not listen within 60 s:\n%s", s.logs)
	}
	_, port, _ := strings.Cut(addr, ":")
	s.host = "localhost:" + port

	b, err := os.ReadFile(filepath.Join(s.data, "initial-credentials.json"))
	if err != nil {
		t.Fatalf("initial credentials: %v", err)
	}
	if err := json.Unmarshal(b, &s.creds); err != nil {
		t.Fatalf("initial credentials: %v", err)
	}
	if s.creds.APIHost != s.host {
		t.Errorf("api_host = %q, want %q", s.creds.APIHost, s.host)
	}
	s.caFile = filepath.Join(s.data, "ca.pem")
	pem, err := os.ReadFile(s.caFile)
	if err != nil {
		t.Fatal(err)
	}
	s.pool = x509.NewCertPool()
	if !s.pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", s.caFile)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.pool}}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get("https://" + s.host + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz did not answer 200 within 30 s: %v %v", resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func (s *e2eServer) duo(ikey, skey string) *duoapi.DuoApi {
	return duoapi.NewDuoApi(ikey, skey, s.host, "twostep-app-e2e", duoapi.SetTimeout(30*time.Second),
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = s.pool }))
}

func (s *e2eServer) authClient() *authapi.AuthApi {
	return authapi.NewAuthApi(*s.duo(s.creds.AuthAPI.IKey, s.creds.AuthAPI.SKey))
}

func (s *e2eServer) adminClient() *duoadmin.Client {
	return duoadmin.New(*s.duo(s.creds.AdminAPI.IKey, s.creds.AdminAPI.SKey))
}

// adminCall makes a signed Admin API call and decodes its response into
// out (when not nil), failing the test on anything but stat OK.
func (s *e2eServer) adminCall(t *testing.T, c *duoadmin.Client, method, path string, params url.Values, out any) {
	t.Helper()
	resp, body, err := c.SignedCall(method, path, params, duoapi.UseTimeout)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	var env struct {
		Stat     string          `json:"stat"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Stat != "OK" || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(env.Response, out); err != nil {
			t.Fatalf("%s %s: response %s: %v", method, path, env.Response, err)
		}
	}
}

// activationURL asks the Admin API for a new activation link of the phone
// and checks its shape.
func (s *e2eServer) activationURL(t *testing.T, c *duoadmin.Client, phoneID string) string {
	t.Helper()
	var act struct {
		ActivationURL string `json:"activation_url"`
	}
	s.adminCall(t, c, http.MethodPost, "/admin/v1/phones/"+phoneID+"/activation_url", nil, &act)
	if !strings.HasPrefix(act.ActivationURL, "https://"+s.host+"/activate/") {
		t.Fatalf("activation_url = %q, want https://%s/activate/...", act.ActivationURL, s.host)
	}
	return act.ActivationURL
}

// integrationName is the name of the Auth API integration, as apps show it.
func (s *e2eServer) integrationName(t *testing.T, c *duoadmin.Client) string {
	t.Helper()
	var in struct {
		Name string `json:"name"`
	}
	s.adminCall(t, c, http.MethodGet, "/admin/v1/integrations/"+s.creds.AuthAPI.IKey, nil, &in)
	if in.Name == "" {
		t.Fatalf("the Auth API integration has no name")
	}
	return in.Name
}

// authLogRecord finds txid's record in the Admin API authentication log
// (v2, mintime and maxtime in milliseconds).
func (s *e2eServer) authLogRecord(t *testing.T, c *duoadmin.Client, since time.Time, txid string) duoadmin.AuthLog {
	t.Helper()
	from := since.Add(-2 * time.Second)
	res, err := c.GetAuthLogs(from, time.Since(from)+5*time.Second)
	if err != nil || res.Stat != "OK" {
		t.Fatalf("GetAuthLogs = %+v, %v", res, err)
	}
	for _, l := range res.Response.Logs {
		if l["txid"] == txid {
			return l
		}
	}
	t.Fatalf("no authentication log record for txid %s among %d: %v", txid, len(res.Response.Logs), res.Response.Logs)
	return nil
}

// e2eLogs collects the server's log and reports its listening address.
type e2eLogs struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

func (l *e2eLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			select {
			case l.addr <- rec.Addr:
			default:
			}
		}
	}
	return len(p), nil
}

func (l *e2eLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
