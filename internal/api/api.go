package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// MaxBodyBytes bounds a signed request's body: a form body is hashed once per
// candidate canonical string, so it must stay small.
const MaxBodyBytes = 64 << 10

// IntegrationGetter finds an integration by ikey.
type IntegrationGetter interface {
	GetIntegration(ctx context.Context, ikey string) (mfa.Integration, error)
}

// Caller is a verified request: the integration that signed it and its
// parameters.
type Caller struct {
	Integration mfa.Integration
	Params      *duoproto.Request
}

// Param returns the first value of a request parameter.
func (c *Caller) Param(name string) string { return c.Params.Params.Get(name) }

// Surface is one signed API (Auth API, Admin API) with the integration
// types allowed to call it.
type Surface struct {
	Name     string // for the 40301 detail: "Auth API", "Admin API"
	Allowed  func(mfa.IntegrationType) bool
	Store    IntegrationGetter
	Now      func() time.Time
	Skew     time.Duration
	Hosts    []string
	Logger   *slog.Logger
	Failures *FailureLimiter // failed authentications per source (guard.go); nil: no limit
	verifier *duoproto.Verifier

	// Signatures, when set, makes every state-changing signed request
	// acceptable once, on every node sharing it (see serveOnce).
	Signatures SignatureClaimer
	// deferClaim: the handler's own write carries the claim
	// (HandleDecision).
	deferClaim bool
}

// HandlerFunc is a signed-API handler. A returned error is written as Duo's
// error envelope by the adapter; the handler never writes an error itself.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, c *Caller) error

type ctxKey struct{}

// Handle adapts h: it verifies the signature, checks the integration type
// and maps a returned error to its answer. lists names the parameters the
// route takes as lists; any other parameter sent twice is refused
// (guard.go).
func (s *Surface) Handle(h HandlerFunc, lists ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.guarded(r, lists)
		if err == nil {
			err = s.serveOnce(w, r, c, h)
		}
		if err != nil {
			s.WriteError(w, r, err)
		}
	})
}

// Unsigned adapts a handler that needs no signature (ping).
func (s *Surface) Unsigned(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.WriteError(w, r, err)
		}
	})
}

func (s *Surface) verify(r *http.Request) (*Caller, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, duoproto.BadParam(fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes))
		}
		return nil, duoproto.BadParam("unreadable request body")
	}
	var in mfa.Integration
	v := s.verifier
	if v == nil {
		v = &duoproto.Verifier{Now: s.Now, Skew: s.Skew, Hosts: s.Hosts}
	}
	vv := *v
	vv.Lookup = func(ctx context.Context, ikey string) (duoproto.Key, error) {
		got, err := s.Store.GetIntegration(ctx, ikey)
		if errors.Is(err, mfa.ErrNotFound) {
			return duoproto.Key{}, fmt.Errorf("%w: %s", duoproto.ErrUnknownKey, ikey)
		}
		if err != nil {
			return duoproto.Key{}, err
		}
		in = got
		return duoproto.Key{SKey: string(got.SKey.Reveal()), AllowV1: allowV1(got)}, nil
	}
	req, err := vv.Verify(r, body)
	if err != nil {
		return nil, err
	}
	if !s.Allowed(in.Type) {
		return nil, duoproto.Forbidden("Wrong integration type for this API.")
	}
	return &Caller{Integration: in, Params: req}, nil
}

// WriteError answers err in Duo's error envelope: a *duoproto.Error as is,
// an *mfa.Error by its kind, anything else as an internal error. Only
// server-side failures (5xx: Internal, Unavailable) are logged, with the
// request id (never with secrets; the cause is for operators).
func (s *Surface) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return // the client hung up during a long poll: nobody to answer, nothing wrong
	}
	de := ToDuo(err)
	if de.Status >= 500 {
		s.Logger.ErrorContext(ctx, "request failed", reqid.Key, reqid.From(ctx), "route", r.Pattern, "error", err)
	}
	duoproto.WriteError(w, de)
}

// DefaultRetryAfter is the Retry-After of a RateLimited error that does not
// say when a retry may succeed.
const DefaultRetryAfter = time.Minute

// ToDuo maps an error to Duo's answer, once for every JSON API (the Auth,
// Admin and device APIs), by mfa.Kind:
//
//	NotFound      404 40401 Resource not found
//	Invalid       400 40002 Invalid request parameters, message_detail "field: message"
//	Conflict      400 40002 likewise (a taken value is a bad parameter to Duo's clients)
//	Denied        403 40301 Access forbidden, message_detail the message
//	Unauthorized  401 40103 Invalid signature in request credentials
//	RateLimited   429 42901 Too many requests, message_detail the message, Retry-After
//	Unavailable   503 50300 Service temporarily unavailable, message_detail the message
//	Internal      500 50000 Internal server error, nothing more
//
// A *duoproto.Error passes as is; any other error is Internal. A
// RateLimited error's Retry-After is its RetryAfter (DefaultRetryAfter
// when it has none). Duo publishes no code for 503; every Duo client
// decides on the HTTP status alone.
func ToDuo(err error) *duoproto.Error {
	var de *duoproto.Error
	if errors.As(err, &de) {
		return de
	}
	var me *mfa.Error
	if !errors.As(err, &me) {
		return duoproto.Internal()
	}
	detail := me.Msg
	if me.Field != "" {
		if detail == "" {
			detail = me.Field
		} else {
			detail = me.Field + ": " + detail
		}
	}
	switch me.Kind {
	case mfa.NotFound:
		return duoproto.NotFound()
	case mfa.Invalid, mfa.Conflict:
		return duoproto.BadParam(detail)
	case mfa.Denied:
		return duoproto.Forbidden(detail)
	case mfa.Unauthorized:
		return &duoproto.Error{Status: 401, Code: 40103, Message: "Invalid signature in request credentials"}
	case mfa.RateLimited:
		// The limit's own retry time when it knows one: a client that
		// honours Retry-After then neither waits too long nor comes back
		// too early.
		retry := me.RetryAfter
		if retry <= 0 {
			retry = DefaultRetryAfter
		}
		e := duoproto.RateLimited(retry)
		e.Detail = detail
		return e
	case mfa.Unavailable:
		return &duoproto.Error{Status: 503, Code: 50300, Message: "Service temporarily unavailable", Detail: detail}
	}
	return duoproto.Internal()
}
