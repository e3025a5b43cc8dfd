package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/adminclient"
	"github.com/twostep-auth/twostep/internal/datadir"
	"github.com/twostep-auth/twostep/internal/loadgen"
)

// benchCmd is `twostepd bench`: a bounded Auth API load against a running
// twostepd, by default one on this machine (docs/benchmarks.md).
type benchCmd struct {
	Credentials  string        `help:"Credentials file with api_host, ca_file, auth_api and admin_api (default <data>/initial-credentials.json)." placeholder:"FILE"`
	APIHost      string        `name:"api-host" help:"Server host:port (default the credentials file's)." placeholder:"HOST:PORT"`
	CAFile       string        `name:"ca-file" help:"CA certificate(s) to trust, PEM (default the credentials file's)." placeholder:"FILE"`
	AuthIKey     string        `name:"auth-ikey" help:"Auth API integration key (default the credentials file's)." placeholder:"IKEY"`
	AuthSKeyFile string        `name:"auth-skey-file" help:"File holding the Auth API secret key (default the credentials file's)." placeholder:"FILE"`
	Phases       string        `default:"check,passcode,preauth" help:"Phases to run, in order: check (signed GET /auth/v2/check), passcode (logins with HOTP codes), preauth."`
	Clients      int           `default:"16" help:"Concurrent clients (each one HTTP/1.1 connection)." placeholder:"N"`
	Duration     time.Duration `default:"10s" help:"Length of each phase (unless --requests)." placeholder:"D"`
	Requests     int           `help:"Requests per phase, instead of --duration." placeholder:"N"`
	Rate         float64       `help:"Requests a second over all clients, on a fixed schedule (open loop); 0 sends back to back." placeholder:"R"`
	Users        int           `help:"HOTP users to create through the Admin API for the passcode and preauth phases (default: enough for --requests, else 1024)." placeholder:"N"`
	Generated    int           `help:"Preauth users picked at random among the first N that twostepd gen-users wrote, instead of the HOTP users." placeholder:"N"`
	GenPrefix    string        `name:"generated-prefix" default:"gen-" help:"The --prefix gen-users was given." placeholder:"PREFIX"`
	PID          int           `name:"pid" help:"Server process to sample for memory (default: the process listening on the port, if it runs here as this user)." placeholder:"PID"`
	AllowRemote  bool          `name:"allow-remote" help:"Allow a server that is not on a loopback address."`
}

// benchCredentials is what bench reads from initial-credentials.json.
type benchCredentials struct {
	APIHost  string  `json:"api_host"`
	CAFile   string  `json:"ca_file"`
	AdminAPI keyJSON `json:"admin_api"`
	AuthAPI  keyJSON `json:"auth_api"`
}

