package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Activations and SMS (DUO-WIRE.md 3.2, 3.3): activation links for a phone,
// sent by SMS or returned to the caller; the installation link by SMS; a
// new batch of SMS passcodes; and enrollment by email (enroll.go). The
// links point at internal/web's pages on the server's public host.
func (h *Handler) activationRoutes() []route {
	return []route{
		{"POST /admin/v1/phones/{phone_id}/activation_url", h.activationURL},
		{"POST /admin/v1/phones/{phone_id}/send_sms_activation", h.sendSMSActivation},
		{"POST /admin/v1/phones/{phone_id}/send_sms_installation", h.sendSMSInstallation},
		{"POST /admin/v1/phones/{phone_id}/send_sms_passcodes", h.sendSMSPasscodes},
		{"POST /admin/v1/users/enroll", h.enrollUser},
	}
}

// activationRequest reads valid_secs, install, activation_msg and
// installation_msg.
func activationRequest(c *api.Caller) (admin.ActivationRequest, error) {
	var req admin.ActivationRequest
	var err error
	if req.ValidSecs, err = optInt(c, "valid_secs"); err != nil {
		return req, err
	}
	if req.Install, err = boolParam(c, "install", false); err != nil {
		return req, err
	}
	req.ActivationMsg = optString(c, "activation_msg")
	req.InstallationMsg = optString(c, "installation_msg")
	return req, nil
}

// activationURLObject is activation_url's answer; installation_url only
// when install was asked.
type activationURLObject struct {
	ActivationURL     string `json:"activation_url"`
	ActivationBarcode string `json:"activation_barcode"`
	ValidSecs         int    `json:"valid_secs"`
	InstallationURL   string `json:"installation_url,omitempty"`
}

func (h *Handler) activationURL(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	req, err := activationRequest(c)
	if err != nil {
		return err
	}
	l, err := h.svc.ActivationURL(r.Context(), actor(c), r.PathValue("phone_id"), req)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, activationURLObject{ActivationURL: l.URL, ActivationBarcode: l.Barcode,
		ValidSecs: l.ValidSecs, InstallationURL: l.InstallURL})
	return nil
}

type smsActivationObject struct {
	ActivationBarcode string `json:"activation_barcode"`
	ActivationMsg     string `json:"activation_msg"`
	InstallationMsg   string `json:"installation_msg"`
	ValidSecs         int    `json:"valid_secs"`
}

func (h *Handler) sendSMSActivation(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	req, err := activationRequest(c)
	if err != nil {
		return err
	}
	out, err := h.svc.SendSMSActivation(r.Context(), actor(c), r.PathValue("phone_id"), req)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, smsActivationObject{ActivationBarcode: out.Barcode, ActivationMsg: out.ActivationMsg,
		InstallationMsg: out.InstallationMsg, ValidSecs: out.ValidSecs})
	return nil
}

type smsInstallationObject struct {
	InstallationMsg string `json:"installation_msg"`
}

func (h *Handler) sendSMSInstallation(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	msg, err := h.svc.SendSMSInstallation(r.Context(), actor(c), r.PathValue("phone_id"), optString(c, "installation_msg"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, smsInstallationObject{InstallationMsg: msg})
	return nil
}

func (h *Handler) sendSMSPasscodes(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return empty(w, h.svc.SendSMSPasscodes(r.Context(), actor(c), r.PathValue("phone_id")))
}
