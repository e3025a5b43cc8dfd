package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Remembered devices (a twostep extension; Duo's Admin API has no
// endpoint for them): forgetting a user's makes every application ask
// them for the second step again.

func (h *Handler) trustedRoutes() []route {
	return []route{
		{"DELETE /admin/v1/users/{user_id}/trusted_devices", h.forgetTrustedDevices},
	}
}

type forgetTrustedResponse struct {
	Deleted int `json:"deleted"`
}

// forgetTrustedDevices answers {"deleted": N}, the number of remembered
// devices revoked; an unknown user is 404/40401.
func (h *Handler) forgetTrustedDevices(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	n, err := h.svc.ForgetTrustedDevices(r.Context(), actor(c), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, forgetTrustedResponse{Deleted: n})
	return nil
}
