package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/adminclient"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/loadgen"
	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// Load benchmarks (docs/testing.md, "Load benchmarks"). They run only with
// -bench, never in an ordinary go test:
//
//	go test -run '^$' -bench 'PushLongPolls|PasscodeAuthHTTP' -benchtime 1x ./cmd/twostepd
//
// Each starts the real server -- run() with `serve`, as main calls it --
// in its own process (this test binary again, as TestLoadServeHelper) on
// 127.0.0.1 port 0 with a fresh data directory, so that what is measured
// in the server (its /metrics and /proc/<pid>) holds none of the load
// generator's own connections, goroutines or heap, and so that the
// benchmark can force a garbage collection there (SIGUSR1) and measure
// live memory, not garbage awaiting the next GC. Clients speak real TLS
// (HTTP/1.1, as Duo's clients do) to it, trusting only its generated CA,
// and dial only 127.0.0.1. TWOSTEP_LOAD_CPUPROFILE=<dir> writes each
// server's CPU profile there.
//
// One iteration is a fixed workload (the sizes below); -benchtime 1x runs
// one. Everything is bounded: setup and each iteration have a deadline
// (loadPhaseTimeout) that every request honours, the number of goroutines
// making requests is capped (TWOSTEP_LOAD_CONCURRENCY, TWOSTEP_LOAD_CLIENTS)
// except for the long polls themselves, whose number is the point
// (TWOSTEP_LOAD_USERS, checked against the open-files limit).
//
// Rate limits. authflow's in-memory limiters have no configuration knob:
// per user a burst of 20 passcode attempts then one every 3 s, and per
// client address a burst of 100 Auth API auth calls of ANY factor (push
// included) then one every 100 ms. The per-address limiter keys on the
// Auth API's ipaddr parameter (the end user's address as the integration
// reports it), not on the TCP peer, and a request without ipaddr is not
// limited by address at all. So one loopback client is not throttled as
// such; the benchmarks give every simulated user its own ipaddr from
// 198.18.0.0/15 (RFC 2544's benchmarking range), and each user makes at
// most loadgen.PasscodesPerUser passcode attempts per iteration, below the
// per-user burst. The durable rate_limit.* counters apply only on
// PostgreSQL and only to passcodes; the push benchmark does not meet them.
// Any 429 is counted as an error, never retried.

// Workload sizes and their environment overrides.
const (
	defaultLoadUsers       = 500  // TWOSTEP_LOAD_USERS: users and waiting long polls per push iteration
	defaultLoadConcurrency = 32   // TWOSTEP_LOAD_CONCURRENCY: requests in flight in setup, push creation and answers
	defaultPasscodeClients = 16   // TWOSTEP_LOAD_CLIENTS: concurrent passcode clients
	defaultPasscodeAuths   = 4096 // TWOSTEP_LOAD_AUTHS: passcode logins per iteration
	maxLoadUsers           = 20000

	// loadPhaseTimeout bounds setup, and each iteration.
	loadPhaseTimeout = 2 * time.Minute

	// parkedCPUWindow is how long the server's CPU is watched while every
	// poll waits: two re-check periods, so every waiter re-reads the store
	// twice in it.
	parkedCPUWindow = 2 * authflow.DefaultRecheck
)

func loadEnvInt(b *testing.B, name string, def, lo, hi int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		b.Fatalf("%s=%q: want an integer from %d to %d", name, v, lo, hi)
	}
	return n
}

// ---------------------------------------------------------------------
// The server process.

// loadServer is one twostepd serve process.
type loadServer struct {
	cmd    *exec.Cmd
	logs   *loadLog
	addr   string // 127.0.0.1:port
	host   string // localhost:port: the name its certificate holds
	data   string
	scrape *http.Client // for /metrics, on its own connection
}

// loadHelperEnv, set to the JSON array of twostepd's arguments, makes
// the test binary TestLoadServeHelper's server process.
const loadHelperEnv = "TWOSTEP_LOAD_SERVE_HELPER"

// loadHelperFreed is the log message the helper writes after a forced
// garbage collection.
const loadHelperFreed = "load helper: garbage collected, memory returned"

