package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// User passwords (twostep's own, docs/first-factor.md): not in Duo's API.
//
//	POST   /admin/v1/users/{user_id}/password   password=...  set (policy-checked, argon2id)
//	DELETE /admin/v1/users/{user_id}/password                 clear
//
// The password travels only in the signed request's body; it is never
// echoed, logged or stored but as its hash.

func (h *Handler) userPasswordRoutes() []route {
	return []route{
		{"POST /admin/v1/users/{user_id}/password", h.setUserPassword},
		{"DELETE /admin/v1/users/{user_id}/password", h.clearUserPassword},
	}
}

func (h *Handler) setUserPassword(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	pw := c.Param("password") // not trimmed: spaces are part of a password
	if pw == "" {
		return duoproto.BadParam("password: required")
	}
	if err := h.svc.SetUserPassword(r.Context(), actor(c), r.PathValue("user_id"), mfa.Passcode(pw)); err != nil {
		return err
	}
	duoproto.WriteOK(w, "")
	return nil
}

func (h *Handler) clearUserPassword(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	if err := h.svc.ClearUserPassword(r.Context(), actor(c), r.PathValue("user_id")); err != nil {
		return err
	}
	duoproto.WriteOK(w, "")
	return nil
}
