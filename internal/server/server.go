package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/adminapi"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authapi"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/deviceapi"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
	"github.com/twostep-auth/twostep/internal/oidc"
	"github.com/twostep-auth/twostep/internal/reqid"
	"github.com/twostep-auth/twostep/internal/web"
	"github.com/twostep-auth/twostep/internal/web/console"
	"github.com/twostep-auth/twostep/internal/web/invite"
	"github.com/twostep-auth/twostep/internal/web/keys"
	"github.com/twostep-auth/twostep/internal/web/login"
	"github.com/twostep-auth/twostep/internal/web/portal"
	"github.com/twostep-auth/twostep/internal/web/prompt"
	"github.com/twostep-auth/twostep/internal/web/selfbypass"
)

// PoolStats names one database connection pool's statistics.
type PoolStats struct {
	Name              string
	Open, InUse, Idle int
	WaitCount         int64
	WaitDuration      time.Duration
	MaxOpen           int
}

// Deps are everything the handler needs.
type Deps struct {
	Store     mfa.Store
	Logger    *slog.Logger
	Now       func() time.Time
	ClockSkew time.Duration
	Hosts     []string           // extra host names clients may sign
	PoolStats func() []PoolStats // database pool statistics for /metrics; may be nil
	Version   string
	Admin     *admin.Service    // the Admin API's service; nil leaves the Admin API unmounted
	Flow      *authflow.Service // the Auth API's engine; nil serves only ping and check
	Logo      []byte            // the PNG GET /auth/v2/logo answers apps get at activation and the pages show; nil: twostep's own (apps get none)
	// Organization is the name every browser page shows (config
	// organization).
	Organization string
	// Web tunes the browser pages: brand colour and session timeouts
	// (zero values take web's defaults).
	Web WebOptions
	// PublicHost is the API host authenticator apps are told to call.
	PublicHost string
	// MetricsOnMain serves GET /metrics on the main handler; off, it
	// answers 404 there (serve the [Handlers] Metrics handler on a
	// separate listener instead).
	MetricsOnMain bool
	// MetricsToken, when set, is the bearer token every /metrics request
	// must carry ("Authorization: Bearer <token>"), on the main handler and
	// on the separate one alike.
	MetricsToken string
	// Callbacks authenticates the carriers' callbacks (callbacks.go).
	Callbacks Callbacks
	// OIDC tunes the standard OpenID Connect provider (config oidc.*).
	OIDC OIDCOptions
	// Console tunes the administrators' console (config console.*).
	Console ConsoleOptions
	// MountBrowser, when set, adds more pages to the browser surface on
	// its site (tests mount pages under test this way).
	MountBrowser func(site *web.Site, mux *http.ServeMux)
}

// ConsoleOptions are the console's session timeouts (zero: the console's
// defaults), and the development outbox its outbox page reads.
type ConsoleOptions struct {
	IdleTimeout     time.Duration
	SessionLifetime time.Duration
	// ImportHook, for tests, follows the console's background token
	// imports.
	ImportHook console.ImportHook
	// Outbox is set only when the carrier is "outbox" (development): the
	// console then shows what was written there at /console/outbox.
	Outbox *outbox.Outbox
}

// OIDCOptions are the standard OpenID Connect provider's settings.
type OIDCOptions struct {
	KeyRotation     time.Duration // how long a signing key signs (oidc.key_rotation)
	SessionLifetime time.Duration // how old a login single sign-on reuses (oidc.session_lifetime)
}

// WebOptions are the browser pages' settings (config web.*).
type WebOptions struct {
	BrandColor      string
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	HelpContact     string // web.help_contact
}

// Handlers are twostepd's HTTP handlers: Main for the HTTPS port, Metrics
// for a separate metrics listener (metrics.listen).
type Handlers struct {
	Main    http.Handler
	Metrics http.Handler
	// Radius counts the RADIUS front end's drops and answers, on the same
	// registry.
	Radius *RadiusMetrics
}

// New returns twostepd's main HTTP handler.
func New(d Deps) http.Handler { return NewHandlers(d).Main }

