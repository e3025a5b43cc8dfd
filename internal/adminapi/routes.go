package adminapi

import (
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Handler serves the Admin API.
type Handler struct {
	surface *api.Surface
	svc     *admin.Service
	now     func() time.Time
}

// Deps are the Admin API's dependencies.
type Deps struct {
	Surface *api.Surface // verification settings; Name and Allowed are set here
	Service *admin.Service
	Now     func() time.Time
}

// New makes the Admin API handler.
func New(d Deps) *Handler {
	s := *d.Surface
	s.Name = "Admin API"
	s.Allowed = func(t mfa.IntegrationType) bool { return t == mfa.IntegrationAdminAPI }
	return &Handler{surface: &s, svc: d.Service, now: d.Now}
}

// route is one Admin API endpoint.
type route struct {
	pattern string
	handler api.HandlerFunc
}

// Routes lists every Admin API endpoint: one place to see the surface.
func (h *Handler) Routes() []route {
	var rs []route
	rs = append(rs, h.userRoutes()...)
	rs = append(rs, h.groupRoutes()...)
	rs = append(rs, h.userPasswordRoutes()...)
	rs = append(rs, h.identityRoutes()...)
	rs = append(rs, h.trustedRoutes()...)
	rs = append(rs, h.phoneRoutes()...)
	rs = append(rs, h.activationRoutes()...)
	rs = append(rs, h.tokenRoutes()...)
	rs = append(rs, h.webauthnRoutes()...)
	rs = append(rs, h.bypassRoutes()...)
	rs = append(rs, h.adminRoutes()...)
	rs = append(rs, h.integrationRoutes()...)
	rs = append(rs, h.settingsRoutes()...)
	rs = append(rs, h.logRoutes()...)
	rs = append(rs, h.infoRoutes()...)
	return rs
}

// Register adds every Admin API route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, r := range h.Routes() {
		mux.Handle(r.pattern, h.surface.Handle(r.handler, listParams(r.pattern)...))
	}
}

// listParams names the parameters a route documents as lists, which may
// be sent several times (listParam, parseNextOffset); the surface refuses
// every other repeated parameter with 40002.
func listParams(pattern string) []string {
	switch pattern {
	case "GET /admin/v1/users":
		return []string{"user_id_list", "username_list"}
	case "GET /admin/v2/logs/authentication":
		return append([]string{"users", "applications", "results", "reasons", "factors", "groups", "next_offset",
			"event_types", "phone_numbers", "token_id"},
			unsupportedAuthLogFilters...) // refused by name, not as repeats
	}
	return nil
}

// actor is the calling integration as the service's actor.
func actor(c *api.Caller) admin.Actor { return admin.IntegrationActor(c.Integration) }
