package adminapi

import (
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Phones: DUO-WIRE.md 3.3. The activation and SMS endpoints are in
// activations.go. predelay and postdelay are accepted and ignored
// (twostep's calls do not pause).

// maxListLimit is the largest limit of most lists.
const maxListLimit = 500

func (h *Handler) phoneRoutes() []route {
	return []route{
		{"GET /admin/v1/phones", h.listPhones},
		{"POST /admin/v1/phones", h.createPhone},
		{"GET /admin/v1/phones/{phone_id}", h.getPhone},
		{"POST /admin/v1/phones/{phone_id}", h.modifyPhone},
		{"DELETE /admin/v1/phones/{phone_id}", h.deletePhone},
	}
}

func (h *Handler) listPhones(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	f := mfa.PhoneFilter{Page: p, Number: strings.TrimSpace(c.Param("number")), Extension: strings.TrimSpace(c.Param("extension"))}
	phones, total, err := h.svc.ListPhones(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := make([]phoneObject, 0, len(phones))
	for _, ph := range phones {
		out = append(out, newPhoneObject(ph.Phone, ph.Users))
	}
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func phoneFields(c *api.Caller) admin.PhoneFields {
	return admin.PhoneFields{Number: optString(c, "number"), Name: optString(c, "name"),
		Extension: optString(c, "extension"), Type: optString(c, "type"), Platform: optString(c, "platform"),
		PreDelay: optString(c, "predelay"), PostDelay: optString(c, "postdelay")}
}

func (h *Handler) createPhone(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	ph, err := h.svc.CreatePhone(r.Context(), actor(c), phoneFields(c))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newPhoneObject(ph.Phone, ph.Users))
	return nil
}

func (h *Handler) getPhone(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	ph, err := h.svc.GetPhone(r.Context(), actor(c), r.PathValue("phone_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newPhoneObject(ph.Phone, ph.Users))
	return nil
}

func (h *Handler) modifyPhone(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	ph, err := h.svc.UpdatePhone(r.Context(), actor(c), r.PathValue("phone_id"), phoneFields(c))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newPhoneObject(ph.Phone, ph.Users))
	return nil
}

func (h *Handler) deletePhone(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeletePhone(r.Context(), actor(c), r.PathValue("phone_id")))
}
