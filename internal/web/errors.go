package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Messages of the refusals the stack itself makes. (Every user-facing
// string of web's own pages is here or in templates/.)
const (
	msgCrossOrigin   = "This form was sent from another website, so it was refused. Go back to the page, reload it and try again."
	msgNoSessionCSRF = "Your session has ended, so this form can no longer be sent. Go back, reload the page and try again."
	msgMissingCSRF   = "This form is missing its security token, so it was refused. Go back, reload the page and try again."
	msgWrongCSRF     = "This form's security token is wrong or out of date, so it was refused. Go back, reload the page and try again."
	msgTooLarge      = "The form you sent is too large. Go back and send less."
	msgSessionEnded  = "Your session has ended. Start again."
)

var (
	errNotFound      = mfa.E(mfa.NotFound, "not found")
	errCrossOrigin   = &mfa.Error{Kind: mfa.Denied, Msg: msgCrossOrigin}
	errNoSessionCSRF = &mfa.Error{Kind: mfa.Denied, Field: CSRFField, Msg: msgNoSessionCSRF}
	errMissingCSRF   = &mfa.Error{Kind: mfa.Denied, Field: CSRFField, Msg: msgMissingCSRF}
	errWrongCSRF     = &mfa.Error{Kind: mfa.Denied, Field: CSRFField, Msg: msgWrongCSRF}
	errTooLarge      = &statusError{status: http.StatusRequestEntityTooLarge, heading: "That form is too large", msg: msgTooLarge}
)

// formError is a body that is not a form.
type formError struct{ msg string }

func (e *formError) Error() string { return e.msg }

// statusError is an answer with a status no mfa.Error kind has.
type statusError struct {
	status       int
	heading, msg string
}

func (e *statusError) Error() string { return e.msg }

// LockedOutError is a Denied refusal because the user is locked out:
// answered with the locked-out page, which says whom to contact. Return
// LockedOut(...) when authflow's answer has Status "locked_out".
type LockedOutError struct {
	Msg     string // what happened, in the user's words; "" for the default
	Contact string // whom to contact (a name, address or phone); "" for "your administrator"
}

// LockedOut returns the error that shows the locked-out page.
func LockedOut(msg, contact string) error { return &LockedOutError{Msg: msg, Contact: contact} }

func (e *LockedOutError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return "locked out"
}

// Unwrap makes a LockedOutError a Denied mfa.Error to errors.Is.
func (e *LockedOutError) Unwrap() error { return &mfa.Error{Kind: mfa.Denied, Msg: e.Error()} }

// errorView is the error page's model.
type errorView struct {
	Status    int
	Heading   string
	Text      string
	Hint      string
	Reference string // the request id, on internal errors
	LockedOut bool
	Contact   string
}

// DefaultRetryAfter is the wait of a RateLimited error that names none.
const DefaultRetryAfter = time.Minute

// classify turns an error into its answer: status, page and headers.
func (s *Site) classify(w http.ResponseWriter, r *http.Request, err error) errorView {
	var (
		lo *LockedOutError
		se *statusError
		fe *formError
		me *mfa.Error
	)
	switch {
	case errors.As(err, &lo):
		return errorView{Status: http.StatusForbidden, Heading: "Your account is locked", LockedOut: true,
			Text: orDefault(lo.Msg, "Your account is locked because of too many failed attempts."), Contact: orDefault(lo.Contact, s.contact)}
	case errors.As(err, &se):
		return errorView{Status: se.status, Heading: se.heading, Text: se.msg}
	case errors.As(err, &fe):
		return errorView{Status: http.StatusBadRequest, Heading: "That request could not be read", Text: fe.msg}
	case !errors.As(err, &me):
		me = &mfa.Error{Kind: mfa.Internal, Err: err}
	}
	switch me.Kind {
	case mfa.Invalid:
		text := me.Msg
		if me.Field != "" {
			text = me.Field + ": " + text
		}
		return errorView{Status: http.StatusBadRequest, Heading: "Something in that request is not right", Text: text,
			Hint: "Go back, check what you entered and try again."}
	case mfa.NotFound:
		return errorView{Status: http.StatusNotFound, Heading: "Page not found",
			Text: "There is nothing at this address. If you typed it, check it; if you followed a link, it may have expired."}
	case mfa.Conflict:
		return errorView{Status: http.StatusConflict, Heading: "That has changed", Text: orDefault(me.Msg, "Something changed while you were working."),
			Hint: "Go back, reload the page and try again."}
	case mfa.Denied:
		return errorView{Status: http.StatusForbidden, Heading: "You can't do that", Text: orDefault(me.Msg, "You are not allowed to do that.")}
	case mfa.Unauthorized:
		return errorView{Status: http.StatusUnauthorized, Heading: "Sign in to continue", Text: orDefault(me.Msg, "You need to sign in first.")}
	case mfa.RateLimited:
		wait := me.RetryAfter
		if wait <= 0 {
			wait = DefaultRetryAfter
		}
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return errorView{Status: http.StatusTooManyRequests, Heading: "Too many attempts",
			Text: orDefault(me.Msg, "There have been too many attempts."), Hint: "Try again in " + Wait(wait) + "."}
	case mfa.Unavailable:
		w.Header().Set("Retry-After", "30")
		return errorView{Status: http.StatusServiceUnavailable, Heading: "Not available right now",
			Text: orDefault(me.Msg, "A service this page needs is not available."), Hint: "Try again in a minute."}
	}
	id := s.requestID(w, r)
	s.log.ErrorContext(r.Context(), "page failed", "request_id", id, "route", r.Pattern, "error", err)
	return errorView{Status: http.StatusInternalServerError, Heading: "Something went wrong",
		Text: "Something went wrong on our side, and it has been logged.", Hint: "Try again in a minute. If it keeps happening, tell your administrator this reference:",
		Reference: id}
}

// fail answers err: the page for its kind, or one line of text on Plain
// routes (images, assets).
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r)
	if st.invalidForm(w, r, err) {
		return
	}
	ev := s.classify(w, r, err)
	if st != nil && st.plain {
		msg := ev.Text
		if ev.Status == http.StatusNotFound {
			msg = "Not found"
		}
		if ev.Status == http.StatusInternalServerError {
			msg = "Internal server error"
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(ev.Status)
		fmt.Fprintln(w, msg)
		return
	}
	s.errorPage(w, r, ev)
}

func (s *Site) errorPage(w http.ResponseWriter, r *http.Request, ev errorView) {
	title := ev.Heading
	w.Header().Set("Cache-Control", "no-store")
	if err := s.pages.render(w, r, ev.Status, "error.html", View{Title: title, Data: ev}, false); err != nil {
		s.log.ErrorContext(r.Context(), "error page failed", "request_id", s.requestID(w, r), "error", err)
		http.Error(w, ev.Heading, ev.Status)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Wait says a duration the way a person would: "30 seconds", "1 minute",
// "5 minutes", "2 hours", rounding up.
func Wait(d time.Duration) string {
	switch {
	case d <= time.Second:
		return "1 second"
	case d < time.Minute:
		return plural(int((d+time.Second-1)/time.Second), "second")
	case d < time.Hour:
		return plural(int((d+time.Minute-1)/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int((d+time.Hour-1)/time.Hour), "hour")
	default:
		return plural(int((d+24*time.Hour-1)/(24*time.Hour)), "day")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
