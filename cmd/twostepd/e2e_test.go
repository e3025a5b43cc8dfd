package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"
)

// logSink collects a process's log output and reports the listen address.
type logSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addrs chan string
}

func newLogSink() *logSink { return &logSink{addrs: make(chan string, 1)} }

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
			select {
			case l.addrs <- rec.Addr:
			default:
			}
		}
	}
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// instance is one twostepd serve started through run().
type instance struct {
	addr   string
	data   string
	logs   *logSink
	stdout *logSink
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `twostepd serve` on port 0 with its own data directory
// (unless --data is given) and waits until it answers /healthz.
func startServe(t *testing.T, getenv func(string) string, args ...string) *instance {
	t.Helper()
	data := ""
	hasData := false
	for _, a := range args {
		if a == "--data" || strings.HasPrefix(a, "--data=") {
			hasData = true
		}
	}
	if !hasData {
		data = t.TempDir()
		args = append(args, "--data", data)
	}
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{data: data, logs: newLogSink(), stdout: newLogSink(), cancel: cancel, done: make(chan error, 1)}
	start := time.Now()
	go func() { in.done <- run(ctx, args, getenv, strings.NewReader(""), in.stdout, in.logs) }()
	select {
	case in.addr = <-in.logs.addrs:
	case err := <-in.done:
		cancel()
		t.Fatalf("twostepd serve exited early: %v\nlogs:\n%s", err, in.logs)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("twostepd serve did not listen within 60s; logs:\n%s", in.logs)
	}
	t.Logf("twostepd serve listening on %s after %v", in.addr, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { in.stop(t) })
	return in
}

func (in *instance) stop(t *testing.T) {
	t.Helper()
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("twostepd serve returned %v; logs:\n%s", err, in.logs)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("twostepd serve did not stop within 30s")
	}
}

type credentials struct {
	APIHost  string `json:"api_host"`
	CAFile   string `json:"ca_file"`
	AdminAPI struct {
		IKey string `json:"ikey"`
		SKey string `json:"skey"`
	} `json:"admin_api"`
	AuthAPI struct {
		IKey string `json:"ikey"`
		SKey string `json:"skey"`
	} `json:"auth_api"`
	Owner struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	} `json:"owner"`
}

func readCredentials(t *testing.T, dir string) (credentials, []byte) {
	t.Helper()
	path := filepath.Join(dir, "initial-credentials.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read credentials: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("initial-credentials.json mode = %v, want 0600", st.Mode().Perm())
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c credentials
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("credentials file: %v", err)
	}
	return c, b
}

func trustCA(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return pool
}

func httpsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// duoClient is Duo's own Go client, trusting only our CA.
func duoClient(host, ikey, skey string, pool *x509.CertPool) *authapi.AuthApi {
	api := duoapi.NewDuoApi(ikey, skey, host, "twostep-e2e",
		duoapi.SetTimeout(10*time.Second),
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = pool }))
	return authapi.NewAuthApi(*api)
}

