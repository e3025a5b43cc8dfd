package duoproto

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Error is a Duo API failure: the HTTP status, the five-digit Duo code whose
// first three digits are that status, the message, and an optional
// message_detail (for 40002, the name of the offending parameter). Every
// field is safe to show a client. [WriteError] writes it as
// {"stat":"FAIL","code":...,"message":...,"message_detail":...}.
type Error struct {
	Status  int    // HTTP status; always Code / 100
	Code    int    // Duo error code, for example 40103
	Message string // fixed text for the code
	Detail  string // message_detail; omitted from the body when empty

	// RetryAfter is how long a rate-limited client should wait; for a 429
	// response WriteError sends it as Retry-After in whole seconds.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("duo ")
	b.WriteString(strconv.Itoa(e.Code))
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrInvalidSignature) and errors.Is(err, BadParam("")) match
// by code whatever the detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

func newError(code int, message, detail string) *Error {
	return &Error{Status: code / 100, Code: code, Message: message, Detail: detail}
}

// The failures of request authentication, in the order [Verifier.Verify]
// checks for them. They are all HTTP 401: duo_unix maps any 401 to "Invalid
// ikey or skey" and applies its failmode, so they must never become 400.
// They are shared values: return them, compare with errors.Is, never modify
// them.
var (
	ErrMissingCredentials = newError(40101, "Missing request credentials", "")
	ErrInvalidIKey        = newError(40102, "Invalid integration key in request credentials", "")
	ErrInvalidSignature   = newError(40103, "Invalid signature in request credentials", "")
	ErrMissingTimestamp   = newError(40104, "Missing request timestamp", "")
	ErrBadTimestamp       = newError(40105, "Bad request timestamp", "")
)

// ErrUnknownKey is what a [KeyLookup] wraps when it has no integration with
// the given ikey; Verify answers it with [ErrInvalidIKey].
var ErrUnknownKey = errors.New("duoproto: unknown integration key")

// BadParam is 400/40002 "Invalid request parameters"; detail names the
// offending parameter (for example "username") or the problem.
func BadParam(detail string) *Error {
	return newError(40002, "Invalid request parameters", detail)
}

// MissingParam reports a required parameter that is absent. Duo answers that
// with 40002 and message_detail naming the parameter, so this is
// BadParam(name).
func MissingParam(name string) *Error { return BadParam(name) }

// MissingParams is 400/40001 "Missing required request parameters", with the
// names, if given, joined by ", " in message_detail.
func MissingParams(names ...string) *Error {
	return newError(40001, "Missing required request parameters", strings.Join(names, ", "))
}

// Forbidden is 403/40301 "Access forbidden", for example with detail
// "Wrong integration type for this API.".
func Forbidden(detail string) *Error {
	return newError(40301, "Access forbidden", detail)
}

// NotFound is 404/40401 "Resource not found".
func NotFound() *Error { return newError(40401, "Resource not found", "") }

// RateLimited is 429/42901 "Too many requests"; retryAfter becomes the
// Retry-After header.
func RateLimited(retryAfter time.Duration) *Error {
	e := newError(42901, "Too many requests", "")
	e.RetryAfter = retryAfter
	return e
}

// Internal is 500/50000 "Internal server error". It carries no detail: the
// cause belongs in the server log, never in the response.
func Internal() *Error { return newError(50000, "Internal server error", "") }

// httpStatus is the HTTP status for e: the first three digits of its code.
// A code that is not five digits with a valid status prefix is a programming
// error; it reports ok=false so the caller can answer 500 instead.
func (e *Error) httpStatus() (status int, ok bool) {
	if e.Code < 10000 || e.Code > 99999 {
		return 0, false
	}
	status = e.Code / 100
	if status < 400 || status > 599 {
		return 0, false
	}
	return status, true
}
