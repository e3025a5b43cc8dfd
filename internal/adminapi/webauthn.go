package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Security keys and passkeys: Duo's WebAuthn credential endpoints. Users
// register keys themselves (the portal); administrators list and remove
// them. Removing a user's key is how a key marked cloned is cleared.

func (h *Handler) webauthnRoutes() []route {
	return []route{
		{"GET /admin/v1/webauthncredentials", h.listWebAuthn},
		{"GET /admin/v1/webauthncredentials/{webauthnkey}", h.getWebAuthn},
		{"DELETE /admin/v1/webauthncredentials/{webauthnkey}", h.deleteWebAuthn},
		{"GET /admin/v1/users/{user_id}/webauthncredentials", h.listUserWebAuthn},
	}
}

func webauthnObjects(ws []admin.WebAuthnInfo, withUser bool) []webauthnObject {
	out := make([]webauthnObject, 0, len(ws))
	for _, w := range ws {
		var u *mfa.User
		if withUser {
			u = &w.User
		}
		out = append(out, newWebAuthnObject(w.Credential, u))
	}
	return out
}

func (h *Handler) listWebAuthn(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, 500)
	if err != nil {
		return err
	}
	ws, total, err := h.svc.ListWebAuthn(r.Context(), actor(c), mfa.WebAuthnFilter{Page: p})
	if err != nil {
		return err
	}
	duoproto.WriteOKMeta(w, webauthnObjects(ws, true), pageMetadata(p, len(ws), total))
	return nil
}

func (h *Handler) getWebAuthn(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	wi, err := h.svc.GetWebAuthn(r.Context(), actor(c), r.PathValue("webauthnkey"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newWebAuthnObject(wi.Credential, &wi.User))
	return nil
}

func (h *Handler) deleteWebAuthn(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteWebAuthn(r.Context(), actor(c), r.PathValue("webauthnkey")))
}

func (h *Handler) listUserWebAuthn(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, 500)
	if err != nil {
		return err
	}
	ws, total, err := h.svc.ListWebAuthn(r.Context(), actor(c), mfa.WebAuthnFilter{UserID: r.PathValue("user_id"), Page: p})
	if err != nil {
		return err
	}
	duoproto.WriteOKMeta(w, webauthnObjects(ws, false), pageMetadata(p, len(ws), total))
	return nil
}
