package adminapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Hardware tokens (DUO-WIRE.md 3.4) and their association with users.
func (h *Handler) tokenRoutes() []route {
	return []route{
		{"POST /admin/v1/tokens", h.createToken},
		{"GET /admin/v1/tokens", h.listTokens},
		{"GET /admin/v1/tokens/{token_id}", h.getToken},
		{"POST /admin/v1/tokens/{token_id}", h.updateToken},
		{"DELETE /admin/v1/tokens/{token_id}", h.deleteToken},
		{"POST /admin/v1/tokens/{token_id}/resync", h.resyncToken},
		{"GET /admin/v1/users/{user_id}/tokens", h.listUserTokens},
		{"POST /admin/v1/users/{user_id}/tokens", h.attachToken},
		{"DELETE /admin/v1/users/{user_id}/tokens/{token_id}", h.detachToken},
	}
}

// optInt64Param is optInt (params.go) for 64-bit values.
func optInt64Param(c *api.Caller, name string) (*int64, error) {
	if !has(c, name) {
		return nil, nil
	}
	v := strings.TrimSpace(c.Param(name))
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, badParam(name, "%q is not an integer", v)
	}
	return &n, nil
}

func tokenObjects(ts []admin.TokenInfo) []tokenObject {
	out := make([]tokenObject, 0, len(ts))
	for _, t := range ts {
		out = append(out, newTokenObject(t.Token, t.Users))
	}
	return out
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	nt := admin.NewToken{
		Type: mfa.TokenType(c.Param("type")), Serial: c.Param("serial"), Secret: c.Param("secret"),
		PrivateID: c.Param("private_id"), AESKey: c.Param("aes_key"),
	}
	if has(c, "counter") {
		v := strings.TrimSpace(c.Param("counter"))
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return badParam("counter", "must be a non-negative integer")
		}
		nt.Counter = &n
	}
	step, err := optInt(c, "totp_step")
	if err != nil {
		return err
	}
	nt.TOTPStep = step
	t, err := h.svc.CreateToken(r.Context(), actor(c), nt)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newTokenObject(t, []mfa.User{}))
	return nil
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, 500)
	if err != nil {
		return err
	}
	f := mfa.TokenFilter{Type: mfa.TokenType(strings.TrimSpace(c.Param("type"))), Serial: strings.TrimSpace(c.Param("serial")), Page: p}
	ts, total, err := h.svc.ListTokens(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	duoproto.WriteOKMeta(w, tokenObjects(ts), pageMetadata(p, len(ts), total))
	return nil
}

func (h *Handler) getToken(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	t, err := h.svc.GetToken(r.Context(), actor(c), r.PathValue("token_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newTokenObject(t.Token, t.Users))
	return nil
}

func (h *Handler) updateToken(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	step, err := optInt(c, "totp_step")
	if err != nil {
		return err
	}
	t, err := h.svc.UpdateToken(r.Context(), actor(c), r.PathValue("token_id"), admin.TokenUpdate{TOTPStep: step})
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newTokenObject(t.Token, t.Users))
	return nil
}

func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteToken(r.Context(), actor(c), r.PathValue("token_id")))
}

func (h *Handler) resyncToken(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	codes := [3]string{c.Param("code1"), c.Param("code2"), c.Param("code3")}
	if err := h.svc.ResyncToken(r.Context(), actor(c), r.PathValue("token_id"), codes); err != nil {
		return err
	}
	duoproto.WriteOK(w, "")
	return nil
}

func (h *Handler) listUserTokens(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, 500)
	if err != nil {
		return err
	}
	ts, err := h.svc.UserTokens(r.Context(), actor(c), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	total := len(ts)
	ts = pageOf(ts, p)
	duoproto.WriteOKMeta(w, tokenObjects(ts), pageMetadata(p, len(ts), total))
	return nil
}

func (h *Handler) attachToken(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	id, err := required(c, "token_id")
	if err != nil {
		return err
	}
	return empty(w, h.svc.AttachToken(r.Context(), actor(c), r.PathValue("user_id"), id))
}

func (h *Handler) detachToken(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return empty(w, h.svc.DetachToken(r.Context(), actor(c), r.PathValue("user_id"), r.PathValue("token_id")))
}