func code(r duoapi.StatResult) int32 {
	if r.Code == nil {
		return 0
	}
	return *r.Code
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeZeroConfig(t *testing.T) {
	in := startServe(t, nil)
	creds, raw := readCredentials(t, in.data)

	if !regexp.MustCompile(`^DI[A-Z0-9]{18}$`).MatchString(creds.AuthAPI.IKey) || !regexp.MustCompile(`^DI[A-Z0-9]{18}$`).MatchString(creds.AdminAPI.IKey) {
		t.Errorf("ikeys %q, %q do not have Duo's shape DI + 18 of A-Z0-9", creds.AuthAPI.IKey, creds.AdminAPI.IKey)
	}
	if len(creds.AuthAPI.SKey) != 40 || len(creds.AdminAPI.SKey) != 40 {
		t.Errorf("skeys have %d and %d characters, want 40", len(creds.AuthAPI.SKey), len(creds.AdminAPI.SKey))
	}
	if !filepath.IsAbs(creds.CAFile) || filepath.Dir(creds.CAFile) != in.data {
		t.Errorf("ca_file = %q, want an absolute path in the data directory", creds.CAFile)
	}
	_, port, _ := strings.Cut(in.addr, ":")
	if creds.APIHost != "localhost:"+port {
		t.Errorf("api_host = %q, want localhost:%s", creds.APIHost, port)
	}
	var generic map[string]any
	json.Unmarshal(raw, &generic)
	keys := []string{}
	for k := range generic {
		keys = append(keys, k)
	}
	if len(keys) != 5 {
		t.Errorf("credentials keys = %v, want exactly api_host, ca_file, admin_api, auth_api, owner", keys)
	}

	pool := trustCA(t, creds.CAFile)
	hc := httpsClient(pool)
	base := "https://" + creds.APIHost
	if st, body := get(t, hc, base+"/healthz"); st != 200 {
		t.Errorf("GET /healthz = %d %q, want 200", st, body)
	}
	if st, body := get(t, hc, base+"/readyz"); st != 200 || !strings.Contains(body, "ready") {
		t.Errorf("GET /readyz = %d %q, want 200 ready", st, body)
	}
	st, body := get(t, hc, base+"/auth/v2/ping")
	if st != 200 || !regexp.MustCompile(`^\{"stat":"OK","response":\{"time":\d+\}\}`).MatchString(body) {
		t.Errorf("GET /auth/v2/ping = %d %q", st, body)
	}

	// Duo's own client, trusting ca.pem, with the bootstrap Auth API key.
	res, err := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check()
	if err != nil {
		t.Fatalf("Check() error = %v", err)
	}
	if res.Stat != "OK" || res.Response.Time == 0 {
		t.Errorf("Check() = %+v, want OK with the server time", res)
	}
	if d := time.Since(time.Unix(res.Response.Time, 0)); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("Check() time is %v away from now", d)
	}

	tests := []struct {
		name       string
		ikey, skey string
		want       int32
	}{
		{"wrong skey", creds.AuthAPI.IKey, strings.Repeat("x", 40), 40103},
		{"unknown ikey", "DIXXXXXXXXXXXXXXXXXX", creds.AuthAPI.SKey, 40102},
		{"admin api key on the auth api", creds.AdminAPI.IKey, creds.AdminAPI.SKey, 40301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := duoClient(creds.APIHost, tt.ikey, tt.skey, pool).Check()
			if err != nil {
				t.Fatalf("Check() error = %v", err)
			}
			if res.Stat != "FAIL" || code(res.StatResult) != tt.want {
				t.Errorf("Check() = %s %d, want FAIL %d", res.Stat, code(res.StatResult), tt.want)
			}
		})
	}

	// Zero config serves no metrics to anyone who can reach the port.
	if st, body := get(t, hc, base+"/metrics"); st != 404 || body != `{"stat":"FAIL","code":40401,"message":"Resource not found"}` {
		t.Errorf("anonymous GET /metrics on the main port = %d %q, want Duo's 404", st, body)
	}

	in.stop(t)
	// Nothing secret reached the log.
	logs := in.logs.String()
	mk, _ := os.ReadFile(filepath.Join(in.data, "master.key"))
	for name, secret := range map[string]string{
		"auth skey": creds.AuthAPI.SKey, "admin skey": creds.AdminAPI.SKey, "owner password": creds.Owner.Password,
		"master key": strings.TrimSpace(string(mk)),
	} {
		if secret == "" || strings.Contains(logs, secret) {
			t.Errorf("%s appears in the log (or is empty)", name)
		}
	}
	if !strings.Contains(logs, "initial-credentials.json") || !strings.Contains(logs, "generated a new master key") {
		t.Errorf("the log does not say where the credentials and the generated master key are:\n%s", logs)
	}

	// A second start reuses everything: same CA, same credentials, no rewrite.
	before, _ := os.ReadFile(creds.CAFile)
	credsBefore, _ := os.ReadFile(filepath.Join(in.data, "initial-credentials.json"))
	again := startServe(t, nil, "--data", in.data)
	after, _ := os.ReadFile(creds.CAFile)
	credsAfter, _ := os.ReadFile(filepath.Join(in.data, "initial-credentials.json"))
	if !bytes.Equal(before, after) || !bytes.Equal(credsBefore, credsAfter) {
		t.Error("second start rewrote ca.pem or initial-credentials.json")
	}
	host := strings.Replace(again.addr, "127.0.0.1", "localhost", 1)
	res, err = duoClient(host, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check()
	if err != nil || res.Stat != "OK" {
		t.Errorf("Check() after restart = %+v, %v; want OK", res, err)
	}
	if strings.Contains(again.logs.String(), "bootstrapped") {
		t.Error("second start bootstrapped again")
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)
	hc := httpsClient(trustCA(t, creds.CAFile))
	// Open a connection, then stop: the in-flight and idle connections close
	// cleanly and the listener stops accepting.
	if st, _ := get(t, hc, "https://"+in.addr+"/healthz"); st != 200 {
		t.Fatalf("healthz = %d", st)
	}
	in.stop(t)
	if _, err := hc.Get("https://" + in.addr + "/healthz"); err == nil {
		t.Error("GET after shutdown succeeded, want connection refused")
	}
	if !strings.Contains(in.logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", in.logs)
	}
}

func runCmd(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var o, e bytes.Buffer
	err = run(context.Background(), args, getenv, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := runCmd(t, nil, "version")
	if err != nil || !strings.Contains(out, "twostepd ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("version = %q, %v; want version, commit and Go version", out, err)
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		name     string
		give     []string
		env      map[string]string
		wantErr  string
		wantExit int
	}{
		{"unknown command", []string{"frobnicate"}, nil, "unexpected argument frobnicate", 2},
		{"unknown flag", []string{"serve", "--nope"}, nil, "unknown flag --nope", 2},
		{"bad listen", []string{"config", "check", "--listen", "nohostport"}, nil, "listen", 1},
		{"bad env", []string{"config", "check"}, map[string]string{"TWOSTEP_DB_MAX_OPEN_CONNS": "many"}, "db.max_open_conns", 1},
		{"missing config file", []string{"config", "check", "--config", "/nonexistent/twostep.toml"}, nil, "/nonexistent/twostep.toml", 1},
		{"tls cert without key", []string{"serve", "--tls-cert", "x.pem"}, nil, "tls.key", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, func(k string) string { return tt.env[k] }, tt.give...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) error = %v, want containing %q", tt.give, err, tt.wantErr)
			}
			if got := exitCode(err); got != tt.wantExit {
				t.Errorf("exitCode(%v) = %d, want %d", err, got, tt.wantExit)
			}
		})
	}
	if _, _, err := runCmd(t, nil, "--help"); err != nil {
		t.Errorf("--help error = %v, want nil", err)
	}
}

