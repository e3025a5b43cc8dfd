package oidc

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
)

//go:embed templates/*.html
var templateFS embed.FS

var errorPage = template.Must(template.ParseFS(templateFS, "templates/error.html"))

// securityHeaders go on every answer: nothing may be loaded, framed,
// cached or referred.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// oauthError is an OAuth 2.0 error answer (RFC 6749 5.2).
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(desc string) error {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

func invalidClient(desc string) error {
	return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: desc}
}

func invalidGrant(desc string) error {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_grant", Description: desc}
}

// pageError is an error shown to the person as a page, when there is no
// trustworthy place to send the browser back to.
type pageError struct {
	Status  int
	Title   string
	Message string
}

func (e *pageError) Error() string { return e.Title + ": " + e.Message }

func badLogin(msg string) error {
	return &pageError{Status: http.StatusBadRequest, Title: "This login request is not valid", Message: msg}
}

// redirectError sends the browser back to the application's (validated)
// redirect URI with an OAuth error.
type redirectError struct {
	RedirectURI string
	Code        string
	Description string
	State       string
}

func (e *redirectError) Error() string { return e.Code + ": " + e.Description }

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// api adapts a JSON endpoint: an *oauthError is answered as such, anything
// else is logged and answered as server_error.
func (h *Handler) api(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		err := fn(w, r)
		if err == nil {
			return
		}
		var oe *oauthError
		if errors.As(err, &oe) {
			if oe.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_client"`)
				h.fails.Fail(r)
			}
			writeJSON(w, oe.Status, oe)
			return
		}
		h.internal(w, r, err)
		writeJSON(w, http.StatusInternalServerError, &oauthError{Code: "server_error", Description: "Internal server error."})
	})
}

// page adapts a browser endpoint: a *redirectError goes back to the
// application, a *pageError is shown, anything else is logged and shown as
// a generic failure.
func (h *Handler) page(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		err := fn(w, r)
		if err == nil {
			return
		}
		var re *redirectError
		if errors.As(err, &re) {
			q := url.Values{"error": {re.Code}}
			if re.Description != "" {
				q.Set("error_description", re.Description)
			}
			if re.State != "" {
				q.Set("state", re.State)
			}
			http.Redirect(w, r, withQuery(re.RedirectURI, q), http.StatusSeeOther)
			return
		}
		var pe *pageError
		if !errors.As(err, &pe) {
			h.internal(w, r, err)
			pe = &pageError{Status: http.StatusInternalServerError, Title: "Something went wrong",
				Message: "twostep could not finish this login."}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(pe.Status)
		errorPage.Execute(w, pe)
	})
}

// internal logs an unexpected error with the request id the server's
// middleware put in the X-Request-Id answer header.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "oidc request failed", "request_id", w.Header().Get("X-Request-Id"),
		"route", r.Pattern, "error", err)
}

// withQuery adds q to the query of the (validated, absolute) uri, keeping
// the query it already has.
func withQuery(uri string, q url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri // validated when registered; cannot happen
	}
	have := u.Query()
	for k, vs := range q {
		have[k] = vs
	}
	u.RawQuery = have.Encode()
	return u.String()
}