// NewHandlers returns the main handler and the metrics handler, which share
// one registry.
func NewHandlers(d Deps) Handlers {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)
	if d.PoolStats != nil {
		reg.MustRegister(poolCollector{stats: d.PoolStats})
	}
	metricsH := metricsHandler(reg, d.MetricsToken)

	mux := http.NewServeMux()
	registerRoutes(mux, d, metricsH)
	return Handlers{Main: chain(mux, d.Logger, m), Metrics: metricsH, Radius: newRadiusMetrics(reg)}
}

func registerRoutes(mux *http.ServeMux, d Deps, metricsH http.Handler) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := d.Store.Ping(ctx); err != nil {
			d.Logger.WarnContext(r.Context(), "not ready", "error", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "reason": readyReason(err)})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ready"})
	})
	if d.MetricsOnMain {
		mux.Handle("GET /metrics", metricsH)
	}

	surface := &api.Surface{Store: d.Store, Now: d.Now, Skew: d.ClockSkew, Hosts: d.Hosts, Logger: d.Logger,
		Signatures: d.Store}
	surface.Failures = api.NewFailureLimiter(api.DefaultFailureLimit, d.Now) // shared by the Auth and Admin APIs
	authapi.New(authapi.Deps{Surface: surface, Now: d.Now, Flow: d.Flow,
		Admin: d.Admin, Logo: d.Logo}).Register(mux)
	if d.Flow != nil {
		var logo string // apps show the configured logo; none: they show their own
		if d.Logo != nil {
			logo = base64.StdEncoding.EncodeToString(d.Logo)
		}
		deviceapi.New(deviceapi.Deps{Flow: d.Flow, Now: d.Now, Logger: d.Logger, PublicHost: d.PublicHost,
			Skew: d.ClockSkew, LogoBase64: logo}).Register(mux)
	}
	if d.Admin != nil {
		adminapi.New(adminapi.Deps{Surface: surface, Service: d.Admin, Now: d.Now}).Register(mux)
	}
	// The Universal Prompt protocol (browser redirects and JWT-authenticated
	// back-channel calls, not HMAC-signed): its own handlers and headers.
	oidcHosts := append([]string(nil), d.Hosts...)
	if d.PublicHost != "" {
		oidcHosts = append(oidcHosts, d.PublicHost)
	}
	oh := oidc.New(oidc.Deps{Store: d.Store, Hosts: oidcHosts, Now: d.Now, Rand: rand.Reader, Logger: d.Logger,
		Failures: surface.Failures})
	oh.Register(mux)
	// The standard OpenID Connect provider, on the same hosts.
	provider := oidc.NewProvider(oh, d.Store, d.OIDC.KeyRotation)
	provider.Register(mux)
	registerCallbacks(mux, d)

	// The browser surface is its own stack (own mux; security headers,
	// sessions in the database, CSRF): whatever the API routes do not
	// match goes to it, except that under the API prefixes an unknown path
	// or method gets Duo's JSON error (fallback.go).
	browser := http.NewServeMux()
	site := web.New(web.Deps{Logger: d.Logger, Sessions: d.Store, Now: d.Now, Rand: rand.Reader,
		Organization: d.Organization, Logo: d.Logo, BrandColor: d.Web.BrandColor,
		SessionIdle: d.Web.SessionIdle, SessionLifetime: d.Web.SessionLifetime, HelpContact: d.Web.HelpContact,
		RequestID: RequestID})
	site.Register(browser)
	if d.Flow != nil {
		// The prompt: where a person completes the second factor of a
		// login an application handed to twostep (oidc's authorize).
		prompt.New(prompt.Deps{Site: site, Flow: d.Flow, Now: d.Now, Logger: d.Logger}).Register(browser)
		// The first factor, when twostep is the whole login (the OIDC
		// provider's authorize sends the browser here).
		login.New(login.Deps{Site: site, Flow: d.Flow, Now: d.Now, SSOLifetime: d.OIDC.SessionLifetime,
			EndSession: provider.EndSession, Logger: d.Logger}).Register(browser)
		if d.Admin != nil {
			// The self-service portal: users manage their own devices;
			// self-service bypass codes (before login; off until an
			// administrator turns them on) and the PIN page they check.
			extra := []web.NavItem{{Label: "Self-service PIN", URL: selfbypass.PINPath}}
			if d.Flow.KeysEnabled() {
				extra = append([]web.NavItem{{Label: "Security keys", URL: keys.ListPath}}, extra...)
			}
			pp := portal.New(portal.Deps{Site: site, Flow: d.Flow, Admin: d.Admin, Now: d.Now, Rand: rand.Reader,
				Logger: d.Logger, Extra: extra, SecurityKeys: d.Flow.KeysEnabled()})
			pp.Register(browser)
			if d.Flow.KeysEnabled() {
				// Security keys and passkeys, inside the portal's sign-in.
				keys.New(keys.Deps{Site: site, Flow: d.Flow, SignedIn: pp.SignedIn, Logger: d.Logger}).Register(browser)
			}
			sb := selfbypass.Deps{Site: site, Flow: d.Flow, Admin: d.Admin, Now: d.Now, Logger: d.Logger}
			selfbypass.New(sb).Register(browser)
			selfbypass.NewPINPage(sb, pp.SignedIn).Register(browser)
			// The administrators' console.
			console.New(console.Deps{Site: site, Admin: d.Admin, Flow: d.Flow, Now: d.Now, IdleTimeout: d.Console.IdleTimeout,
				SessionLifetime: d.Console.SessionLifetime, Logger: d.Logger, ImportHook: d.Console.ImportHook, Outbox: consoleOutbox(d.Console.Outbox)}).Register(browser)
		}
	}
	if d.Admin != nil {
		// Administrator activation links (POST /admin/v1/admins/activations).
		invite.New(site, d.Admin).Register(browser)
	}
	if d.MountBrowser != nil {
		d.MountBrowser(site, browser)
	}
	mux.Handle("/", fallback{api: mux, browser: browser, pages: site.NotFound(browser)})
}

