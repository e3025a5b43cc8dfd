package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// state is one request's state in the browser stack.
type state struct {
	site        *Site
	plain       bool
	sess        *Session
	sessErr     error
	loaded      bool
	formActions []string
	prepared    bool
	form        *formPage
}

type stateKey struct{}

func stateOf(r *http.Request) *state {
	st, _ := r.Context().Value(stateKey{}).(*state)
	return st
}

// prepare saves the session and sets the final CSP, once, before the
// answer starts.
func (st *state) prepare(w http.ResponseWriter, r *http.Request) error {
	if st.prepared {
		return nil
	}
	st.prepared = true
	w.Header().Set("Content-Security-Policy", CSP(st.formActions))
	if st.sess != nil {
		return st.sess.commit(r.Context(), w)
	}
	return nil
}

// CSP returns the Content-Security-Policy of a page whose forms may also
// be submitted (or redirected after submission) to formActions.
func CSP(formActions []string) string {
	fa := "'self'"
	for _, o := range formActions {
		fa += " " + o
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action " + fa + "; frame-ancestors 'none'; base-uri 'none'"
}

// AllowFormAction lets this page's forms go to rawURL's origin (a POST to
// it, or a redirect to it after a form is submitted to us): the prompt
// adds the registered redirect URI of the application it returns to. The
// origin must be https, or http on a loopback address; anything else is
// Invalid. Call it before the page is written.
func AllowFormAction(r *http.Request, rawURL string) error {
	origin, err := Origin(rawURL)
	if err != nil {
		return err
	}
	st := stateOf(r)
	if st == nil {
		return fmt.Errorf("web.AllowFormAction outside a web.Handle route")
	}
	if !slices.Contains(st.formActions, origin) {
		st.formActions = append(st.formActions, origin)
	}
	return nil
}

// Origin returns the scheme://host[:port] of rawURL, which must be an
// absolute https URL, or http on a loopback host (for development).
func Origin(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", invalidURL(rawURL, "not an absolute URL")
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(host):
	default:
		return "", invalidURL(rawURL, "must be https (or http on a loopback address)")
	}
	if strings.ContainsAny(u.Host, " ;'\",\\") {
		return "", invalidURL(rawURL, "has a malformed host")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func invalidURL(rawURL, why string) error {
	return mfa.InvalidField("redirect_uri", fmt.Sprintf("%.80q %s", rawURL, why))
}
