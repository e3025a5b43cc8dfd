package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"mime/multipart"
	"net/http"
)

// HandlerFunc is a page handler: it writes the page, or returns an error
// that the site answers with the page for its mfa.Error kind (see fail).
// A handler must not write anything before it returns an error.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// MaxFormBytes bounds a form's body unless the route sets MaxBody.
const MaxFormBytes = 64 << 10

// CSRFField is the name of the form field that carries the CSRF token.
const CSRFField = "csrf_token"

// Option changes how Handle serves one route.
type Option func(*routeOpts)

type routeOpts struct {
	plain   bool
	maxBody int64
	noGuard bool // web's 404/405 pages: they change nothing
}

// Plain answers errors as one line of plain text instead of a page: for
// images, stylesheets and scripts.
func Plain() Option { return func(o *routeOpts) { o.plain = true } }

// MaxBody sets the largest request body the route accepts (MaxFormBytes
// by default); a larger one is answered 413.
func MaxBody(n int64) Option { return func(o *routeOpts) { o.maxBody = n } }

// Handle registers h at pattern on mux behind the browser stack:
//   - security headers on every answer (CSP, nosniff, no-referrer, no
//     framing) and Cache-Control: no-store unless the handler sets another;
//   - the session, loaded from the store when first asked for
//     (SessionOf) and saved before the first byte of the answer;
//   - for every method but GET, HEAD and OPTIONS: http.CrossOriginProtection,
//     a body of at most MaxFormBytes (or MaxBody), and the session's CSRF
//     token in the form field CSRFField, compared in constant time;
//   - a returned error answered by the page for its kind.
func (s *Site) Handle(mux *http.ServeMux, pattern string, h HandlerFunc, opts ...Option) {
	o := routeOpts{maxBody: MaxFormBytes}
	for _, opt := range opts {
		opt(&o)
	}
	mux.Handle(pattern, s.stack(h, o))
}

func (s *Site) stack(h HandlerFunc, o routeOpts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{site: s, plain: o.plain}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		sw := &writer{ResponseWriter: w, st: st, r: r}
		setHeaders(w.Header())
		var err error
		if !o.noGuard {
			err = s.guard(sw, r, o)
		}
		if err == nil {
			err = h(sw, r)
		}
		if err != nil {
			if sw.wrote {
				// Too late for an error page: the answer has begun.
				s.log.ErrorContext(r.Context(), "page failed after writing", "request_id", s.requestID(sw, r),
					"route", r.Pattern, "error", err)
				return
			}
			s.fail(sw, r, err)
			return
		}
		if !sw.wrote {
			if err := st.prepare(sw, r); err != nil {
				s.fail(sw, r, err)
			}
		}
	})
}

// guard refuses cross-origin and forged state-changing requests and
// oversized bodies, before the handler runs.
func (s *Site) guard(w http.ResponseWriter, r *http.Request, o routeOpts) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := s.cop.Check(r); err != nil {
		return errCrossOrigin
	}
	r.Body = http.MaxBytesReader(w, r.Body, o.maxBody)
	if err := parseForm(r, o.maxBody); err != nil {
		return err
	}
	sess, err := SessionOf(r)
	if err != nil {
		return err
	}
	got := r.PostForm.Get(CSRFField)
	switch {
	case sess.isNew():
		return errNoSessionCSRF
	case got == "":
		return errMissingCSRF
	case sess.csrf == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1:
		return errWrongCSRF
	}
	return nil
}

// parseForm reads the form body, answering Invalid for a malformed one and
// 413 for one larger than max.
func parseForm(r *http.Request, max int64) error {
	var err error
	if ct := r.Header.Get("Content-Type"); len(ct) >= 19 && ct[:19] == "multipart/form-data" {
		err = r.ParseMultipartForm(max)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, multipart.ErrMessageTooLarge):
		return errTooLarge
	case err != nil:
		return &formError{"the form could not be read: " + err.Error()}
	}
	return nil
}

// setHeaders sets the headers every browser answer carries; the CSP is
// set again, with any extra form-action origins, when the answer starts.
func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP(nil))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// NoStore marks the answer as never to be stored by a browser or a proxy:
// for every page that shows a code or a secret. (Pages are no-store by
// default; NoStore undoes a handler's own caching header.)
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// writer saves the session and sets the final CSP before the first byte.
type writer struct {
	http.ResponseWriter
	st    *state
	r     *http.Request
	wrote bool
}

func (w *writer) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if err := w.st.prepare(w, w.r); err != nil {
			w.st.site.log.ErrorContext(w.r.Context(), "saving the session failed", "request_id",
				w.st.site.requestID(w, w.r), "error", err)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines) for live status.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestID is the id the server gave this request, for logs and the 500
// page.
func (s *Site) requestID(w http.ResponseWriter, r *http.Request) string {
	if s.reqID != nil {
		if id := s.reqID(r.Context()); id != "" {
			return id
		}
	}
	return w.Header().Get("X-Request-Id")
}
