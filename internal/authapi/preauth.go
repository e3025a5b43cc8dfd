package authapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

type deviceJSON struct {
	Device       string   `json:"device"`
	Type         string   `json:"type"`
	Number       string   `json:"number"`
	Name         string   `json:"name"`
	DisplayName  string   `json:"display_name"`
	Capabilities []string `json:"capabilities"`
	SMSNextCode  string   `json:"sms_nextcode,omitempty"`
}

type preauthResponse struct {
	Result          string       `json:"result"`
	StatusMsg       string       `json:"status_msg"`
	Devices         []deviceJSON `json:"devices,omitempty"`
	EnrollPortalURL *string      `json:"enroll_portal_url,omitempty"`
}

// preauth answers POST /auth/v2/preauth: username or user_id; ipaddr and
// hostname optional. trusted_device_token and
// client_supports_verified_push are accepted and ignored for now.
func (h *Handler) preauth(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	res, err := h.flow.Preauth(r.Context(), authflow.PreauthRequest{
		Integration: c.Integration,
		Who:         authflow.Who{Username: c.Param("username"), UserID: c.Param("user_id")},
		IP:          c.Param("ipaddr"),
		Hostname:    c.Param("hostname"),
	})
	if err != nil {
		return err
	}
	out := preauthResponse{Result: res.Result, StatusMsg: res.StatusMsg}
	switch res.Result {
	case authflow.ResultAuth:
		out.Devices = make([]deviceJSON, 0, len(res.Devices))
		for _, d := range res.Devices {
			caps := make([]string, 0, len(d.Capabilities))
			for _, c := range d.Capabilities {
				caps = append(caps, string(c))
			}
			out.Devices = append(out.Devices, deviceJSON{Device: d.ID, Type: d.Type, Number: d.Number,
				Name: d.Name, DisplayName: d.DisplayName, Capabilities: caps, SMSNextCode: d.SMSNextCode})
		}
	case authflow.ResultEnroll:
		u := res.EnrollPortalURL
		out.EnrollPortalURL = &u
	}
	duoproto.WriteOK(w, out)
	return nil
}