func TestConfigCheckRedactsSecrets(t *testing.T) {
	const mk = "k9:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	env := map[string]string{"TWOSTEP_MASTER_KEY": mk, "TWOSTEP_DATABASE": "postgres://bob:hunter2@db.example:5432/twostep"}
	out, _, err := runCmd(t, func(k string) string { return env[k] }, "config", "check", "--listen", "0.0.0.0:9443")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "AAECAwQF") {
		t.Errorf("config check printed a secret:\n%s", out)
	}
	for _, want := range []string{`listen = "0.0.0.0:9443"`, "db.example", "configuration is valid"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
}

// TestMetricsExposure: /metrics is served on the main port only with a
// bearer token, or only on metrics.listen, and config check redacts the
// token.
func TestMetricsExposure(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	scrape := func(hc *http.Client, url, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const series = `twostep_http_requests_total{code="200",method="GET",route="GET /healthz"}`

	t.Run("token", func(t *testing.T) {
		env := map[string]string{"TWOSTEP_METRICS_TOKEN_FILE": tokenFile}
		in := startServe(t, func(k string) string { return env[k] })
		creds, _ := readCredentials(t, in.data)
		hc := httpsClient(trustCA(t, creds.CAFile))
		base := "https://" + creds.APIHost
		get(t, hc, base+"/healthz")
		if st, body := scrape(hc, base+"/metrics", ""); st != 401 || !strings.Contains(body, `"code":40101`) {
			t.Errorf("GET /metrics without the token = %d %q, want 401", st, body)
		}
		if st, _ := scrape(hc, base+"/metrics", "Bearer wrong-token-0123456789abcdef"); st != 401 {
			t.Errorf("GET /metrics with a wrong token = %d, want 401", st)
		}
		if st, body := scrape(hc, base+"/metrics", "Bearer "+token); st != 200 || !strings.Contains(body, series) ||
			!strings.Contains(body, `twostep_db_open_connections{pool=`) {
			t.Errorf("GET /metrics with the token = %d, lacks %s", st, series)
		}
		in.stop(t)
		if strings.Contains(in.logs.String(), token) {
			t.Error("the log contains the metrics token")
		}
		out, _, err := runCmd(t, func(k string) string { return env[k] }, "config", "check")
		if err != nil || strings.Contains(out, token) || !strings.Contains(out, `token = "[redacted]"`) {
			t.Errorf("config check = %v, want the metrics token redacted:\n%s", err, out)
		}
	})

	t.Run("listen", func(t *testing.T) {
		env := map[string]string{"TWOSTEP_METRICS_LISTEN": "127.0.0.1:0"}
		in := startServe(t, func(k string) string { return env[k] })
		creds, _ := readCredentials(t, in.data)
		hc := httpsClient(trustCA(t, creds.CAFile))
		base := "https://" + creds.APIHost
		get(t, hc, base+"/healthz")
		m := regexp.MustCompile(`"msg":"serving metrics","addr":"([^"]+)"`).FindStringSubmatch(in.logs.String())
		if m == nil {
			t.Fatalf("no metrics listener in the log:\n%s", in.logs)
		}
		if st, body := scrape(http.DefaultClient, "http://"+m[1]+"/metrics", ""); st != 200 || !strings.Contains(body, series) {
			t.Errorf("GET /metrics on metrics.listen = %d, lacks %s", st, series)
		}
		if st, _ := scrape(hc, base+"/metrics", ""); st != 404 {
			t.Errorf("GET /metrics on the main port with metrics.listen set = %d, want 404", st)
		}
	})
}

func TestMigrateCommand(t *testing.T) {
	data := t.TempDir()
	out, _, err := runCmd(t, nil, "migrate", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`schema version \d+ \(was 0\)`).MatchString(out) {
		t.Errorf("migrate = %q", out)
	}
	out, _, err = runCmd(t, nil, "migrate", "--data", data)
	if err != nil || !regexp.MustCompile(`schema version (\d+) \(was \d+\)`).MatchString(out) {
		t.Errorf("second migrate = %q, %v", out, err)
	}
	m := regexp.MustCompile(`schema version (\d+) \(was (\d+)\)`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] {
		t.Errorf("second migrate changed the schema: %q", out)
	}
}

func randReader() io.Reader { return rand.Reader }
