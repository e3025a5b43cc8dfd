package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/adminclient"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/loadgen"
	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// These tests race real twostepd processes against each other: two
// `twostepd serve` OS processes share one fresh PostgreSQL database and
// master key, and Duo's own Go client fires the same request at both at
// once over real TLS. What they prove is the storage contract of
// ARCHITECTURE.md ("two requests on two servers cannot both win"), which no
// in-process test can: each node has its own connection pool, limiter and
// caches.
//
// Each node also has an in-memory per-user attempt limiter (authflow
// DefaultUserLimit: a burst of 20, then one every 3 s), with no config knob.
// A request it refuses answers HTTP 429 and decides nothing. The tests count
// those separately; with 25 or 50 requests per node at least 20 per node
// are decided, which is plenty for both properties.

// errRateLimited marks an HTTP 429 from a node. duo_api_golang retries 429
// by itself (1 s doubling to 32 s), re-sending a POST with the body it has
// already consumed (so the retry fails its signature): the race clients
// turn 429 into this error instead, so that every 429 is counted once.
var errRateLimited = loadgen.ErrRateLimited

type trap429 struct{ base http.RoundTripper }

func (t trap429) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errRateLimited
	}
	return resp, err
}

// raceClient is Duo's Auth API client for one node, trusting pool, with
// 429 turned into errRateLimited.
func raceClient(host, ikey, skey string, pool *x509.CertPool) *authapi.AuthApi {
	api := duoapi.NewDuoApi(ikey, skey, host, "twostep-race")
	api.SetCustomHTTPClient(&http.Client{Timeout: 60 * time.Second, Transport: trap429{&http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: 64,
	}}})
	return authapi.NewAuthApi(*api)
}

// raceCluster is two twostepd processes on one PostgreSQL database.
type raceCluster struct {
	t       *testing.T
	dsn     string
	nodes   [2]*process
	data    [2]string
	creds   credentials // of the node that bootstrapped
	bootDir string
	pool    *x509.CertPool // trusts both nodes' CAs
	admin   *adminclient.Client
}

