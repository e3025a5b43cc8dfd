package oidc

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

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
}

// Handler serves the Universal Prompt protocol endpoints.
type Handler struct {
	store Store
	hosts []string
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
}

// New returns the handler.
func New(d Deps) *Handler {
	return &Handler{store: d.Store, hosts: d.Hosts, now: d.Now, rand: d.Rand, log: d.Logger}
}

// Register mounts every route of the Universal Prompt protocol on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST "+HealthCheckPath, h.api(h.healthCheck))
	mux.Handle("GET "+AuthorizePath, h.page(h.authorize))
	mux.Handle("GET "+ReturnPath, h.page(h.authorizeReturn))
	mux.Handle("POST "+TokenPath, h.api(h.token))
	mux.Handle("GET "+DiscoveryPath, h.api(h.discovery))
}
