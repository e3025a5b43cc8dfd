package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Bypass codes (DUO-WIRE.md 3.5). No endpoint changes a code's uses or
// expiry: a code is created, used, listed (never with its value) or
// deleted.
func (h *Handler) bypassRoutes() []route {
	return []route{
		{"POST /admin/v1/users/{user_id}/bypass_codes", h.createBypassCodes},
		{"GET /admin/v1/users/{user_id}/bypass_codes", h.listUserBypassCodes},
		{"GET /admin/v1/bypass_codes", h.listBypassCodes},
		{"GET /admin/v1/bypass_codes/{bypass_code_id}", h.getBypassCode},
		{"DELETE /admin/v1/bypass_codes/{bypass_code_id}", h.deleteBypassCode},
	}
}

// createBypassCodes answers the new codes as a JSON array of strings, the
// only time they are ever shown.
func (h *Handler) createBypassCodes(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	var req admin.BypassRequest
	var err error
	if req.Count, err = optInt(c, "count"); err != nil {
		return err
	}
	req.Codes = optString(c, "codes")
	if req.ReuseCount, err = optInt(c, "reuse_count"); err != nil {
		return err
	}
	if req.ValidSecs, err = optInt64Param(c, "valid_secs"); err != nil {
		return err
	}
	if req.PreserveExisting, err = boolParam(c, "preserve_existing", false); err != nil {
		return err
	}
	codes, err := h.svc.CreateBypassCodes(r.Context(), actor(c), r.PathValue("user_id"), req)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, codes)
	return nil
}

func bypassObjects(bs []admin.BypassInfo) []bypassObject {
	out := make([]bypassObject, 0, len(bs))
	for _, b := range bs {
		out = append(out, newBypassObject(b.Code, b.User))
	}
	return out
}

func (h *Handler) listUserBypassCodes(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return h.writeBypassList(w, r, c, r.PathValue("user_id"))
}

func (h *Handler) listBypassCodes(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return h.writeBypassList(w, r, c, "")
}

func (h *Handler) writeBypassList(w http.ResponseWriter, r *http.Request, c *api.Caller, userID string) error {
	p, err := page(c, 500)
	if err != nil {
		return err
	}
	bs, total, err := h.svc.ListBypassCodes(r.Context(), actor(c), userID, p)
	if err != nil {
		return err
	}
	duoproto.WriteOKMeta(w, bypassObjects(bs), pageMetadata(p, len(bs), total))
	return nil
}

func (h *Handler) getBypassCode(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	b, err := h.svc.GetBypassCode(r.Context(), actor(c), r.PathValue("bypass_code_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newBypassObject(b.Code, b.User))
	return nil
}

func (h *Handler) deleteBypassCode(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteBypassCode(r.Context(), actor(c), r.PathValue("bypass_code_id")))
}