func startRaceCluster(t *testing.T) *raceCluster {
	t.Helper()
	dsn := sqltest.FreshDatabaseDSN(t)
	key, err := seal.GenerateKey(rand.Reader, "k1")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, []byte(key.Encode()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"TWOSTEP_DATABASE=" + dsn, "TWOSTEP_MASTER_KEY_FILE=" + keyFile}
	c := &raceCluster{t: t, dsn: dsn}
	// Node 0 starts alone, migrates and bootstraps; node 1 then joins the
	// same database (racing the bootstrap is TestTwoProcessesOnePostgres).
	for i := range c.nodes {
		c.data[i] = t.TempDir()
		c.nodes[i] = startProcess(t, env, "--data", c.data[i])
		c.nodes[i].wait(t)
	}
	c.bootDir = c.data[0]
	c.creds, _ = readCredentials(t, c.bootDir)
	if _, err := os.Stat(filepath.Join(c.data[1], "initial-credentials.json")); err == nil {
		t.Fatalf("the second node bootstrapped again")
	}
	c.pool = trustCA(t, filepath.Join(c.data[0], "ca.pem"))
	caB, err := os.ReadFile(filepath.Join(c.data[1], "ca.pem"))
	if err != nil || !c.pool.AppendCertsFromPEM(caB) {
		t.Fatalf("node 1 ca.pem: %v", err)
	}
	c.admin, err = adminclient.New(adminclient.Config{Host: c.creds.APIHost, IKey: c.creds.AdminAPI.IKey,
		SKey: c.creds.AdminAPI.SKey, RootCAs: c.pool})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// host is node i's API host as clients name it (the certificate is for
// localhost).
func (c *raceCluster) host(i int) string {
	return strings.Replace(c.nodes[i].addr, "127.0.0.1", "localhost", 1)
}

// client is Duo's Auth API client for node i with the bootstrap Auth API key.
func (c *raceCluster) client(i int) *authapi.AuthApi {
	return raceClient(c.host(i), c.creds.AuthAPI.IKey, c.creds.AuthAPI.SKey, c.pool)
}

// adminCLI runs `twostepd admin` with the bootstrap node's credentials.
func (c *raceCluster) adminCLI(args ...string) string {
	c.t.Helper()
	stdout, stderr, err := runCmd(c.t, nil, append([]string{"admin", "--data", c.bootDir}, args...)...)
	if err != nil {
		c.t.Fatalf("admin %q: %v\nstderr: %s", args, err, stderr)
	}
	return stdout
}

// hotpUser creates username with a fresh h6 hardware token and returns
// the user id and the token's secret.
func (c *raceCluster) hotpUser(username string) (string, []byte) {
	c.t.Helper()
	secret := make([]byte, 20)
	rand.Read(secret)
	c.adminCLI("user", "add", username)
	csv := filepath.Join(c.t.TempDir(), "tokens.csv")
	body := fmt.Sprintf("serial,secret,counter\nRACE-%s,%s,0\n", username, hex.EncodeToString(secret))
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.adminCLI("token", "import", csv, "--type", "h6", "--assign", username)
	u := jsonOf[struct {
		UserID string `json:"user_id"`
	}](c.t, c.adminCLI("user", "show", username, "--json"))
	if u.UserID == "" {
		c.t.Fatalf("no user id for %s", username)
	}
	return u.UserID, secret
}

// userStatus reads the user's status through the Admin API.
func (c *raceCluster) userStatus(userID string) string {
	c.t.Helper()
	var u struct {
		Status string `json:"status"`
	}
	if err := c.admin.Get(c.t.Context(), "/admin/v1/users/"+userID, nil, &u); err != nil {
		c.t.Fatalf("GET user %s: %v", userID, err)
	}
	return u.Status
}

type authLogRecord struct {
	TxID   string `json:"txid"`
	Result string `json:"result"`
	Reason string `json:"reason"`
	Factor string `json:"factor"`
	User   struct {
		Key string `json:"key"`
	} `json:"user"`
}

// authLog reads the user's authentication log since since through the
// Admin API (v2, every page).
func (c *raceCluster) authLog(userID string, since time.Time) []authLogRecord {
	c.t.Helper()
	p := url.Values{
		"mintime": {strconv.FormatInt(since.Add(-time.Second).UnixMilli(), 10)},
		"maxtime": {strconv.FormatInt(time.Now().Add(time.Second).UnixMilli(), 10)},
		"users":   {userID},
		"limit":   {"1000"},
	}
	raw, err := c.admin.ListLogsV2(c.t.Context(), "/admin/v2/logs/authentication", "authlogs", p, 0)
	if err != nil {
		c.t.Fatalf("read the authentication log: %v", err)
	}
	out := make([]authLogRecord, 0, len(raw))
	txids := map[string]bool{}
	for _, r := range raw {
		var rec authLogRecord
		if err := json.Unmarshal(r, &rec); err != nil {
			c.t.Fatalf("log record %s: %v", r, err)
		}
		if rec.User.Key != userID {
			c.t.Errorf("log record for user %q in a query for %q", rec.User.Key, userID)
		}
		if txids[rec.TxID] {
			c.t.Errorf("log record txid %s listed twice", rec.TxID)
		}
		txids[rec.TxID] = true
		out = append(out, rec)
	}
	return out
}

// lockoutRow reads the user's durable lockout state from the database.
func (c *raceCluster) lockoutRow(userID string) (failed, lockoutFailure int, status string) {
	c.t.Helper()
	db, err := sql.Open("pgx", c.dsn)
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRowContext(c.t.Context(), `SELECT failed_attempts, lockout_failure, status FROM users WHERE id = $1`, userID).
		Scan(&failed, &lockoutFailure, &status)
	if err != nil {
		c.t.Fatalf("read user row: %v", err)
	}
	return failed, lockoutFailure, status
}

// raceAnswer is one request's outcome.
type raceAnswer struct {
	node      int
	limited   bool // HTTP 429
	err       error
	stat      string
	code      int32
	result    string
	status    string
	statusMsg string
}

// fire sends perNode passcode attempts for username to each node, all
// released at the same moment.
func (c *raceCluster) fire(perNode int, username, passcode string) []raceAnswer {
	c.t.Helper()
	clients := [2]*authapi.AuthApi{c.client(0), c.client(1)}
	// Open perNode connections to each node first (check is signed but
	// not limited), so that the race is about the decisions, not the TLS
	// handshakes.
	var warm sync.WaitGroup
	for i := range 2 * perNode {
		warm.Go(func() {
			if r, err := clients[i%2].Check(); err != nil || r.Stat != "OK" {
				c.t.Errorf("Check() on node %d = %+v, %v", i%2, r, err)
			}
		})
	}
	warm.Wait()
	if c.t.Failed() {
		c.t.FailNow()
	}
	out := make([]raceAnswer, 2*perNode)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range out {
		node := i % 2
		wg.Go(func() {
			<-start
			a := raceAnswer{node: node}
			// Each request names its own ipaddr: byte-identical signed
			// requests are one request, accepted once (replay refusal),
			// and the race is about the code, not the request.
			res, err := clients[node].Auth("passcode", authapi.AuthUsername(username), authapi.AuthPasscode(passcode),
				authapi.AuthIpAddr(fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)))
			switch {
			case errors.Is(err, errRateLimited):
				a.limited = true
			case err != nil:
				a.err = err
			default:
				a.stat, a.code = res.Stat, code(res.StatResult)
				a.result, a.status, a.statusMsg = res.Response.Result, res.Response.Status, res.Response.Status_Msg
			}
			out[i] = a
		})
	}
	close(start)
	wg.Wait()
	for i, a := range out {
		if a.err != nil {
			c.t.Errorf("request %d to node %d: %v", i, a.node, a.err)
		}
		if !a.limited && a.err == nil && a.stat != "OK" {
			c.t.Errorf("request %d to node %d = FAIL %d, want OK", i, a.node, a.code)
		}
	}
	return out
}

