package web

import (
	"net/http"
	"net/http/httptest"
)

// NotFound returns mux answering what it has no route for (404) or no
// route for with this method (405, with Allow) with the site's pages
// instead of net/http's plain text.
func (s *Site) NotFound(mux *http.ServeMux) http.Handler {
	notFound := s.stack(func(w http.ResponseWriter, r *http.Request) error {
		rec := httptest.NewRecorder()
		h, _ := mux.Handler(r)
		h.ServeHTTP(rec, r) // net/http's own 404 or 405: a few bytes
		if allow := rec.Header().Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		if rec.Code == http.StatusMethodNotAllowed {
			return &statusError{status: http.StatusMethodNotAllowed, heading: "That can't be done here",
				msg: "This page does not accept that kind of request."}
		}
		return errNotFound
	}, routeOpts{noGuard: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			notFound.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