// TestLoadServeHelper is not a test. The load benchmarks start this test
// binary again with TWOSTEP_LOAD_SERVE_HELPER set, and then this runs
// run() -- `twostepd serve`, as main does -- in that process, so that the
// server's memory, goroutines and descriptors are its own, apart from the
// load generator's. One addition to main: SIGUSR1 forces a garbage
// collection and returns freed memory to the OS (debug.FreeOSMemory), so
// that the benchmark can measure live memory rather than garbage awaiting
// the next GC. The helper stops on SIGINT or SIGTERM, and when its stdin
// (a pipe from the benchmark) closes, so it never outlives the benchmark.
func TestLoadServeHelper(t *testing.T) {
	raw := os.Getenv(loadHelperEnv)
	if raw == "" {
		return // an ordinary test run: nothing to do
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatalf("%s: %v", loadHelperEnv, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for range usr1 {
			debug.FreeOSMemory()
			fmt.Fprintf(os.Stderr, "{\"level\":\"INFO\",\"msg\":%q}\n", loadHelperFreed)
		}
	}()
	if err := run(ctx, args, os.Getenv, strings.NewReader(""), io.Discard, os.Stderr); err != nil {
		t.Fatalf("twostepd %s: %v", strings.Join(args, " "), err)
	}
}

// loadMetricsToken is the load servers' metrics.token: /metrics is off
// on the main port without one.
const loadMetricsToken = "load-benchmark-metrics-token"

// loadProfiles numbers the servers' CPU profiles (TWOSTEP_LOAD_CPUPROFILE).
var loadProfiles atomic.Int64

// startLoadServer starts `twostepd serve` (TestLoadServeHelper) on
// 127.0.0.1:0 with a fresh data directory and env added to this process's
// environment, and waits until it listens. The process is stopped
// (SIGINT, then SIGKILL after 30 s) when the benchmark ends.
func startLoadServer(b *testing.B, env []string, args ...string) *loadServer {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	s := &loadServer{logs: newLoadLog(), data: b.TempDir()}
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--data", s.data}, args...)
	argJSON, err := json.Marshal(args)
	if err != nil {
		b.Fatal(err)
	}
	helperArgs := []string{"-test.run=^TestLoadServeHelper$", "-test.count=1", "-test.timeout=30m"}
	if dir := os.Getenv("TWOSTEP_LOAD_CPUPROFILE"); dir != "" {
		// The server's CPU profile, written when it stops.
		name := strings.NewReplacer("/", "_", " ", "_").Replace(b.Name())
		f := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, loadProfiles.Add(1)))
		helperArgs = append(helperArgs, "-test.cpuprofile="+f)
		b.Logf("server CPU profile: %s", f)
	}
	s.cmd = exec.Command(exe, helperArgs...)
	s.cmd.Env = append(append(os.Environ(), env...), loadHelperEnv+"="+string(argJSON), "TWOSTEP_METRICS_TOKEN="+loadMetricsToken)
	s.cmd.Stderr = s.logs
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("twostepd (pid %d) exited with %v; log tail:\n%s", s.cmd.Process.Pid, err, s.logs.tail())
			}
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-done
			b.Errorf("twostepd (pid %d) did not stop within 30 s of SIGINT", s.cmd.Process.Pid)
		}
		stdin.Close()
	})
	select {
	case s.addr = <-s.logs.addrs:
	case <-time.After(60 * time.Second):
		b.Fatalf("twostepd did not listen within 60 s; log tail:\n%s", s.logs.tail())
	}
	_, port, _ := net.SplitHostPort(s.addr)
	s.host = "localhost:" + port
	tr := loadgen.LoopbackTransport(s.pool(b), 1)
	b.Cleanup(tr.CloseIdleConnections)
	s.scrape = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	return s
}

// collect forces a garbage collection in the server (SIGUSR1 to
// TestLoadServeHelper) and waits until it is done.
func (s *loadServer) collect(ctx context.Context) error {
	select {
	case <-s.logs.freed: // a stale one
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return err
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-s.logs.freed:
		return nil
	case <-t.C:
		return errors.New("the server did not collect garbage within 30 s of SIGUSR1")
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// pool trusts the server's generated CA.
func (s *loadServer) pool(b *testing.B) *x509.CertPool {
	b.Helper()
	pem, err := os.ReadFile(filepath.Join(s.data, "ca.pem"))
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		b.Fatalf("no certificate in %s/ca.pem", s.data)
	}
	return pool
}

// credentials reads initial-credentials.json (of a node that bootstrapped).
func (s *loadServer) credentials(b *testing.B) credentials {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(s.data, "initial-credentials.json"))
	if err != nil {
		b.Fatalf("read credentials: %v", err)
	}
	var c credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		b.Fatalf("credentials file: %v", err)
	}
	return c
}

// serverSample is what the server process uses at one moment.
type serverSample struct {
	at         time.Time
	rss        float64 // bytes, VmRSS of /proc/<pid>/status
	heapInuse  float64 // bytes, go_memstats_heap_inuse_bytes
	stackInuse float64 // bytes, go_memstats_stack_inuse_bytes
	goroutines float64
	fds        float64 // open file descriptors (/proc/<pid>/fd)
	cpu        float64 // seconds of CPU, user + system
	gcs        float64 // completed GC cycles
	dbWaits    float64 // times a request waited for a database connection (all pools)
	dbWaitSec  float64 // seconds spent so waiting
}

// sample reads the server's /metrics and /proc/<pid>.
func (s *loadServer) sample(ctx context.Context) (serverSample, error) {
	out := serverSample{at: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.host+"/metrics", nil)
	if err != nil {
		return out, err
	}
	req.Header.Set("Authorization", "Bearer "+loadMetricsToken)
	resp, err := s.scrape.Do(req)
	if err != nil {
		return out, fmt.Errorf("GET /metrics: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	want := map[string]*float64{
		"go_memstats_heap_inuse_bytes":  &out.heapInuse,
		"go_memstats_stack_inuse_bytes": &out.stackInuse,
		"go_goroutines":                 &out.goroutines,
		"process_cpu_seconds_total":     &out.cpu,
		"go_gc_duration_seconds_count":  &out.gcs,
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if series, _, _ := strings.Cut(name, "{"); ok && (series == "twostep_db_wait_count_total" || series == "twostep_db_wait_seconds_total") {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				return out, fmt.Errorf("/metrics %s: %w", name, err)
			}
			if series == "twostep_db_wait_count_total" {
				out.dbWaits += v
			} else {
				out.dbWaitSec += v
			}
			continue
		}
		if p := want[name]; ok && p != nil {
			if *p, err = strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil {
				return out, fmt.Errorf("/metrics %s: %w", name, err)
			}
			delete(want, name)
		}
	}
	if len(want) > 0 {
		return out, fmt.Errorf("/metrics lacks %d of the series the benchmark reads", len(want))
	}
	pid := s.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return out, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			out.rss = kb * 1024
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return out, err
	}
	out.fds = float64(len(fds))
	return out, nil
}

