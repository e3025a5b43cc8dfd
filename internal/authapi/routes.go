package authapi

import (
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Handler serves the Auth API.
type Handler struct {
	surface *api.Surface
	now     func() time.Time
}

// Deps are the Auth API's dependencies.
type Deps struct {
	Surface *api.Surface // verification settings; Name and Allowed are set here
	Now     func() time.Time
}

// New makes the Auth API handler.
func New(d Deps) *Handler {
	s := *d.Surface
	s.Name = "Auth API"
	s.Allowed = mfa.IntegrationType.IsAuth
	return &Handler{surface: &s, now: d.Now}
}

// Register adds every Auth API route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /auth/v2/ping", h.surface.Unsigned(h.ping))
	mux.Handle("GET /auth/v2/check", h.surface.Handle(h.check))
	mux.Handle("POST /auth/v2/check", h.surface.Handle(h.check))
}
