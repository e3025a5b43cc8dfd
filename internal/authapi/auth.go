package authapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

type authResponse struct {
	Result    string `json:"result"`
	Status    string `json:"status"`
	StatusMsg string `json:"status_msg"`
}

// auth answers POST /auth/v2/auth synchronously. factor=passcode and
// factor=sms (with device: a phone id or "auto"; it sends new SMS passcodes
// and answers deny with status "sent") are served, and async is ignored for
// them, as they are decided at once; the other factors answer 400 naming
// factor.
func (h *Handler) auth(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	res, err := h.flow.Auth(r.Context(), authflow.AuthRequest{
		Integration: c.Integration,
		Who:         authflow.Who{Username: c.Param("username"), UserID: c.Param("user_id")},
		Factor:      mfa.Factor(c.Param("factor")),
		Passcode:    mfa.Passcode(c.Param("passcode")),
		Device:      c.Param("device"),
		IP:          c.Param("ipaddr"),
		Hostname:    c.Param("hostname"),
	})
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, authResponse{Result: res.Result, Status: res.Status, StatusMsg: res.StatusMsg})
	return nil
}