// readyReason is what /readyz may say publicly about a failure: the
// domain message when there is one, never the driver's error text.
func readyReason(err error) string {
	var me *mfa.Error
	if errors.As(err, &me) && me.Msg != "" {
		return me.Msg
	}
	return "database unavailable"
}

// RequestID returns the request id chain() put in ctx (reqid.From).
func RequestID(ctx context.Context) string { return reqid.From(ctx) }

// chain adds, outermost first: request id, panic recovery, metrics.
func chain(next http.Handler, log *slog.Logger, m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(reqid.With(r.Context(), id))
		extendLongPoll(w, r, start)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic serving request", "request_id", id, "route", r.Pattern, "panic", p)
				if !rec.wrote {
					http.Error(rec, `{"stat":"FAIL","code":50000,"message":"Internal server error"}`, http.StatusInternalServerError)
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			m.observe(route, r.Method, rec.status, time.Since(start))
			log.DebugContext(r.Context(), "request", "request_id", id, "route", route, "status", rec.status,
				"duration_ms", time.Since(start).Milliseconds(), "remote_ip", r.RemoteAddr)
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush,
// deadlines for long polls).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// consoleOutbox adapts the development outbox to the console's reader
// (nil: no outbox page).
func consoleOutbox(ob *outbox.Outbox) console.OutboxReader {
	if ob == nil {
		return nil
	}
	return outboxReader{ob}
}

type outboxReader struct{ ob *outbox.Outbox }

func (r outboxReader) OutboxMessages() ([]console.OutboxMessage, error) {
	stored, err := r.ob.List()
	if err != nil {
		return nil, err
	}
	out := make([]console.OutboxMessage, len(stored))
	for i, m := range stored {
		out[i] = console.OutboxMessage{Time: m.Time, Channel: m.Channel, To: m.To, Subject: m.Subject, Body: m.Body}
	}
	return out, nil
}
