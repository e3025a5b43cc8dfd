package oidc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Paths.
const (
	HealthCheckPath = "/oauth/v1/health_check"
	AuthorizePath   = "/oauth/v1/authorize"
	ReturnPath      = "/oauth/v1/authorize/return"
	TokenPath       = "/oauth/v1/token"
	DiscoveryPath   = "/.well-known/openid-configuration"
)

// Lifetimes.
const (
	LoginLifetime = 10 * time.Minute // the person's time to finish the prompt
	CodeLifetime  = 60 * time.Second // a code's time to be exchanged
	TokenLifetime = 5 * time.Minute  // the id_token's exp and expires_in
	MaxJWTLife    = 5 * time.Minute  // request objects and client assertions: exp <= now + this
	Leeway        = 60 * time.Second // clock skew allowed on exp
)

// PromptPath is where authorize sends the browser for the second factor
// (mfa.LoginPromptPath; the prompt package serves it).
func PromptPath(id string) string { return mfa.LoginPromptPath(id) }

// Store is what the handlers need from the store (mfa.Store has it all).
type Store interface {
	GetIntegration(ctx context.Context, ikey string) (mfa.Integration, error)
	mfa.LoginRequestStore
	// ClaimSignature refuses a replayed client assertion (its jti).
	ClaimSignature(ctx context.Context, key string, now, expires time.Time) error
	// ListAuthLog finds the decision's record (by txid) for auth_context.
	ListAuthLog(ctx context.Context, f mfa.AuthLogFilter) ([]mfa.AuthLogEntry, int, error)
}

// Deps are the handlers' dependencies.
type Deps struct {
	Store  Store
	Hosts  []string // the public host names clients use (any port is accepted)
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
	// Failures slows down sources whose client assertions keep failing
	// (shared with the signed APIs); nil limits nothing.
	Failures *api.FailureLimiter
}

// Handler serves the Universal Prompt protocol endpoints.
type Handler struct {
	store Store
	hosts []string
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	fails *api.FailureLimiter
}

// New returns the handler.
func New(d Deps) *Handler {
	return &Handler{store: d.Store, hosts: d.Hosts, now: d.Now, rand: d.Rand, log: d.Logger, fails: d.Failures}
}

// Register mounts every route of the Universal Prompt protocol on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST "+HealthCheckPath, h.slowed(true, h.api(h.healthCheck)))
	mux.Handle("GET "+AuthorizePath, h.page(h.authorize))
	mux.Handle("GET "+ReturnPath, h.page(h.authorizeReturn))
	mux.Handle("POST "+TokenPath, h.slowed(false, h.api(h.token)))
	mux.Handle("GET "+DiscoveryPath, h.api(h.discovery))
}

// slowed answers 429 with Retry-After, before any other work, to a source
// whose client assertions have failed too often (the limiter the signed
// APIs use; failures are counted where invalid_client is answered): in
// Duo's envelope for the health check, as an OAuth error for the token
// endpoint.
func (h *Handler) slowed(duoEnvelope bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := h.fails.Allow(r)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		securityHeaders(w)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		detail := fmt.Sprintf("too many failed client authentications from this address; retry in %d s", secs)
		if duoEnvelope {
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"stat": "FAIL", "code": 42901,
				"message": "Too Many Requests", "message_detail": detail, "timestamp": h.now().Unix()})
			return
		}
		writeJSON(w, http.StatusTooManyRequests, &oauthError{Code: "temporarily_unavailable", Description: detail})
	})
}
