package mfa

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an Error so that each edge (HTTP API, web page, RADIUS,
// CLI) can map it once to its own vocabulary.
type Kind int

// The error kinds. The zero value is Internal, so that an unclassified error
// is never shown to a client as if it were the client's fault.
const (
	Internal     Kind = iota // a bug or an outage; the message is generic
	NotFound                 // the object does not exist
	Conflict                 // a unique value is taken, or a guarded counter moved
	Invalid                  // the caller's input is wrong; Msg names the field
	Denied                   // authenticated, but not allowed
	Unauthorized             // credentials missing or wrong
	RateLimited              // too many attempts; try later
	Unavailable              // a dependency is down; try later
)

func (k Kind) String() string {
	switch k {
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Invalid:
		return "invalid"
	case Denied:
		return "denied"
	case Unauthorized:
		return "unauthorized"
	case RateLimited:
		return "rate limited"
	case Unavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// Error is the error type every layer returns. Msg is safe to show a client;
// Err is the cause, for logs only. Field names a request parameter or form
// field when the error is about one. RetryAfter, on a RateLimited error, is
// how long until a retry may succeed (zero: unknown).
type Error struct {
	Kind       Kind
	Msg        string
	Field      string
	Err        error
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", msg, e.Err)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, mfa.ErrNotFound) (and the other sentinel kinds)
// true for any *Error of the same Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Msg == "" && t.Field == "" && t.Err == nil && t.RetryAfter == 0 && t.Kind == e.Kind
}

// Sentinels to match kinds with errors.Is.
var (
	ErrInternal     = &Error{Kind: Internal}
	ErrNotFound     = &Error{Kind: NotFound}
	ErrConflict     = &Error{Kind: Conflict}
	ErrInvalid      = &Error{Kind: Invalid}
	ErrDenied       = &Error{Kind: Denied}
	ErrUnauthorized = &Error{Kind: Unauthorized}
	ErrRateLimited  = &Error{Kind: RateLimited}
	ErrUnavailable  = &Error{Kind: Unavailable}
)

// ErrStoreUnreachable is in the chain of a store error (kind Unavailable)
// that means the database could not be reached at all: the connection was
// refused or lost, or the database file cannot be opened. A failed
// statement on a reachable database never carries it. RADIUS's failmode
// safe acts on it alone.
var ErrStoreUnreachable = errors.New("database unreachable")

// E builds an *Error.
func E(kind Kind, msg string) *Error { return &Error{Kind: kind, Msg: msg} }

// Errorf builds an *Error with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// InvalidField reports a bad value of one named input field.
func InvalidField(field, msg string) *Error {
	return &Error{Kind: Invalid, Field: field, Msg: msg}
}

// RetryLater reports a RateLimited error whose limit lifts after after.
func RetryLater(msg string, after time.Duration) *Error {
	return &Error{Kind: RateLimited, Msg: msg, RetryAfter: after}
}

// NotFoundf reports a missing object.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Msg: fmt.Sprintf(format, args...)}
}

// Wrap attaches a cause to a classified error.
func Wrap(kind Kind, msg string, err error) *Error {
	return &Error{Kind: kind, Msg: msg, Err: err}
}

// KindOf reports the Kind of err: the Kind of the first *Error in its chain,
// or Internal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// MsgOf returns the client-safe message of err's *Error, or a generic one.
func MsgOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return "Something went wrong. Try again."
}
