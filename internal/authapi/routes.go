package authapi

import (
	"crypto/rand"
	"io"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Handler serves the Auth API.
type Handler struct {
	surface *api.Surface
	flow    *authflow.Service
	tx      TxStore
	rand    io.Reader
	now     func() time.Time
}

// Deps are the Auth API's dependencies.
type Deps struct {
	Surface *api.Surface // verification settings; Name and Allowed are set here
	Now     func() time.Time
	// Flow serves preauth and auth; without it those routes are not
	// registered.
	Flow *authflow.Service
	// Transactions keeps the answers of async legacy auths for
	// /rest/v1/status. Without it, the Surface's store is used when it
	// implements TxStore.
	Transactions TxStore
	// Rand makes txids; crypto/rand when nil.
	Rand io.Reader
}

// New makes the Auth API handler.
func New(d Deps) *Handler {
	s := *d.Surface
	s.Name = "Auth API"
	s.Allowed = mfa.IntegrationType.IsAuth
	h := &Handler{surface: &s, flow: d.Flow, tx: d.Transactions, rand: d.Rand, now: d.Now}
	if h.rand == nil {
		h.rand = rand.Reader
	}
	return h
}

// Register adds every Auth API route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /auth/v2/ping", h.surface.Unsigned(h.ping))
	mux.Handle("GET /auth/v2/check", h.surface.Handle(h.check))
	mux.Handle("POST /auth/v2/check", h.surface.Handle(h.check))
	if h.flow != nil {
		mux.Handle("POST /auth/v2/preauth", h.surface.Handle(h.preauth))
		mux.Handle("POST /auth/v2/auth", h.surface.Handle(h.auth))
		h.registerLegacy(mux) // /rest/v1/*: legacy.go
	}
}
