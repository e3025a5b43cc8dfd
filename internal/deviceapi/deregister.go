package deviceapi

import (
	"errors"
	"net/http"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// deregister serves DELETE /push/v2/device (a twostep extension): the app
// removed the account, so the install that signed the request is revoked
// and the phone stops being offered for push.
func (h *Handler) deregister(w http.ResponseWriter, r *http.Request, d *device) error {
	if err := h.flow.Deregister(r.Context(), d.install); err != nil {
		if errors.Is(err, mfa.ErrNotFound) { // deleted since the signature was checked
			return errUnknownInstall
		}
		return err
	}
	duoproto.WriteOK(w, answerResponse{Result: "SUCCESS"})
	return nil
}