// settle samples the server every 250 ms until its goroutine count holds
// still (within tol, twice running) and cond, if given, holds; or until
// limit passes, returning the last sample and an error.
func (s *loadServer) settle(ctx context.Context, limit time.Duration, tol float64, cond func(serverSample) bool) (serverSample, error) {
	deadline := time.Now().Add(limit)
	prev, err := s.sample(ctx)
	if err != nil {
		return prev, err
	}
	still := 0
	for {
		if err := loadgen.SleepCtx(ctx, 250*time.Millisecond); err != nil {
			return prev, err
		}
		cur, err := s.sample(ctx)
		if err != nil {
			return cur, err
		}
		if math.Abs(cur.goroutines-prev.goroutines) <= tol && (cond == nil || cond(cur)) {
			still++
		} else {
			still = 0
		}
		prev = cur
		if still >= 2 {
			return cur, nil
		}
		if time.Now().After(deadline) {
			return cur, fmt.Errorf("the server did not settle within %v (goroutines %v)", limit, cur.goroutines)
		}
	}
}

// loadLog takes the server's JSON log: it reports the listen address,
// counts WARN and ERROR records (keeping the first few), and keeps only a
// tail, so a long run neither grows memory nor spends the load
// generator's CPU parsing every record.
type loadLog struct {
	mu       sync.Mutex
	partial  []byte
	last     []byte // at most loadLogTail bytes
	addrs    chan string
	freed    chan struct{} // a forced GC finished
	found    bool
	warns    int
	errs     int
	problems []string
}

const loadLogTail = 64 << 10

func newLoadLog() *loadLog {
	return &loadLog{addrs: make(chan string, 1), freed: make(chan struct{}, 1)}
}

