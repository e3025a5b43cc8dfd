package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs"
	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/datadir"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

type serveCmd struct{}

// outboxRecheck is how often waiting polls re-read the store while calls
// go to the outbox (answered by another process).
const outboxRecheck = time.Second

func (serveCmd) run(e *env) error {
	cfg, log, dir, unlock, err := e.prepare()
	if err != nil {
		return err
	}
	ctx := e.ctx
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()

	// Held shared for the life of the process: twostepd rekey refuses to
	// run beside a server on this data directory.
	unlockServe, err := dir.LockShared()
	if errors.Is(err, datadir.ErrExclusive) {
		return fmt.Errorf("%w (%s); wait for it to finish", err, dir.Path)
	}
	if err != nil {
		return err
	}
	defer unlockServe()
	st, keys, err := openChecked(ctx, cfg, dir, log)
	if err != nil {
		return err
	}
	defer st.Close()
	tlsConfig, caFile, err := serverTLS(cfg, dir, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	apiHost := apiHost(cfg, ln.Addr())

	// Messages (SMS passcodes, activation links, enrollment emails) go to
	// the outbox directory until a carrier is configured (delivery.go).
	notifier, cb, err := carriers(cfg, dir, apiHost, log)
	if err != nil {
		return err
	}
	ff, err := firstFactor(cfg, log)
	if err != nil {
		return err
	}
	svc := admin.New(st, time.Now, rand.Reader, log, admin.WithNotifier(notifier), admin.WithPublicHost(apiHost),
		admin.WithUserPasswords(admin.PasswordHasher{}, cfg.FirstFactor.MinPasswordLength))
	flowOpts := []authflow.Option{authflow.WithFirstFactor(ff), authflow.WithNotifier(notifier), authflow.WithCustomerName(cfg.Organization),
		authflow.WithEnrollPortal("https://" + apiHost + "/portal/"),
		authflow.WithPollLimits(authflow.DefaultInstallPolls, cfg.RateLimit.StatusPolls),
		authflow.WithCallPrompt(cfg.Delivery.CallPrompt)}
	if keys := securityKeys(cfg.PublicHostnames, ln.Addr(), log); keys != nil {
		flowOpts = append(flowOpts, authflow.WithWebAuthn(keys))
	}
	if cfg.Delivery.Carrier == config.CarrierOutbox {
		// `twostepd outbox answer` answers calls from another process,
		// whose store events this one does not see: re-read sooner.
		flowOpts = append(flowOpts, authflow.WithRecheck(outboxRecheck))
	}
	if cfg.DatabaseKind() == config.Postgres {
		// Several nodes may share PostgreSQL, and each node's in-memory
		// limits see only its own attempts: count attempts in the database
		// too. One SQLite process already sees every attempt, so there the
		// two extra writes per passcode attempt would buy nothing.
		flowOpts = append(flowOpts, authflow.WithDurableLimits(
			authflow.DurableLimit{Limit: cfg.RateLimit.UserPerMinute, Window: time.Minute},
			authflow.DurableLimit{Limit: cfg.RateLimit.IPPerMinute, Window: time.Minute}),
			authflow.WithDurablePushLimit(authflow.DefaultDurablePushLimit))
	}
	flow := authflow.New(st, time.Now, rand.Reader, log, flowOpts...)
	stager := &credentialsFile{path: dir.File(datadir.CredentialsFile), apiHost: apiHost, caFile: caFile}
	if _, created, err := svc.Bootstrap(ctx, stager); err != nil {
		return err
	} else if created {
		log.Info("wrote the first administrator's and integrations' credentials; keep the file safe and delete it once stored elsewhere",
			"path", stager.path)
	}
	unlock()
	unlock = nil

	logo, err := cfg.Logo() // checked by Validate; read once for GET /auth/v2/logo
	if err != nil {
		return err
	}
	consoleOpts := server.ConsoleOptions{IdleTimeout: cfg.Console.IdleTimeout, SessionLifetime: cfg.Console.SessionLifetime}
	if cfg.Delivery.Carrier == config.CarrierOutbox {
		// Development: the console's outbox page reads what carriers()
		// wrote there.
		ob, err := outbox.New(dir.File("outbox"), time.Now)
		if err != nil {
			return err
		}
		consoleOpts.Outbox = ob
	}
	hs := server.NewHandlers(server.Deps{
		Logo:         logo,
		Organization: cfg.Organization,
		Web: server.WebOptions{BrandColor: cfg.Web.BrandColor, SessionIdle: cfg.Web.SessionIdleTimeout,
			SessionLifetime: cfg.Web.SessionLifetime, HelpContact: cfg.Web.HelpContact},
		Store:     st,
		Logger:    log,
		Now:       time.Now,
		ClockSkew: cfg.ClockSkew,
		Hosts:     cfg.PublicHostnames,
		PoolStats: poolStats(st),
		Version:   version,
		Admin:     svc,
		Flow:      flow,

		PublicHost: apiHost,

		// /metrics: on its own listener when metrics.listen is set, else
		// on the main port to holders of metrics.token, else nowhere.
		MetricsOnMain: cfg.Metrics.Listen == "" && cfg.Metrics.Token != "",
		MetricsToken:  cfg.Metrics.Token.Reveal(),
		Callbacks:     cb,
		OIDC:          server.OIDCOptions{KeyRotation: cfg.OIDC.KeyRotation, SessionLifetime: cfg.OIDC.SessionLifetime},
		Console:       consoleOpts,
	})
	srv := server.NewHTTPServer(hs.Main, tlsConfig, log)
	if cfg.Metrics.Listen == "" && cfg.Metrics.Token == "" {
		log.Info("GET /metrics is off: set metrics.listen (a separate address) or metrics.token to serve it")
	}
	stopRadius, err := startRadius(ctx, cfg, st, radiusStateKeys(keys), flow, hs.Radius, log)
	if err != nil {
		return err
	}
	if stopRadius != nil {
		defer stopRadius()
	}
	reaperCtx, stopReaper := context.WithCancel(ctx)
	reaped := make(chan struct{})
	go func() { defer close(reaped); reap(reaperCtx, svc, flow, st, st, log, time.Minute) }()
	defer func() { stopReaper(); <-reaped }()

	var msrv *http.Server
	if cfg.Metrics.Listen != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s (metrics.listen): %w", cfg.Metrics.Listen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", hs.Metrics)
		msrv = server.NewHTTPServer(mux, nil, log)
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener failed", "error", err)
			}
		}()
		defer msrv.Close()
		log.Info("serving metrics", "addr", mln.Addr().String(), "url", "http://"+mln.Addr().String()+"/metrics",
			"token", cfg.Metrics.Token != "")
	}

	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	log.Info("listening", "addr", ln.Addr().String(), "url", "https://"+apiHost, "database", st.Dialect())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// serverTLS loads the operator's certificate, or makes sure the data