// authPatiently makes one passcode auth on node i, waiting out the node's
// per-user limiter (the race emptied its bucket; it refills one attempt
// every 3 s) for at most 15 s.
func (c *raceCluster) authPatiently(i int, username, passcode string) (*authapi.AuthResult, error) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := c.client(i).Auth("passcode", authapi.AuthUsername(username), authapi.AuthPasscode(passcode))
		if !errors.Is(err, errRateLimited) || time.Now().After(deadline) {
			return r, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// oathHOTP computes an HOTP code with oathtool, independently of our otp
// package. It skips when oathtool is missing, and fails under CI=true.
func oathHOTP(t *testing.T, secret []byte, counter uint64) string {
	t.Helper()
	bin := needProgram(t, "oathtool", "oathtool")
	out, err := exec.Command(bin, "--hotp", "-d", "6", "-c", strconv.FormatUint(counter, 10), hex.EncodeToString(secret)).Output()
	if err != nil {
		t.Fatalf("oathtool --hotp -c %d: %v", counter, err)
	}
	return strings.TrimSpace(string(out))
}

// TestRaceSameHOTPCodeTwoNodes sends one valid HOTP code 50 times at once,
// 25 to each of two twostepd processes on one PostgreSQL database: exactly
// one request may win it.
func TestRaceSameHOTPCodeTwoNodes(t *testing.T) {
	needProgram(t, "oathtool", "oathtool")
	c := startRaceCluster(t)
	userID, secret := c.hotpUser("racer")
	since := time.Now()

	// Counter 0 on node 0, sequentially: node 1 must then see the moved
	// counter in the database, not a copy of its own.
	if r, err := c.client(0).Auth("passcode", authapi.AuthUsername("racer"), authapi.AuthPasscode(oathHOTP(t, secret, 0))); err != nil || r.Response.Result != "allow" {
		t.Fatalf("first code on node 0 = %+v, %v; want allow", r, err)
	}

	code1 := oathHOTP(t, secret, 1)
	start := time.Now()
	answers := c.fire(25, "racer", code1)
	t.Logf("50 concurrent auths answered in %v", time.Since(start).Round(time.Millisecond))

	var allow, used, incorrect, limited int
	var decided [2]int
	for i, a := range answers {
		switch {
		case a.limited:
			limited++
			continue
		case a.err != nil || a.stat != "OK":
			continue // reported by fire
		case a.result == "allow":
			allow++
		case a.result == "deny" && a.statusMsg == authflow.MsgUsed:
			used++
		case a.result == "deny" && a.statusMsg == authflow.MsgIncorrect:
			incorrect++
		default:
			t.Errorf("request %d to node %d = %s/%s %q, want allow, or deny already used or incorrect", i, a.node, a.result, a.status, a.statusMsg)
		}
		decided[a.node]++
	}
	t.Logf("allow %d, already used %d, incorrect %d, HTTP 429 %d; decided per node %v", allow, used, incorrect, limited, decided)
	if allow != 1 {
		t.Errorf("%d of 50 identical codes allowed across two nodes, want exactly 1", allow)
	}
	if allow+used+incorrect+limited != len(answers) {
		t.Errorf("allow %d + deny %d + 429 %d != %d requests", allow, used+incorrect, limited, len(answers))
	}
	for i, n := range decided {
		if n == 0 {
			t.Errorf("node %d decided no request: the race did not cross nodes", i)
		}
	}

	// The log holds one record per decision (429s decide nothing), and
	// exactly one success since the race began: counter 0's login above,
	// and the race's winner.
	logs := c.authLog(userID, since)
	var successes int
	results := map[string]int{}
	for _, r := range logs {
		if r.Result == "success" {
			successes++
		}
		results[r.Result+"/"+r.Reason]++
	}
	if successes != 2 {
		t.Errorf("authentication log has %d successes, want 2 (counter 0, and one for the raced code): %v", successes, results)
	}
	if want := 1 + allow + used + incorrect; len(logs) != want {
		t.Errorf("authentication log has %d records, want %d (one per decision)", len(logs), want)
	}
	// "Already used" is not a failure; an "incorrect" would be, until the
	// winner's success reset the count.
	failed, _, status := c.lockoutRow(userID)
	if status != "active" || failed > incorrect {
		t.Errorf("user = %s with %d failed attempts, want active with at most %d", status, failed, incorrect)
	}

	// The raced code stays spent on both nodes; the next one works.
	for i := range c.nodes {
		r, err := c.authPatiently(i, "racer", code1)
		if err != nil || r.Response.Result != "deny" || r.Response.Status_Msg != authflow.MsgUsed {
			t.Errorf("raced code again on node %d = %+v, %v; want deny already used", i, r, err)
		}
	}
	if r, err := c.authPatiently(1, "racer", oathHOTP(t, secret, 2)); err != nil || r.Response.Result != "allow" {
		t.Errorf("counter 2 on node 1 = %+v, %v; want allow", r, err)
	}
}

// TestRaceLockoutTwoNodes sends 100 wrong codes at once, 50 to each of two
// twostepd processes on one PostgreSQL database, with the default lockout
// threshold of 10. The failure count is one conditional UPDATE, so exactly
// failures 1-9 may answer "incorrect", failure 10 locks the user out, and
// every later one is denied as locked out; every decided attempt counts.
func TestRaceLockoutTwoNodes(t *testing.T) {
	const threshold = 10 // mfa.DefaultSettings
	needProgram(t, "oathtool", "oathtool")
	c := startRaceCluster(t)
	userID, secret := c.hotpUser("guesser")
	since := time.Now()

	// A wrong code: not any code of the look-ahead window nor just behind it.
	var valid []string
	for n := range uint64(authflow.HOTPWindow + authflow.HOTPBehind + 2) {
		valid = append(valid, oathHOTP(t, secret, n))
	}
	wrong := "000000"
	for i := 1; slices.Contains(valid, wrong); i++ {
		wrong = fmt.Sprintf("%06d", i*111111%1000000)
	}

	start := time.Now()
	answers := c.fire(50, "guesser", wrong)
	t.Logf("100 concurrent wrong codes answered in %v", time.Since(start).Round(time.Millisecond))

	var incorrect, lockedNow, lockedOut, limited int
	var decided [2]int
	for i, a := range answers {
		switch {
		case a.limited:
			limited++
			continue
		case a.err != nil || a.stat != "OK":
			continue
		case a.result == "deny" && a.status == "deny" && a.statusMsg == authflow.MsgIncorrect:
			incorrect++
		case a.result == "deny" && a.status == authflow.StatusLockedOut && a.statusMsg == authflow.MsgLockedOutNow:
			lockedNow++ // a failure recorded at or past the threshold
		case a.result == "deny" && a.status == authflow.StatusLockedOut && a.statusMsg == authflow.MsgLockedOut:
			lockedOut++ // the user was locked out when the request began
		default:
			t.Errorf("request %d to node %d = %s/%s %q, want deny incorrect or locked_out", i, a.node, a.result, a.status, a.statusMsg)
		}
		decided[a.node]++
	}
	answered := incorrect + lockedNow + lockedOut
	t.Logf("incorrect %d, locked out by this attempt or a racing one %d, already locked out %d, HTTP 429 %d; decided per node %v",
		incorrect, lockedNow, lockedOut, limited, decided)
	if answered+limited != len(answers) {
		t.Errorf("deny %d + 429 %d != %d requests", answered, limited, len(answers))
	}
	if answered < threshold {
		t.Fatalf("only %d attempts were decided; the lockout needs %d", answered, threshold)
	}
	for i, n := range decided {
		if n == 0 {
			t.Errorf("node %d decided no request: the race did not cross nodes", i)
		}
	}
	if incorrect != threshold-1 {
		t.Errorf("%d attempts answered %q, want exactly %d: attempt %d must lock the user out and every later one be denied as locked out",
			incorrect, authflow.MsgIncorrect, threshold-1, threshold)
	}
	if lockedNow < 1 {
		t.Errorf("no attempt reported the lockout (%q)", authflow.MsgLockedOutNow)
	}

	if st := c.userStatus(userID); st != "locked out" {
		t.Errorf("Admin API user status = %q, want locked out", st)
	}
	failed, lockoutFailure, status := c.lockoutRow(userID)
	if status != "locked out" || failed != answered || lockoutFailure != threshold {
		t.Errorf("user row: status %q, failed_attempts %d, locked at failure %d; want locked out, %d (every decided attempt), %d",
			status, failed, lockoutFailure, answered, threshold)
	}
	logs := c.authLog(userID, since)
	reasons := map[string]int{}
	for _, r := range logs {
		if r.Result != "failure" && r.Result != "denied" {
			t.Errorf("log record %+v, want failure or denied", r)
		}
		reasons[r.Reason]++
	}
	if len(logs) != answered {
		t.Errorf("authentication log has %d records, want %d (one per decided attempt): %v", len(logs), answered, reasons)
	}
	if reasons[authflow.ReasonLockedOut] != lockedOut || reasons[authflow.ReasonInvalidPasscode] != incorrect+lockedNow {
		t.Errorf("log reasons = %v, want %s %d and %s %d", reasons, authflow.ReasonInvalidPasscode, incorrect+lockedNow,
			authflow.ReasonLockedOut, lockedOut)
	}

	// Locked out on both nodes: even the right code is refused.
	right := oathHOTP(t, secret, 0)
	for i := range c.nodes {
		r, err := c.authPatiently(i, "guesser", right)
		if err != nil || r.Response.Result != "deny" || r.Response.Status != authflow.StatusLockedOut {
			t.Errorf("right code on node %d after the lockout = %+v, %v; want deny locked_out", i, r, err)
		}
	}
}