func (l *loadLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = append(l.last, p...)
	if len(l.last) > 2*loadLogTail {
		l.last = append([]byte(nil), l.last[len(l.last)-loadLogTail:]...)
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	l.partial = slices.Clip(l.partial)
	return len(p), nil
}

func (l *loadLog) line(line []byte) {
	// Count from the listening record on: the warnings of a first start
	// (generated master key, no carrier) are expected.
	warn := l.found && bytes.Contains(line, []byte(`"level":"WARN"`))
	bad := l.found && bytes.Contains(line, []byte(`"level":"ERROR"`))
	switch {
	case warn:
		l.warns++
	case bad:
		l.errs++
	}
	if (warn || bad) && len(l.problems) < 5 {
		l.problems = append(l.problems, string(line))
	}
	if bytes.Contains(line, []byte(loadHelperFreed)) {
		select {
		case l.freed <- struct{}{}:
		default:
		}
		return
	}
	if !l.found && bytes.Contains(line, []byte(`"msg":"listening"`)) {
		var rec struct {
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Addr != "" {
			l.found = true
			l.addrs <- rec.Addr
		}
	}
}

func (l *loadLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.last
	if len(t) > loadLogTail {
		t = t[len(t)-loadLogTail:]
	}
	return string(t)
}

// counts returns how many WARN and ERROR records were logged, and the
// first few of them.
func (l *loadLog) counts() (warns, errs int, problems []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warns, l.errs, slices.Clone(l.problems)
}

// ---------------------------------------------------------------------
// Clients.

// loadDuoClient is Duo's Auth API client over rt.
func loadDuoClient(host string, c credentials, rt http.RoundTripper) *authapi.AuthApi {
	return loadgen.DuoClient(host, c.AuthAPI.IKey, c.AuthAPI.SKey, rt)
}

func loadAdminClient(b *testing.B, s *loadServer, c credentials, tr http.RoundTripper) *adminclient.Client {
	b.Helper()
	adm, err := adminclient.New(adminclient.Config{Host: s.host, IKey: c.AdminAPI.IKey, SKey: c.AdminAPI.SKey, Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	return adm
}

func loadDeviceClient(b *testing.B, s *loadServer, tr http.RoundTripper) *deviceclient.Client {
	b.Helper()
	dc, err := deviceclient.New(deviceclient.Config{Host: s.host, Transport: tr, UserAgent: "twostep-load"})
	if err != nil {
		b.Fatal(err)
	}
	return dc
}

// checkFileLimit fails unless this process may open conns descriptors
// (the long polls' connections) and a margin.
func checkFileLimit(b *testing.B, conns int) {
	b.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if need := uint64(conns + 512); rl.Cur < need {
		b.Fatalf("%d connections need an open-files limit of at least %d; it is %d (ulimit -n)", conns, need, rl.Cur)
	}
}

// ---------------------------------------------------------------------
// Push and long polls.

// pushUser is a user with an activated app install.
type pushUser struct {
	name string
	ip   string
	dev  *deviceclient.Device // the install, answering through the answer node
}

// setupPushUsers makes n users, each with a mobile phone (Admin API)
// activated by an app install (Admin API activation_url, then the device
// API through act), all with the one device key (the server does not
// care). The returned installs answer through answer.
func setupPushUsers(ctx context.Context, adm *adminclient.Client, act, answer *deviceclient.Client, n, conc int) ([]pushUser, error) {
	key, err := deviceclient.NewKey()
	if err != nil {
		return nil, err
	}
	users := make([]pushUser, n)
	err = loadgen.ForEach(ctx, n, conc, func(ctx context.Context, i int) error {
		u := pushUser{name: fmt.Sprintf("push-%05d", i), ip: loadgen.IP(i)}
		var user struct {
			UserID string `json:"user_id"`
		}
		if err := adm.Post(ctx, "/admin/v1/users", url.Values{"username": {u.name}}, &user); err != nil {
			return fmt.Errorf("create user %s: %w", u.name, err)
		}
		var phone struct {
			PhoneID string `json:"phone_id"`
		}
		p := url.Values{"number": {fmt.Sprintf("+1555%07d", i)}, "type": {"mobile"}, "platform": {"generic smartphone"}}
		if err := adm.Post(ctx, "/admin/v1/phones", p, &phone); err != nil {
			return fmt.Errorf("create phone for %s: %w", u.name, err)
		}
		if err := adm.Post(ctx, "/admin/v1/users/"+user.UserID+"/phones", url.Values{"phone_id": {phone.PhoneID}}, nil); err != nil {
			return fmt.Errorf("attach phone to %s: %w", u.name, err)
		}
		var link struct {
			ActivationURL string `json:"activation_url"`
		}
		if err := adm.Post(ctx, "/admin/v1/phones/"+phone.PhoneID+"/activation_url", url.Values{"valid_secs": {"3600"}}, &link); err != nil {
			return fmt.Errorf("activation_url for %s: %w", u.name, err)
		}
		code, err := deviceclient.ParseActivation(link.ActivationURL)
		if err != nil {
			return fmt.Errorf("activation url %q: %w", link.ActivationURL, err)
		}
		a, err := act.Activate(ctx, code, key, deviceclient.DeviceInfo{Platform: "twostep-load", Model: "bench"})
		if err != nil {
			return fmt.Errorf("activate %s: %w", u.name, err)
		}
		u.dev = answer.Device(a.PKey, a.AKey, key)
		users[i] = u
		return nil
	})
	return users, err
}

// pushLoad is one push benchmark's setting.
type pushLoad struct {
	poll     *loadServer      // pushes and auth_status polls go here; measured
	auth     *authapi.AuthApi // Duo's client for poll
	duoTr    *loadgen.DuoTransport
	devTr    *http.Transport // the answering installs' transport
	users    []pushUser
	conc     int
	answerOn string // for the log
}

// pushRound is what one iteration measured.
type pushRound struct {
	n                     int
	pushDur, firstPollDur time.Duration
	sendDur               time.Duration // until every long poll was written
	answerDur             time.Duration
	base, parked, later   serverSample // base and parked just after a forced GC
	parkedRaw             serverSample // parked, before the forced GC
	answered              serverSample // once every poll has returned
	after                 serverSample
	wake, answer          loadgen.Latencies
	wakeAfter             loadgen.Latencies // from the answer's reply; negative when the poll returned first
	repolls               int64
	parkedCPU             float64 // percent of one CPU while every poll waits
	leakedGoroutines      float64
}

func (l *pushLoad) closeIdle() {
	l.duoTr.Base.CloseIdleConnections()
	l.devTr.CloseIdleConnections()
}

// round runs one iteration: n async pushes, a first auth_status each, then
// n concurrent long polls that park; samples the server before and while
// they wait; then approves all n through the device API and times each
// poll's return from its answer's start.
func (l *pushLoad) round(ctx context.Context) (pushRound, error) {
	n := len(l.users)
	r := pushRound{n: n}
	l.duoTr.SetPhase(ctx)
	defer l.duoTr.SetPhase(context.Background())

	// 1. Async pushes.
	txids := make([]string, n)
	start := time.Now()
	err := loadgen.ForEach(ctx, n, l.conc, func(ctx context.Context, i int) error {
		u := l.users[i]
		res, err := l.auth.Auth("push", authapi.AuthUsername(u.name), authapi.AuthDevice("auto"),
			authapi.AuthIpAddr(u.ip), authapi.AuthAsync())
		if err != nil {
			return fmt.Errorf("push for %s: %w", u.name, err)
		}
		if res.Stat != "OK" || res.Response.Txid == "" {
			return fmt.Errorf("push for %s = %s %d %q, want OK with a txid", u.name, res.Stat, code(res.StatResult), ptr(res.Message))
		}
		txids[i] = res.Response.Txid
		return nil
	})
	if err != nil {
		return r, err
	}
	r.pushDur = time.Since(start)

	// 2. The first auth_status of each answers at once.
	start = time.Now()
	err = loadgen.ForEach(ctx, n, l.conc, func(ctx context.Context, i int) error {
		st, err := l.auth.AuthStatus(txids[i])
		if err != nil {
			return fmt.Errorf("first auth_status for %s: %w", l.users[i].name, err)
		}
		if st.Stat != "OK" || st.Response.Result != "waiting" || st.Response.Status != "pushed" {
			return fmt.Errorf("first auth_status for %s = %s %s/%s, want OK waiting/pushed", l.users[i].name, st.Stat, st.Response.Result, st.Response.Status)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r.firstPollDur = time.Since(start)

	// 3. Baseline: no API connection open, garbage collected.
	l.closeIdle()
	if _, err = l.poll.settle(ctx, 10*time.Second, 0, nil); err != nil {
		return r, fmt.Errorf("baseline: %w", err)
	}
	if err := l.poll.collect(ctx); err != nil {
		return r, err
	}
	if r.base, err = l.poll.sample(ctx); err != nil {
		return r, err
	}

	// 4. n long polls, all at once; each re-polls (as Duo's clients do)
	// if its poll ends "waiting" before the answer. pollCtx ends them
	// early if the round fails.
	pollCtx, cancelPolls := context.WithCancel(ctx)
	defer cancelPolls()
	done := make([]time.Time, n)
	results := make([]string, n)
	var pollErr atomic.Pointer[error]
	var repolls, returned atomic.Int64
	l.duoTr.SetPhase(pollCtx)
	l.duoTr.Written.Store(0)
	l.duoTr.Counting.Store(true)
	var polls sync.WaitGroup
	start = time.Now()
	for i := range n {
		polls.Go(func() {
			for pollCtx.Err() == nil {
				st, err := l.auth.AuthStatus(txids[i])
				if err == nil && st.Stat != "OK" {
					err = fmt.Errorf("%s %d %q", st.Stat, code(st.StatResult), ptr(st.Message))
				}
				if err != nil {
					if pollCtx.Err() == nil {
						err = fmt.Errorf("long poll for %s: %w", l.users[i].name, err)
						pollErr.CompareAndSwap(nil, &err)
					}
					return
				}
				if st.Response.Result != "waiting" {
					done[i], results[i] = time.Now(), st.Response.Result
					returned.Add(1)
					return
				}
				repolls.Add(1)
			}
		})
	}
	endPolls := func() {
		polls.Wait()
		l.duoTr.Counting.Store(false)
		l.duoTr.SetPhase(ctx)
	}
	fail := func(err error) (pushRound, error) {
		cancelPolls()
		endPolls()
		return r, err
	}
	for l.duoTr.Written.Load() < int64(n) {
		if p := pollErr.Load(); p != nil {
			return fail(*p)
		}
		if err := loadgen.SleepCtx(ctx, 10*time.Millisecond); err != nil {
			return fail(fmt.Errorf("%d of %d long polls written: %w", l.duoTr.Written.Load(), n, err))
		}
	}
	r.sendDur = time.Since(start)
	// Parked: every poll's connection and goroutines are there, and the
	// count holds still.
	parked := func(s serverSample) bool { return s.goroutines >= r.base.goroutines+float64(n) }
	if r.parkedRaw, err = l.poll.settle(ctx, 15*time.Second, max(2, float64(n)/200), parked); err != nil {
		return fail(fmt.Errorf("parking %d polls: %w", n, err))
	}
	if err := l.poll.collect(ctx); err != nil {
		return fail(err)
	}
	if r.parked, err = l.poll.sample(ctx); err != nil {
		return fail(err)
	}
	if err := loadgen.SleepCtx(ctx, parkedCPUWindow); err != nil {
		return fail(err)
	}
	if r.later, err = l.poll.sample(ctx); err != nil {
		return fail(err)
	}
	r.parkedCPU = 100 * (r.later.cpu - r.parked.cpu) / r.later.at.Sub(r.parked.at).Seconds()
	if k := returned.Load(); k > 0 {
		return fail(fmt.Errorf("%d long polls returned final before any answer", k))
	}
	if p := pollErr.Load(); p != nil {
		return fail(*p)
	}

	// 5. Approve every push through the device API.
	ansStart := make([]time.Time, n)
	r.answer = make(loadgen.Latencies, n)
	start = time.Now()
	err = loadgen.ForEach(ctx, n, l.conc, func(ctx context.Context, i int) error {
		ansStart[i] = time.Now()
		if err := l.users[i].dev.Answer(ctx, txids[i], deviceclient.Answer{Approve: true}); err != nil {
			return fmt.Errorf("approve for %s: %w", l.users[i].name, err)
		}
		r.answer[i] = time.Since(ansStart[i])
		return nil
	})
	r.answerDur = time.Since(start)
	if err != nil {
		return fail(err)
	}
	endPolls()
	if p := pollErr.Load(); p != nil {
		return r, *p
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	r.wake = make(loadgen.Latencies, n)
	r.wakeAfter = make(loadgen.Latencies, n)
	for i := range n {
		if results[i] != "allow" {
			return r, fmt.Errorf("the long poll for %s ended %q, want allow", l.users[i].name, results[i])
		}
		r.wake[i] = done[i].Sub(ansStart[i])
		r.wakeAfter[i] = r.wake[i] - r.answer[i]
	}
	r.repolls = repolls.Load()
	if r.answered, err = l.poll.sample(ctx); err != nil {
		return r, err
	}

	// 6. With every connection closed, the goroutines go back to the
	// baseline: nothing per waiter outlives it.
	l.closeIdle()
	back := func(s serverSample) bool { return s.goroutines <= r.base.goroutines+2 }
	r.after, err = l.poll.settle(ctx, 10*time.Second, 0, back)
	r.leakedGoroutines = r.after.goroutines - r.base.goroutines
	if err != nil {
		return r, fmt.Errorf("after the round: %w (goroutines %v, baseline %v)", err, r.after.goroutines, r.base.goroutines)
	}
	return r, nil
}

// waiterCost is the server's growth per waiting poll.
type waiterCost struct {
	heap, stack float64 // KiB of live heap and goroutine stacks (after a forced GC)
	rss         float64 // KiB of VmRSS after the GC returned freed memory
	rssPeak     float64 // KiB of VmRSS before it: what the process holds with GOGC's headroom
	goroutines  float64
	fds         float64
}

func (r pushRound) perWaiter() waiterCost {
	n := float64(r.n)
	return waiterCost{
		heap:       (r.parked.heapInuse - r.base.heapInuse) / n / 1024,
		stack:      (r.parked.stackInuse - r.base.stackInuse) / n / 1024,
		rss:        (r.parked.rss - r.base.rss) / n / 1024,
		rssPeak:    (r.parkedRaw.rss - r.base.rss) / n / 1024,
		goroutines: (r.parked.goroutines - r.base.goroutines) / n,
		fds:        (r.parked.fds - r.base.fds) / n,
	}
}

func ptr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// run runs b.N rounds and reports.
func (l *pushLoad) run(b *testing.B) {
	var rounds []pushRound
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), loadPhaseTimeout)
		r, err := l.round(ctx)
		cancel()
		if err != nil {
			b.StopTimer()
			warns, errs, problems := l.poll.logs.counts()
			b.Fatalf("push round: %v\nserver log: %d WARN, %d ERROR records; first: %s\nlog tail:\n%s", err, warns, errs,
				strings.Join(problems, "\n"), l.poll.logs.tail())
		}
		rounds = append(rounds, r)
		m := r.perWaiter()
		b.Logf("%d users: pushes %v (%.0f/s), first polls %v; %d long polls written in %v. Server per waiting poll: "+
			"live %.1f KiB (heap %.1f, stacks %.1f), RSS %.1f KiB after GC, %.1f KiB before; %.2f goroutines, %.2f fds; "+
			"CPU while they wait %.1f%% of one core, %.0f waits for a database connection. Answers (on %s) %v (%.0f/s), answer p99 %.1f ms; "+
			"wake from the answer's start p50 %.1f ms, p95 %.1f, p99 %.1f, max %.1f; from its reply p50 %.1f, p99 %.1f; re-polls %d; goroutines after %+.0f; waits for a database connection: %.0f while the polls arrived, %.0f while they answered (%.0f ms in all)",
			r.n, r.pushDur.Round(time.Millisecond), float64(r.n)/r.pushDur.Seconds(), r.firstPollDur.Round(time.Millisecond),
			r.n, r.sendDur.Round(time.Millisecond),
			m.heap+m.stack, m.heap, m.stack, m.rss, m.rssPeak, m.goroutines, m.fds, r.parkedCPU, r.later.dbWaits-r.parked.dbWaits,
			l.answerOn, r.answerDur.Round(time.Millisecond), float64(r.n)/r.answerDur.Seconds(), r.answer.Pct(.99),
			r.wake.Pct(.5), r.wake.Pct(.95), r.wake.Pct(.99), r.wake.Pct(1), r.wakeAfter.Pct(.5), r.wakeAfter.Pct(.99),
			r.repolls, r.leakedGoroutines, r.parkedRaw.dbWaits-r.base.dbWaits, r.answered.dbWaits-r.later.dbWaits, 1000*(r.answered.dbWaitSec-r.base.dbWaitSec))
	}
	b.StopTimer()

	var wake, answer, wakeAfter loadgen.Latencies
	var sum waiterCost
	var pushes, answers, cpuPer1k, repolls, dbWaits float64
	for _, r := range rounds {
		n := float64(r.n)
		wake = append(wake, r.wake...)
		answer = append(answer, r.answer...)
		wakeAfter = append(wakeAfter, r.wakeAfter...)
		pushes += n / r.pushDur.Seconds()
		answers += n / r.answerDur.Seconds()
		m := r.perWaiter()
		sum.heap += m.heap
		sum.stack += m.stack
		sum.rss += m.rss
		sum.rssPeak += m.rssPeak
		sum.goroutines += m.goroutines
		sum.fds += m.fds
		cpuPer1k += r.parkedCPU / n * 1000
		repolls += float64(r.repolls)
		dbWaits += r.answered.dbWaits - r.base.dbWaits
	}
	k := float64(len(rounds))
	b.ReportMetric((sum.heap+sum.stack)/k, "waiter-KiB/op")
	b.ReportMetric(sum.heap/k, "waiter-heap-KiB/op")
	b.ReportMetric(sum.stack/k, "waiter-stack-KiB/op")
	b.ReportMetric(sum.rss/k, "waiter-rss-KiB/op")
	b.ReportMetric(sum.rssPeak/k, "waiter-rss-peak-KiB/op")
	b.ReportMetric(sum.goroutines/k, "waiter-goroutines/op")
	b.ReportMetric(sum.fds/k, "waiter-fds/op")
	b.ReportMetric(cpuPer1k/k, "parked-cpu-%/1k-waiters")
	b.ReportMetric(pushes/k, "pushes/s")
	b.ReportMetric(answers/k, "answers/s")
	b.ReportMetric(wake.Pct(.5), "wake-p50-ms")
	b.ReportMetric(wake.Pct(.95), "wake-p95-ms")
	b.ReportMetric(wake.Pct(.99), "wake-p99-ms")
	b.ReportMetric(wake.Pct(1), "wake-max-ms")
	b.ReportMetric(wakeAfter.Pct(.5), "wake-after-reply-p50-ms")
	b.ReportMetric(wakeAfter.Pct(.99), "wake-after-reply-p99-ms")
	b.ReportMetric(answer.Pct(.99), "answer-p99-ms")
	b.ReportMetric(repolls, "repolls")
	b.ReportMetric(dbWaits, "db-pool-waits")
	if warns, errs, problems := l.poll.logs.counts(); warns+errs > 0 {
		b.Logf("server log: %d WARN and %d ERROR records; first:\n%s", warns, errs, strings.Join(problems, "\n"))
	}
}

// BenchmarkPushLongPolls: TWOSTEP_LOAD_USERS users (default 500), each with
// an activated app install, on one twostepd on SQLite. Per iteration: an
// async push each (pushes/s), the first auth_status each, then every
// user's blocking auth_status long poll at once. While they wait the
// server's growth per waiting poll is measured (waiter-KiB/op: VmRSS;
// also heap, stacks, goroutines, file descriptors, and CPU for the 2 s
// re-checks), then every push is approved through the device API and each
// poll's return is timed from its answer's start (wake-*-ms).
func BenchmarkPushLongPolls(b *testing.B) {
	n := loadEnvInt(b, "TWOSTEP_LOAD_USERS", defaultLoadUsers, 1, maxLoadUsers)
	conc := loadEnvInt(b, "TWOSTEP_LOAD_CONCURRENCY", defaultLoadConcurrency, 1, 1024)
	checkFileLimit(b, n)
	s := startLoadServer(b, nil)
	benchPush(b, s, s, n, conc)
}

// BenchmarkPushLongPollsPostgres is BenchmarkPushLongPolls on two
// twostepd processes sharing one fresh PostgreSQL database (needs
// TWOSTEP_TEST_POSTGRES): pushes and long polls on node A (measured), the
// answers through node B, so that every wake-up crosses LISTEN/NOTIFY.
func BenchmarkPushLongPollsPostgres(b *testing.B) {
	n := loadEnvInt(b, "TWOSTEP_LOAD_USERS", defaultLoadUsers, 1, maxLoadUsers)
	conc := loadEnvInt(b, "TWOSTEP_LOAD_CONCURRENCY", defaultLoadConcurrency, 1, 1024)
	checkFileLimit(b, n)
	dsn := sqltest.FreshDatabaseDSN(b)
	key, err := seal.GenerateKey(rand.Reader, "k1")
	if err != nil {
		b.Fatal(err)
	}
	keyFile := filepath.Join(b.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, []byte(key.Encode()), 0o600); err != nil {
		b.Fatal(err)
	}
	env := []string{"TWOSTEP_DATABASE=" + dsn, "TWOSTEP_MASTER_KEY_FILE=" + keyFile}
	a := startLoadServer(b, env) // bootstraps
	nodeB := startLoadServer(b, env)
	benchPush(b, a, nodeB, n, conc)
}

func benchPush(b *testing.B, poll, answer *loadServer, n, conc int) {
	b.Helper()
	creds := poll.credentials(b)
	pool := poll.pool(b)
	if answer != poll {
		caB, err := os.ReadFile(filepath.Join(answer.data, "ca.pem"))
		if err != nil || !pool.AppendCertsFromPEM(caB) {
			b.Fatalf("node B ca.pem: %v", err)
		}
	}
	duoTr := loadgen.NewDuoTransport(loadgen.LoopbackTransport(pool, n+conc))
	devTr := loadgen.LoopbackTransport(pool, conc)
	setupTr := loadgen.LoopbackTransport(pool, conc)
	b.Cleanup(func() {
		duoTr.Base.CloseIdleConnections()
		devTr.CloseIdleConnections()
		setupTr.CloseIdleConnections()
	})
	l := &pushLoad{
		poll: poll, auth: loadDuoClient(poll.host, creds, duoTr), duoTr: duoTr, devTr: devTr, conc: conc,
		answerOn: "the same node",
	}
	if answer != poll {
		l.answerOn = "node B"
	}

	ctx, cancel := context.WithTimeout(context.Background(), loadPhaseTimeout)
	defer cancel()
	start := time.Now()
	var err error
	l.users, err = setupPushUsers(ctx, loadAdminClient(b, poll, creds, setupTr), loadDeviceClient(b, poll, setupTr),
		loadDeviceClient(b, answer, devTr), n, conc)
	if err != nil {
		b.Fatalf("setup: %v\nlog tail:\n%s", err, poll.logs.tail())
	}
	setupTr.CloseIdleConnections()
	b.Logf("setup: %d users with activated installs in %v", n, time.Since(start).Round(time.Millisecond))
	l.run(b)
}

// ---------------------------------------------------------------------
// Passcode throughput.

// BenchmarkPasscodeAuthHTTP: passcode logins through Duo's Auth API client
// over TLS to one twostepd on SQLite, from TWOSTEP_LOAD_CLIENTS concurrent
// clients (default 16), TWOSTEP_LOAD_AUTHS logins per iteration (default
// 4096: 256 users with an HOTP token, 16 codes each, every one allowed).
// Reports auths/s and latency, and the same clients' rate of signed
// no-op requests (/auth/v2/check) for ARCHITECTURE.md's target (a login
// costs at most about twice a no-op: vs-noop >= 0.5).
func BenchmarkPasscodeAuthHTTP(b *testing.B) {
	benchPasscode(b, startLoadServer(b, nil))
}

// BenchmarkPasscodeAuthHTTPPostgres is BenchmarkPasscodeAuthHTTP on one
// twostepd on a fresh PostgreSQL database (needs TWOSTEP_TEST_POSTGRES),
// with the durable rate limits on, as twostepd serve runs there.
func BenchmarkPasscodeAuthHTTPPostgres(b *testing.B) {
	dsn := sqltest.FreshDatabaseDSN(b)
	benchPasscode(b, startLoadServer(b, []string{"TWOSTEP_DATABASE=" + dsn}))
}

// benchPasscode measures signed no-op checks, passcode logins and then as
// many preauths (of the same users) on s, with loadgen.Bench (the code
// `twostepd bench` runs).
func benchPasscode(b *testing.B, s *loadServer) {
	k := loadEnvInt(b, "TWOSTEP_LOAD_CLIENTS", defaultPasscodeClients, 1, 1024)
	auths := loadEnvInt(b, "TWOSTEP_LOAD_AUTHS", defaultPasscodeAuths, 1, 1<<20)
	conc := loadEnvInt(b, "TWOSTEP_LOAD_CONCURRENCY", defaultLoadConcurrency, 1, 1024)
	checkFileLimit(b, k+conc)
	creds := s.credentials(b)
	pool := s.pool(b)
	duoTr := loadgen.NewDuoTransport(loadgen.LoopbackTransport(pool, k))
	setupTr := loadgen.LoopbackTransport(pool, conc)
	b.Cleanup(func() { duoTr.Base.CloseIdleConnections(); setupTr.CloseIdleConnections() })

	var (
		lat, plat                     loadgen.Latencies
		logins, authDur, checks       float64
		preauths, preauthDur          float64
		checkDur                      time.Duration
		serverCPU, clientCPU, dbWaits float64
	)
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), loadPhaseTimeout)
		lb := &loadgen.Bench{Auth: loadDuoClient(s.host, creds, duoTr), AuthTr: duoTr,
			Admin: loadAdminClient(b, s, creds, setupTr), Clients: k, Requests: auths, Prefix: fmt.Sprintf("hotp%d", iter)}
		if err := lb.Setup(ctx, conc); err != nil {
			cancel()
			b.Fatalf("setup: %v\nlog tail:\n%s", err, s.logs.tail())
		}
		setupTr.CloseIdleConnections()
		nUsers := len(lb.LoadUsers())
		total := nUsers * loadgen.PasscodesPerUser
		lb.Requests = total
		phase := func(name string) loadgen.Result {
			b.Helper()
			r, err := lb.Run(ctx, name)
			if err == nil && r.Failed() > 0 {
				err = fmt.Errorf("%d of %d failed (%v); first: %s", r.Failed(), r.Requests, r.Errors, r.FirstErr)
			}
			if err == nil && r.Requests != total {
				err = fmt.Errorf("%d requests, want %d (%s)", r.Requests, total, r.Note)
			}
			if err != nil {
				cancel()
				b.Fatalf("iteration %d, %s: %v\nlog tail:\n%s", iter, name, err, s.logs.tail())
			}
			return r
		}

		// The no-op baseline, as many signed checks as there will be logins.
		rc := phase(loadgen.PhaseCheck)
		checkDur += rc.Elapsed
		checks += float64(rc.Requests)

		// The logins: client w owns users w, w+k, ... and sends each its
		// codes in counter order, round-robin over its users.
		before, err := s.sample(ctx)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		cpu0 := loadgen.CPUSelf()
		b.StartTimer()
		ra := phase(loadgen.PhasePasscode)
		b.StopTimer()
		iterCPU := (loadgen.CPUSelf() - cpu0).Seconds()
		clientCPU += iterCPU
		after, err := s.sample(ctx)
		if err != nil {
			cancel()
			b.Fatalf("iteration %d: %v", iter, err)
		}
		d := ra.Elapsed
		serverCPU += after.cpu - before.cpu
		dbWaits += after.dbWaits - before.dbWaits
		lat = append(lat, ra.Latencies...)
		logins += float64(total)
		authDur += d.Seconds()
		b.Logf("%d clients, %d users: %d logins in %v (%.0f/s), all allowed; "+
			"%d no-op checks at %.0f/s; server CPU %.0f%%, load generator CPU %.0f%% (of one core)",
			k, nUsers, total, d.Round(time.Millisecond), float64(total)/d.Seconds(),
			total, rc.PerSecond(), 100*(after.cpu-before.cpu)/d.Seconds(), 100*iterCPU/d.Seconds())

		// As many preauths of the same users (each answers "auth").
		rp := phase(loadgen.PhasePreauth)
		cancel()
		plat = append(plat, rp.Latencies...)
		preauths += float64(total)
		preauthDur += rp.Elapsed.Seconds()
		b.Logf("%d preauths in %v (%.0f/s)", total, rp.Elapsed.Round(time.Millisecond), rp.PerSecond())
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(logins/authDur, "auths/s")
	b.ReportMetric(lat.Pct(.5), "auth-p50-ms")
	b.ReportMetric(lat.Pct(.99), "auth-p99-ms")
	b.ReportMetric(lat.Pct(1), "auth-max-ms")
	b.ReportMetric(checks/checkDur.Seconds(), "noop-checks/s")
	b.ReportMetric((logins/authDur)/(checks/checkDur.Seconds()), "vs-noop")
	b.ReportMetric(preauths/preauthDur, "preauths/s")
	b.ReportMetric(plat.Pct(.5), "preauth-p50-ms")
	b.ReportMetric(plat.Pct(.99), "preauth-p99-ms")
	b.ReportMetric((preauths/preauthDur)/(checks/checkDur.Seconds()), "preauth-vs-noop")
	b.ReportMetric(100*serverCPU/authDur, "server-cpu-%")
	b.ReportMetric(100*clientCPU/authDur, "loadgen-cpu-%")
	b.ReportMetric(dbWaits, "db-pool-waits")
	if warns, errs, problems := s.logs.counts(); warns+errs > 0 {
		b.Logf("server log: %d WARN and %d ERROR records; first:\n%s", warns, errs, strings.Join(problems, "\n"))
	}
}
