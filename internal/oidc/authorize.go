package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Request object limits.
const (
	MinStateLen    = 16 // Python's minimum; Go and Node send at least 22
	MaxStateLen    = 1024
	MaxUsernameLen = 255
	MaxNonceLen    = 512
)

type requestClaims struct {
	ResponseType        string       `json:"response_type"`
	Scope               string       `json:"scope"`
	ClientID            string       `json:"client_id"`
	RedirectURI         string       `json:"redirect_uri"`
	State               *string      `json:"state"`
	Username            string       `json:"duo_uname"`
	Nonce               string       `json:"nonce"`
	Iss                 string       `json:"iss"`
	Aud                 jsonAudience `json:"aud"`
	Exp                 *numericDate `json:"exp"`
	UseDuoCodeAttribute *bool        `json:"use_duo_code_attribute"`
}

// authorize serves GET /oauth/v1/authorize: it checks the request object,
// stores a pending mfa.LoginRequest, binds it to this browser with a
// cookie and sends the browser to the prompt. Until the redirect URI is
// known to be registered, errors are shown as a page; after, they go back
// to the application as OAuth errors.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) error {
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
	clientID := q.Get("client_id")
	in, err := h.client(r.Context(), clientID)
	var oe *oauthError
	if errors.As(err, &oe) {
		return badLogin(oe.Description)
	}
	if err != nil {
		return err
	}
	if q.Get("response_type") != "code" {
		return badLogin("response_type must be code.")
	}
	tok, err := parseHS512(q.Get("request"))
	if err != nil {
		return badLogin("The request object is " + err.Error() + ".")
	}
	var c requestClaims
	if err := tok.Claims(hs512Key(in.SKey.Reveal()), &c); err != nil {
		return badLogin("The request object's signature or claims are invalid.")
	}
	now := h.now()
	switch {
	case c.ClientID != in.IKey || c.Iss != in.IKey:
		return badLogin("The request object was not issued by this client_id.")
	case len(c.Aud) != 1 || !h.hostAllowed(c.Aud[0], ""):
		return badLogin("The request object's audience is not this server.")
	}
	if err := checkExp(c.Exp, now); err != nil {
		return badLogin("The request object is not valid now: " + err.Error() + ".")
	}
	if q.Has("redirect_uri") && q.Get("redirect_uri") != c.RedirectURI {
		return badLogin("The redirect_uri parameter differs from the request object's.")
	}
	if c.RedirectURI == "" || !slices.Contains(in.RedirectURIs, c.RedirectURI) {
		return badLogin("The redirect_uri is not registered for this application.")
	}

	// From here on the browser can be sent back to the application.
	back := func(code, desc, state string) error {
		return &redirectError{RedirectURI: c.RedirectURI, Code: code, Description: desc, State: state}
	}
	if c.State == nil || len(*c.State) < MinStateLen || len(*c.State) > MaxStateLen {
		return back("invalid_request", fmt.Sprintf("state must be %d to %d characters.", MinStateLen, MaxStateLen), "")
	}
	state := *c.State
	if c.ResponseType != "code" {
		return back("unsupported_response_type", "response_type must be code.", state)
	}
	if c.Scope != "" && !slices.Contains(strings.Fields(c.Scope), "openid") {
		return back("invalid_scope", "scope must include openid.", state)
	}
	if c.Username == "" || len(c.Username) > MaxUsernameLen {
		return back("invalid_request", fmt.Sprintf("duo_uname must be 1 to %d characters.", MaxUsernameLen), state)
	}
	nonce := c.Nonce
	if qn := q.Get("nonce"); qn != "" { // the Python SDK sends it outside the request object
		if nonce != "" && nonce != qn {
			return back("invalid_request", "The nonce parameter differs from the request object's.", state)
		}
		nonce = qn
	}
	if len(nonce) > MaxNonceLen {
		return back("invalid_request", fmt.Sprintf("nonce must be at most %d characters.", MaxNonceLen), state)
	}

	id, err := mfa.NewLoginRequestID(h.rand)
	if err != nil {
		return err
	}
	secret, err := mfa.NewBindingSecret(h.rand)
	if err != nil {
		return err
	}
	lr := mfa.LoginRequest{ID: id, IKey: in.IKey, Username: c.Username, RedirectURI: c.RedirectURI,
		State: state, Nonce: nonce, UseDuoCode: c.UseDuoCodeAttribute == nil || *c.UseDuoCodeAttribute,
		ReturnPath: ReturnPath + "?id=" + url.QueryEscape(id), BindingHash: mfa.BindingHash(secret),
		Created: now, Expires: now.Add(LoginLifetime)}
	if err := h.store.CreateLoginRequest(r.Context(), lr); err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: mfa.LoginBindingCookie(id), Value: secret, Path: "/",
		MaxAge: int(LoginLifetime.Seconds()), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, PromptPath(id), http.StatusSeeOther)
	return nil
}

// jsonAudience is a JWT aud: one string or an array of strings.
type jsonAudience []string

func (a *jsonAudience) UnmarshalJSON(b []byte) error {
	s, ok := audience(b)
	if !ok {
		return errors.New("aud must be one string")
	}
	*a = jsonAudience{s}
	return nil
}