func (c benchCmd) run(e *env) error {
	phases, err := loadgen.ParsePhases(c.Phases)
	if err != nil {
		return usageError{fmt.Errorf("--phases: %w", err)}
	}
	b := &loadgen.Bench{Clients: c.Clients, Requests: c.Requests, Duration: c.Duration, Rate: c.Rate,
		Users: c.Users, Generated: c.Generated, GenPrefix: c.GenPrefix}
	if err := b.Check(); err != nil {
		return usageError{err}
	}
	if c.PID < 0 {
		return usageError{fmt.Errorf("--pid %d: want a process id", c.PID)}
	}

	// Credentials: the file, then the flags.
	var cr benchCredentials
	path, explicit := c.Credentials, c.Credentials != ""
	if !explicit {
		path = filepath.Join(adminDataDir(e.cli, e.getenv), datadir.CredentialsFile)
	}
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &cr); err != nil {
			return fmt.Errorf("credentials file %s: %w", path, err)
		}
	} else if explicit || c.APIHost == "" || c.AuthIKey == "" || c.AuthSKeyFile == "" {
		return fmt.Errorf("credentials file: %w (give --credentials, --data, or --api-host, --auth-ikey and --auth-skey-file)", err)
	}
	if c.APIHost != "" {
		cr.APIHost = c.APIHost
	}
	if c.CAFile != "" {
		cr.CAFile = c.CAFile
	}
	if c.AuthIKey != "" {
		cr.AuthAPI.IKey = c.AuthIKey
	}
	if c.AuthSKeyFile != "" {
		s, err := readSecretFile(c.AuthSKeyFile)
		if err != nil {
			return fmt.Errorf("--auth-skey-file: %w", err)
		}
		cr.AuthAPI.SKey = s
	}
	if cr.APIHost == "" || cr.AuthAPI.IKey == "" || cr.AuthAPI.SKey == "" {
		return usageError{errors.New("no Auth API credentials: need an API host, an integration key and a secret key")}
	}
	host := strings.TrimSuffix(strings.TrimPrefix(cr.APIHost, "https://"), "/")
	name, portStr, err := net.SplitHostPort(host)
	if err != nil {
		name, portStr = host, "443"
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return usageError{fmt.Errorf("API host %q: bad port", host)}
	}
	dialIP := ""
	switch ip := net.ParseIP(name); {
	case strings.EqualFold(name, "localhost"):
		dialIP = "127.0.0.1"
	case ip != nil && ip.IsLoopback():
		dialIP = ip.String()
	case !c.AllowRemote:
		return usageError{fmt.Errorf("API host %q is not a loopback address: bench loads only a server on this machine unless --allow-remote is given", host)}
	}

	var pool *x509.CertPool
	if cr.CAFile != "" {
		pem, err := os.ReadFile(cr.CAFile)
		if err != nil {
			return fmt.Errorf("CA file: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("CA file %s holds no PEM certificate", cr.CAFile)
		}
	}
	const setupConc = 32
	authTr := loadgen.NewDuoTransport(loadgen.Transport(pool, c.Clients, dialIP))
	setupTr := loadgen.Transport(pool, setupConc, dialIP)
	defer authTr.Base.CloseIdleConnections()
	defer setupTr.CloseIdleConnections()
	b.Auth = loadgen.DuoClient(host, cr.AuthAPI.IKey, cr.AuthAPI.SKey, authTr)
	b.AuthTr = authTr
	if b.NeedsUsers(phases) {
		if cr.AdminAPI.IKey == "" || cr.AdminAPI.SKey == "" {
			return errors.New("the passcode and preauth phases create users through the Admin API: the credentials file needs admin_api (or use --phases check, or --generated for preauth)")
		}
		if b.Admin, err = adminclient.New(adminclient.Config{Host: host, IKey: cr.AdminAPI.IKey, SKey: cr.AdminAPI.SKey, Transport: setupTr}); err != nil {
			return err
		}
	}

	pid := c.PID
	if pid == 0 && dialIP != "" {
		if p, err := loadgen.ListenerPID(port); err == nil {
			pid = p
		} else {
			fmt.Fprintf(e.stderr, "bench: server memory not sampled: %v\n", err)
		}
	}
	if pid > 0 {
		if _, err := loadgen.ProcRSS(pid); err != nil {
			return fmt.Errorf("--pid %d: %w", pid, err)
		}
		b.RSS = func() (int64, error) { return loadgen.ProcRSS(pid) }
	}

	bound := fmt.Sprintf("%v a phase", c.Duration)
	if c.Requests > 0 {
		bound = fmt.Sprintf("%d requests a phase", c.Requests)
	}
	rate := "back to back"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%.0f/s open loop", c.Rate)
	}
	fmt.Fprintf(e.stdout, "bench %s: %d clients, %s, %s; phases %s\n", host, c.Clients, bound, rate, strings.Join(phases, ", "))
	if pid > 0 {
		fmt.Fprintf(e.stdout, "server process %d\n", pid)
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(e.stdout, "load average before: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	ctx := e.ctx
	if b.NeedsUsers(phases) {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		err := b.Setup(sctx, setupConc)
		cancel()
		if err != nil {
			return fmt.Errorf("creating the load users: %w", err)
		}
		setupTr.CloseIdleConnections()
		fmt.Fprintf(e.stdout, "created %d HOTP users (%s-*) in %v\n", len(b.LoadUsers()), b.Prefix, time.Since(start).Round(time.Millisecond))
	}
	var results []loadgen.Result
	failed := 0
	for _, p := range phases {
		// A phase ends by itself; the timeout bounds a stuck server.
		limit := c.Duration + 2*time.Minute
		if c.Requests > 0 {
			limit = time.Hour
		}
		pctx, cancel := context.WithTimeout(ctx, limit)
		r, err := b.Run(pctx, p)
		cancel()
		if err != nil {
			return fmt.Errorf("phase %s: %w", p, err)
		}
		results = append(results, r)
		failed += r.Failed()
	}
	loadgen.Report(e.stdout, results)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(e.stdout, "load average after: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return nil
}
