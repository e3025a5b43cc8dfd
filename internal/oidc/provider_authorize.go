package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// pkceValue is a PKCE verifier or S256 challenge's alphabet and length
// (RFC 7636 4.1, 4.2): 43 to 128 unreserved characters.
var pkceValue = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// MaxAge bounds max_age (seconds): a year.
const maxMaxAge = 365 * 24 * 3600

// stdAuthorize serves GET /oidc/authorize (OpenID Connect Core 3.1.2): the
// authorization code flow, PKCE S256 (required for public clients). Until
// the client and its redirect_uri are known good, errors are shown as a
// page; after, they go back to the client as OAuth errors. A good request
// becomes a pending mfa.LoginRequest bound to this browser, which goes to
// the first-factor page.
func (p *Provider) stdAuthorize(w http.ResponseWriter, r *http.Request) error {
	if len(r.URL.RawQuery) > MaxQueryLen {
		return badLogin(fmt.Sprintf("The request is longer than %d bytes.", MaxQueryLen))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badLogin("The request's parameters could not be parsed.")
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return badLogin(fmt.Sprintf("The parameter %s was given more than once.", k))
		}
	}
	in, err := p.oidcClient(r.Context(), q.Get("client_id"))
	var oe *oauthError
	if errors.As(err, &oe) {
		return badLogin(oe.Description)
	}
	if err != nil {
		return err
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" || !slices.Contains(in.RedirectURIs, redirectURI) {
		return badLogin("The redirect_uri is not registered for this application.")
	}
	state := q.Get("state")
	if len(state) > MaxStateLen {
		return badLogin(fmt.Sprintf("state must be at most %d characters.", MaxStateLen))
	}
	// From here on the browser can be sent back to the client.
	back := func(code, desc string) error {
		return &redirectError{RedirectURI: redirectURI, Code: code, Description: desc, State: state}
	}
	switch {
	case q.Get("response_type") != "code":
		return back("unsupported_response_type", "response_type must be code.")
	case q.Has("request"):
		return back("request_not_supported", "Request objects are not supported.")
	case q.Has("request_uri"):
		return back("request_uri_not_supported", "request_uri is not supported.")
	case q.Has("response_mode") && q.Get("response_mode") != "query":
		return back("invalid_request", "response_mode must be query.")
	}
	sc := scopes(q.Get("scope"))
	if !slices.Contains(sc, "openid") {
		return back("invalid_scope", "scope must include openid.")
	}
	nonce := q.Get("nonce")
	if len(nonce) > MaxNonceLen {
		return back("invalid_request", fmt.Sprintf("nonce must be at most %d characters.", MaxNonceLen))
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return back("invalid_request", "code_challenge_method without code_challenge.")
	case challenge != "" && method != "S256":
		return back("invalid_request", "code_challenge_method must be S256.")
	case challenge != "" && !pkceValue.MatchString(challenge):
		return back("invalid_request", "code_challenge must be 43 to 128 base64url characters.")
	case challenge == "" && in.PublicClient:
		return back("invalid_request", "PKCE is required for public clients: send code_challenge with code_challenge_method S256.")
	}
	force, maxAge := false, 0
	for _, pr := range strings.Fields(q.Get("prompt")) {
		switch pr {
		case "none":
			// Whether this browser has a session is the login page's to
			// know; the provider never answers silently.
			return back("login_required", "The user must log in.")
		case "login":
			force = true
		case "consent", "select_account":
		default:
			return back("invalid_request", "prompt must be none, login, consent or select_account.")
		}
	}
	if q.Has("max_age") {
		n, err := strconv.Atoi(q.Get("max_age"))
		if err != nil || n < 0 || n > maxMaxAge {
			return back("invalid_request", "max_age must be a number of seconds.")
		}
		if n == 0 {
			force = true
		}
		maxAge = n
	}

	id, err := mfa.NewLoginRequestID(p.rand)
	if err != nil {
		return err
	}
	secret, err := mfa.NewBindingSecret(p.rand)
	if err != nil {
		return err
	}
	now := p.now()
	lr := mfa.LoginRequest{ID: id, IKey: in.IKey, RedirectURI: redirectURI, State: state, Nonce: nonce,
		Protocol: mfa.LoginOIDC, Scope: strings.Join(sc, " "), CodeChallenge: challenge, ForceLogin: force, MaxAge: maxAge,
		ReturnPath: mfa.LoginDonePath(id), Continue: ProviderReturnPath + "?id=" + url.QueryEscape(id),
		BindingHash: mfa.BindingHash(secret), Created: now, Expires: now.Add(LoginLifetime)}
	if err := p.store.CreateLoginRequest(r.Context(), lr); err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: mfa.LoginBindingCookie(id), Value: secret, Path: "/",
		MaxAge: int(LoginLifetime.Seconds()), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, mfa.LoginPasswordPath(id), http.StatusSeeOther)
	return nil
}

// s256 is the PKCE S256 challenge of verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
