package server

import (
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

// apiPrefixes are the paths Duo's clients call. Under them an unknown path
// or a wrong method is answered in Duo's error envelope, which those
// clients parse, never with net/http's plain-text "404 page not found".
var apiPrefixes = []string{"/auth/", "/admin/", "/rest/", "/push/", "/frame/"}

// probeMethods are the methods tried to fill a 405's Allow header.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed is 405/40501 "Method not allowed".
func methodNotAllowed() *duoproto.Error {
	return &duoproto.Error{Status: http.StatusMethodNotAllowed, Code: 40501, Message: "Method not allowed"}
}

// fallback receives whatever the API mux's own patterns do not match: the
// browser pages, and under apiPrefixes the unknown paths and wrong methods.
// (The API mux's "/" pattern matches every method, so the mux itself never
// answers 405: this handler decides between 404 and 405.)
type fallback struct {
	api, browser *http.ServeMux
	pages        http.Handler // browser, answering its 404 and 405 with pages
}

func (f fallback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isAPIPath(r.URL.Path) {
		f.pages.ServeHTTP(w, r)
		return
	}
	if _, pattern := f.browser.Handler(r); pattern != "" {
		f.browser.ServeHTTP(w, r) // a browser page under an API prefix: /frame/qr
		return
	}
	var allow []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := f.api.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
		} else if _, p := f.browser.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	write := duoproto.WriteError
	if strings.HasPrefix(r.URL.Path, "/rest/") && strings.HasSuffix(r.URL.Path, ".bson") {
		write = duoproto.WriteErrorBSON // legacy clients that asked for BSON read BSON
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		write(w, methodNotAllowed())
		return
	}
	write(w, duoproto.NotFound())
}

// isAPIPath reports whether path is under an API prefix, or is /metrics
// (which answers 404 JSON where it is not served).
func isAPIPath(path string) bool {
	if path == "/metrics" {
		return true
	}
	for _, p := range apiPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
