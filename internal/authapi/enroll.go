package authapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Enrollment through the Auth API (DUO-WIRE.md 2): enroll creates a user
// and an activation code for the authenticator app; the application shows
// the QR code (activation_barcode) and polls enroll_status until the app
// has redeemed the code. The admin service does the work (and writes the
// administrator log, naming the integration).

type enrollResponse struct {
	ActivationBarcode string `json:"activation_barcode"`
	ActivationCode    string `json:"activation_code"`
	ActivationURL     string `json:"activation_url"`
	Expiration        int64  `json:"expiration"`
	UserID            string `json:"user_id"`
	Username          string `json:"username"`
}

// enroll answers POST /auth/v2/enroll: username (optional: a random
// unused one when absent or empty; an existing one is 400 "username:
// already exists"), valid_secs (optional, default 86400, at most 30
// days). bypass_codes (duo_client_python's) is refused: bypass codes are
// the Admin API's.
func (h *Handler) enroll(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	if _, ok := c.Params.Params["bypass_codes"]; ok {
		return duoproto.BadParam("bypass_codes: not supported; create bypass codes with the Admin API")
	}
	var secs *int
	if _, ok := c.Params.Params["valid_secs"]; ok {
		v := strings.TrimSpace(c.Param("valid_secs"))
		n, err := strconv.Atoi(v)
		if err != nil {
			return duoproto.BadParam("valid_secs: " + strconv.Quote(v) + " is not a whole number of seconds")
		}
		secs = &n
	}
	u, link, err := h.admin.EnrollByIntegration(r.Context(), c.Integration, c.Param("username"), secs)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, enrollResponse{
		ActivationBarcode: link.Barcode,
		ActivationCode:    string(link.Code),
		ActivationURL:     link.URL,
		Expiration:        link.Expires.Unix(),
		UserID:            u.ID,
		Username:          u.Username,
	})
	return nil
}

// enrollStatus answers POST /auth/v2/enroll_status: user_id and
// activation_code (as enroll gave it, or without the duo:// prefix and
// the -host suffix), both required. The answer is a bare string:
// "success", "waiting" or "invalid".
func (h *Handler) enrollStatus(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	userID, code := strings.TrimSpace(c.Param("user_id")), strings.TrimSpace(c.Param("activation_code"))
	switch {
	case userID == "":
		return duoproto.MissingParam("user_id")
	case code == "":
		return duoproto.MissingParam("activation_code")
	}
	status, err := h.admin.EnrollStatus(r.Context(), c.Integration, userID, code)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, status)
	return nil
}
