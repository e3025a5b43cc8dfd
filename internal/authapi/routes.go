package authapi

import (
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Handler serves the Auth API.
type Handler struct {
	surface *api.Surface
	flow    *authflow.Service
	now     func() time.Time
	admin   *admin.Service // enroll, enroll_status; nil leaves them unregistered
	logoPNG []byte         // GET /auth/v2/logo; nil answers twostep's own
}

// Deps are the Auth API's dependencies.
type Deps struct {
	Surface *api.Surface // verification settings; Name and Allowed are set here
	Now     func() time.Time
	// Flow serves preauth and auth; without it those routes are not
	// registered.
	Flow *authflow.Service
	// Admin creates users and activations for /auth/v2/enroll and reports
	// on them for enroll_status; without it those routes are not
	// registered.
	Admin *admin.Service
	// Logo is the PNG /auth/v2/logo answers (config logo_file, checked at
	// load); nil answers twostep's own logo.
	Logo []byte
}

// New makes the Auth API handler.
func New(d Deps) *Handler {
	s := *d.Surface
	s.Name = "Auth API"
	s.Allowed = mfa.IntegrationType.IsAuth
	h := &Handler{surface: &s, flow: d.Flow, now: d.Now}
	h.admin, h.logoPNG = d.Admin, d.Logo
	return h
}

// Register adds every Auth API route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /auth/v2/ping", h.surface.Unsigned(h.ping))
	mux.Handle("GET /auth/v2/check", h.surface.Handle(h.check))
	mux.Handle("POST /auth/v2/check", h.surface.HandleRead(h.check))
	mux.Handle("GET /auth/v2/logo", h.surface.Handle(h.logo)) // logo.go
	if h.admin != nil {
		mux.Handle("POST /auth/v2/enroll", h.surface.Handle(h.enroll))                  // enroll.go
		mux.Handle("POST /auth/v2/enroll_status", h.surface.HandleRead(h.enrollStatus)) // enroll.go
	}
	if h.flow != nil {
		mux.Handle("POST /auth/v2/preauth", h.surface.HandleRead(h.preauth))
		mux.Handle("POST /auth/v2/auth", h.surface.HandleDecision(h.auth))
		mux.Handle("GET /auth/v2/auth_status", h.surface.Handle(h.authStatus))
		h.registerLegacy(mux) // /rest/v1/*: legacy.go
	}
}
