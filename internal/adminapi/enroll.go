package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
)

// enrollUser emails an enrollment link (POST /admin/v1/users/enroll:
// username, email, valid_secs; default 7 days) and answers Duo's empty
// string. The route is listed in activationRoutes.
func (h *Handler) enrollUser(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	req := admin.EnrollRequest{Username: c.Param("username"), Email: c.Param("email")}
	var err error
	if req.ValidSecs, err = optInt(c, "valid_secs"); err != nil {
		return err
	}
	return empty(w, h.svc.EnrollUser(r.Context(), actor(c), req))
}
