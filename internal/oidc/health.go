package oidc

import (
	"errors"
	"net/http"
)

// healthCheck answers POST /oauth/v1/health_check: Duo's envelope, OK with
// the server time for a valid client assertion, else 400 with 40002
// invalid_client.
func (h *Handler) healthCheck(w http.ResponseWriter, r *http.Request) error {
	now := h.now()
	fail := func(detail string) error {
		h.fails.Fail(r)
		writeJSON(w, http.StatusBadRequest, map[string]any{"stat": "FAIL", "code": 40002,
			"message": "invalid_client", "message_detail": detail, "timestamp": now.Unix()})
		return nil
	}
	var oe *oauthError
	p, err := params(w, r)
	if errors.As(err, &oe) {
		return fail(oe.Description)
	}
	_, _, err = h.authenticateClient(r.Context(), p.Get("client_id"), p.Get("client_assertion"), HealthCheckPath)
	if errors.As(err, &oe) {
		return fail(oe.Description)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"stat": "OK", "response": map[string]any{"timestamp": now.Unix()}})
	return nil
}