// directory has the local CA and a server certificate for the configured
// names. It returns the CA file clients should trust ("" for an operator's
// certificate).
func serverTLS(cfg config.Config, dir *datadir.Dir, log *slog.Logger) (*tls.Config, string, error) {
	certFile, keyFile, caFile := cfg.TLS.Cert, cfg.TLS.Key, ""
	if certFile == "" {
		l, err := certs.EnsureLocal(dir.Path, cfg.PublicHostnames, time.Now(), rand.Reader)
		if err != nil {
			return nil, "", err
		}
		if len(l.Created) > 0 {
			log.Info("made a local certificate authority and server certificate; clients must trust the CA file",
				"ca_file", l.CAFile, "files", len(l.Created))
		}
		certFile, keyFile, caFile = l.CertFile, l.KeyFile, l.CAFile
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("tls certificate %s: %w", certFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, caFile, nil
}

// apiHost is the host:port clients are told to call: the first public host
// name and the port actually bound (which differs from the configured one
// when that is 0).
func apiHost(cfg config.Config, addr net.Addr) string {
	host := "localhost"
	if len(cfg.PublicHostnames) > 0 {
		host = cfg.PublicHostnames[0]
	}
	port := 443
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = tcp.Port
	}
	if port == 443 {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func poolStats(st *sqlstore.Store) func() []server.PoolStats {
	return func() []server.PoolStats {
		var out []server.PoolStats
		for _, p := range st.Stats() {
			out = append(out, server.PoolStats{
				Name: p.Name, Open: p.OpenConnections, InUse: p.InUse, Idle: p.Idle,
				WaitCount: p.WaitCount, WaitDuration: p.WaitDuration, MaxOpen: p.MaxOpenConnections,
			})
		}
		return out
	}
}

// credentialsFile stages and publishes initial-credentials.json (mode
// 0600). Its contents never reach the log.
type credentialsFile struct {
	path    string
	apiHost string
	caFile  string
}

func (c *credentialsFile) staged() string { return c.path + ".staged" }

type keyJSON struct {
	IKey string `json:"ikey"`
	SKey string `json:"skey"`
}

type credentialsJSON struct {
	APIHost  string  `json:"api_host"`
	CAFile   string  `json:"ca_file"`
	AdminAPI keyJSON `json:"admin_api"`
	AuthAPI  keyJSON `json:"auth_api"`
	Owner    struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	} `json:"owner"`
}

func (c *credentialsFile) Stage(cr admin.Credentials) error {
	var out credentialsJSON
	out.APIHost = c.apiHost
	out.CAFile = c.caFile
	out.AdminAPI = keyJSON{cr.AdminAPI.IKey, string(cr.AdminAPI.SKey.Reveal())}
	out.AuthAPI = keyJSON{cr.AuthAPI.IKey, string(cr.AuthAPI.SKey.Reveal())}
	out.Owner.Email = cr.Owner.Email
	out.Owner.Password = string(cr.OwnerPassword)
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return datadir.WriteFileAtomic(c.staged(), append(b, '\n'), 0o600)
}

func (c *credentialsFile) Publish() error {
	if _, err := os.Stat(c.path); err == nil {
		return fmt.Errorf("%s already exists; the new credentials are in %s", c.path, c.staged())
	}
	return os.Rename(c.staged(), c.path)
}

func (c *credentialsFile) Discard() { os.Remove(c.staged()) }

// reap deletes spent and expired bypass codes, activation codes, finished
// transactions, ended browser sessions and expired Universal Prompt logins
// every interval until ctx ends. Use is also refused lazily, so the reaper
// only keeps the tables and the listings clean.
func reap(ctx context.Context, svc *admin.Service, flow *authflow.Service, sessions mfa.SessionStore, logins mfa.LoginRequestStore, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := svc.ReapBypassCodes(ctx); err != nil && ctx.Err() == nil {
			log.Warn("deleting spent bypass codes failed", "error", err)
		} else if n > 0 {
			log.Info("deleted spent and expired bypass codes", "count", n)
		}
		if _, err := svc.ReapActivations(ctx); err != nil && ctx.Err() == nil {
			log.Warn("deleting expired activation codes failed", "error", err)
		}
		if _, err := flow.ReapTransactions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("deleting finished transactions failed", "error", err)
		}
		if _, err := sessions.DeleteExpiredSessions(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("deleting ended browser sessions failed", "error", err)
		}
		if _, err := logins.DeleteExpiredLoginRequests(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("deleting expired Universal Prompt logins failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
