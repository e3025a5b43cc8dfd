package deviceapi

import (
	"errors"
	"net/http"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/reqid"
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

// writeError answers err (toDuo), logging only server-side failures, with
// the request id.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return // the app hung up during a long poll: nobody to answer, nothing wrong
	}
	de := toDuo(err)
	if de.Status >= 500 && h.log != nil {
		// The route, never the path: an activation's path holds its code.
		h.log.ErrorContext(ctx, "device api", reqid.Key, reqid.From(ctx), "route", r.Pattern, "err", err)
	}
	duoproto.WriteError(w, de)
}

// toDuo maps err to its answer once: the device API's own failures first,
// then every mfa.Kind as the other JSON APIs answer it (api.ToDuo).
func toDuo(err error) *duoproto.Error {
	var de *duoproto.Error
	switch {
	case errors.As(err, &de):
		return de
	case errors.Is(err, authflow.ErrUnknownActivation):
		return errUnknownActivation
	case errors.Is(err, authflow.ErrInstallRevoked):
		return errRevoked
	case errors.Is(err, authflow.ErrWrongVerificationCode):
		return errWrongCode
	case errors.Is(err, authflow.ErrInstallPolls):
		return errTooManyPolls
	}
	return api.ToDuo(err)
}
