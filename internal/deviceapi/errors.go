package deviceapi

import (
	"errors"
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Device API failures beyond the shared request-authentication ones.
var (
	errUnknownActivation = &duoproto.Error{Status: 404, Code: 40403, Message: "Unknown activation code"}
	errRevoked           = &duoproto.Error{Status: 401, Code: 40110, Message: "This device is no longer activated",
		Detail: "this install was replaced by a newer activation or removed: reactivate the twostep app with a new activation code"}
	errUnknownInstall = &duoproto.Error{Status: 401, Code: 40102, Message: "Unknown device in request credentials",
		Detail: "this install is not known to the server: activate the twostep app with a new activation code"}
	errTooManyPolls = &duoproto.Error{Status: 429, Code: 42901, Message: "Too many requests",
		Detail:     "wait: too many long polls are waiting for this device; close one or retry later",
		RetryAfter: authflow.PollRetryAfter}
	errWrongCode = &duoproto.Error{Status: 400, Code: 40032, Message: "Incorrect verification code",
		Detail: "step_up_code: enter the code shown on the login screen"}
)

// handlerFunc is a device API handler; a returned error becomes Duo's
// error envelope.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h *Handler) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// writeError maps err to its answer once, logging only internal errors.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return // the app hung up during a long poll: nobody to answer, nothing wrong
	}
	var de *duoproto.Error
	switch {
	case errors.As(err, &de):
	case errors.Is(err, authflow.ErrUnknownActivation):
		de = errUnknownActivation
	case errors.Is(err, authflow.ErrInstallRevoked):
		de = errRevoked
	case errors.Is(err, authflow.ErrWrongVerificationCode):
		de = errWrongCode
	case errors.Is(err, authflow.ErrInstallPolls):
		de = errTooManyPolls
	default:
		de = api.ToDuo(err)
	}
	if de.Code == 50000 && h.log != nil {
		// The route, never the path: an activation's path holds its code.
		h.log.ErrorContext(r.Context(), "device api", "route", r.Pattern, "err", err)
	}
	duoproto.WriteError(w, de)
}
