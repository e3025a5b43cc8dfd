package authapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
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
	// BypassCodes is present only when the request asked for codes
	// (duo_client_python's enroll(bypass_codes=N)).
	BypassCodes []string `json:"bypass_codes,omitempty"`
}

// enroll answers POST /auth/v2/enroll: username (optional: a random
// unused one when absent or empty; an existing one is 400 "username:
// already exists"), valid_secs (optional, default 86400, at most 30
// days), bypass_codes (optional, duo_client_python's: 1 to 10 single-use
// bypass codes for the new user, expiring with the activation; see
// admin.AuthEnroll for the rules).
func (h *Handler) enroll(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	var secs, codes *int
	if _, ok := c.Params.Params["valid_secs"]; ok {
		v := strings.TrimSpace(c.Param("valid_secs"))
		n, err := strconv.Atoi(v)
		if err != nil {
			return duoproto.BadParam("valid_secs: " + strconv.Quote(v) + " is not a whole number of seconds")
		}
		secs = &n
	}
	if _, ok := c.Params.Params["bypass_codes"]; ok {
		v := strings.TrimSpace(c.Param("bypass_codes"))
		n, err := strconv.Atoi(v)
		if err != nil {
			return duoproto.BadParam("bypass_codes: " + strconv.Quote(v) + " is not a whole number of codes")
		}
		codes = &n
	}
	e, err := h.admin.AuthEnroll(r.Context(), c.Integration, admin.AuthEnrollRequest{Username: c.Param("username"),
		ValidSecs: secs, BypassCodes: codes})
	if err != nil {
		return err
	}
	u, link := e.User, e.Link
	duoproto.WriteOK(w, enrollResponse{
		ActivationBarcode: link.Barcode,
		ActivationCode:    string(link.Code),
		ActivationURL:     link.URL,
		Expiration:        link.Expires.Unix(),
		UserID:            u.ID,
		Username:          u.Username,
		BypassCodes:       e.BypassCodes,
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
