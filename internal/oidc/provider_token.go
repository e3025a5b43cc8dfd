package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Factor words of the auth log, as RFC 8176 amr values.
var amrOf = map[string][]string{
	"passcode":            {"otp"},
	"duo_mobile_passcode": {"otp"},
	"hardware_token":      {"otp"},
	"bypass_code":         {"otp"},
	"yubikey_passcode":    {"hwk", "otp"},
	"sms_passcode":        {"sms", "otp"},
	"phone_call":          {"tel"},
	"duo_push":            {"swk"},
	"webauthn":            {"hwk"},
}

// amr lists the methods of lr's authentication (RFC 8176): pwd for the
// first factor, the second factor's, and mfa when there were both.
func amr(lr mfa.LoginRequest) []string {
	var out []string
	if lr.FirstFactor != "" {
		out = append(out, "pwd")
	}
	second := amrOf[lr.Factor]
	out = append(out, second...)
	if lr.FirstFactor != "" && len(second) > 0 {
		out = append(out, "mfa")
	}
	return out
}

// acr is the authentication context class of lr.
func acr(lr mfa.LoginRequest) string {
	if lr.FirstFactor != "" && len(amrOf[lr.Factor]) > 0 {
		return ACRMultiFactor
	}
	return ACRPassword
}

type stdIDToken struct {
	Iss               string   `json:"iss"`
	Sub               string   `json:"sub"`
	Aud               string   `json:"aud"`
	Azp               string   `json:"azp"`
	Exp               int64    `json:"exp"`
	Iat               int64    `json:"iat"`
	AuthTime          int64    `json:"auth_time"`
	Nonce             string   `json:"nonce,omitempty"`
	AMR               []string `json:"amr"`
	ACR               string   `json:"acr"`
	SID               string   `json:"sid,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Name              string   `json:"name,omitempty"`
	GivenName         string   `json:"given_name,omitempty"`
	FamilyName        string   `json:"family_name,omitempty"`
	Email             string   `json:"email,omitempty"`
	// Groups are the names of the user's twostep groups (scope groups).
	Groups []string `json:"groups,omitempty"`
}

// accessClaims are an access token's claims (RFC 9068, typ at+jwt).
type accessClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	JTI      string `json:"jti"`
}

const accessTokenType = "at+jwt"

// profileClaims fills the claims the scopes allow: with scope groups, the
// names of the user's groups (an empty list when they belong to none).
func (p *Provider) profileClaims(ctx context.Context, t *stdIDToken, u mfa.User, scope []string) error {
	if slices.Contains(scope, "profile") {
		t.PreferredUsername, t.Name, t.GivenName, t.FamilyName = u.Username, u.RealName, u.FirstName, u.LastName
	}
	if slices.Contains(scope, "email") {
		t.Email = u.Email
	}
	if slices.Contains(scope, "groups") {
		groups, err := p.store.UserGroups(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("groups claim: %w", err)
		}
		t.Groups = []string{}
		for _, g := range groups {
			t.Groups = append(t.Groups, g.Name)
		}
	}
	return nil
}

// clientCredentials reads the client's authentication: HTTP Basic
// (client_secret_basic) or client_id/client_secret in the body
// (client_secret_post), not both; a public client sends client_id alone.
func clientCredentials(r *http.Request, form url.Values) (id, secret string, hasSecret bool, err error) {
	if bid, bsecret, ok := r.BasicAuth(); ok {
		if form.Has("client_secret") {
			return "", "", false, invalidRequest("Use one client authentication method, not two.")
		}
		// RFC 6749 2.3.1: the credentials are form-urlencoded inside Basic.
		if id, err = url.QueryUnescape(bid); err != nil {
			return "", "", false, invalidClient("The client credentials are malformed.")
		}
		if secret, err = url.QueryUnescape(bsecret); err != nil {
			return "", "", false, invalidClient("The client credentials are malformed.")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return "", "", false, invalidRequest("client_id differs from the authenticated client.")
		}
		return id, secret, true, nil
	}
	return form.Get("client_id"), form.Get("client_secret"), form.Has("client_secret"), nil
}

// stdToken serves POST /oidc/token: the authorization code exchange. The
// client is authenticated first (a refused client consumes nothing); the
// code is redeemed in one conditional update that also requires this
// client and the authorize request's redirect_uri; then the PKCE verifier
// is checked (a wrong one has consumed the code: it cannot be retried).
func (p *Provider) stdToken(w http.ResponseWriter, r *http.Request) error {
	form, err := params(w, r)
	if err != nil {
		return err
	}
	if r.URL.RawQuery != "" {
		return invalidRequest("Token requests carry their parameters in the body.")
	}
	if form.Get("grant_type") != "authorization_code" {
		return &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "grant_type must be authorization_code."}
	}
	if form.Has("client_assertion") {
		return invalidClient("Client assertions are not supported here; use client_secret_basic or client_secret_post.")
	}
	clientID, secret, hasSecret, err := clientCredentials(r, form)
	if err != nil {
		return err
	}
	ctx := r.Context()
	in, err := p.oidcClient(ctx, clientID)
	if err != nil {
		return err
	}
	switch {
	case in.PublicClient && hasSecret:
		return invalidClient("A public client has no secret.")
	case !in.PublicClient && (!hasSecret || subtle.ConstantTimeCompare([]byte(secret), in.SKey.Reveal()) != 1):
		return invalidClient("The client authentication failed.")
	}
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	switch {
	case code == "":
		return invalidRequest("The parameter code is missing.")
	case redirectURI == "":
		return invalidRequest("The parameter redirect_uri is missing.")
	case len(code) > 256:
		return invalidGrant("The code is invalid.")
	}
	now := p.now()
	lr, err := p.store.RedeemLoginCode(ctx, mfa.LoginCodeRedemption{CodeHash: mfa.CodeHash(code), IKey: in.IKey,
		RedirectURI: redirectURI, Now: now})
	if errors.Is(err, mfa.ErrNotFound) {
		return invalidGrant("The code is unknown, used or expired, or was issued to another client or redirect_uri.")
	}
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	switch {
	case lr.Protocol != mfa.LoginOIDC || lr.UserID == "":
		return invalidGrant("The code was not issued by this provider.")
	case lr.CodeChallenge != "" && verifier == "":
		return invalidGrant("code_verifier is required: the authorization request sent a code_challenge.")
	case lr.CodeChallenge != "" && (!pkceValue.MatchString(verifier) ||
		subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(lr.CodeChallenge)) != 1):
		return invalidGrant("code_verifier does not match the code_challenge.")
	case lr.CodeChallenge == "" && verifier != "":
		return invalidGrant("code_verifier was sent, but the authorization request had no code_challenge.")
	}
	u, err := p.store.GetUser(ctx, lr.UserID)
	if errors.Is(err, mfa.ErrNotFound) {
		return invalidGrant("The user no longer exists.")
	}
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	iss, err := p.issuer(r)
	if err != nil {
		return err
	}
	scope := strings.Fields(lr.Scope)
	idt := stdIDToken{Iss: iss, Sub: u.ID, Aud: in.IKey, Azp: in.IKey, Exp: now.Add(IDTokenLifetime).Unix(), Iat: now.Unix(),
		AuthTime: lr.AuthTime.Unix(), Nonce: lr.Nonce, AMR: amr(lr), ACR: acr(lr)}
	if err := p.profileClaims(ctx, &idt, u, scope); err != nil {
		return err
	}
	idToken, err := p.sign(ctx, "JWT", idt)
	if err != nil {
		return err
	}
	jti, err := mfa.NewBindingSecret(p.rand)
	if err != nil {
		return err
	}
	access, err := p.sign(ctx, accessTokenType, accessClaims{Iss: iss, Sub: u.ID, Aud: iss + "/userinfo", ClientID: in.IKey,
		Scope: lr.Scope, Exp: now.Add(AccessTokenLifetime).Unix(), Iat: now.Unix(), JTI: jti})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer",
		"expires_in": int(AccessTokenLifetime.Seconds()), "id_token": idToken, "scope": lr.Scope})
	return nil
}

// bearerError is an RFC 6750 error answer of the userinfo endpoint.
func bearerError(w http.ResponseWriter, code, desc string) error {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error=%q, error_description=%q`, code, desc))
	status := http.StatusUnauthorized
	if code == "invalid_request" {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, &oauthError{Code: code, Description: desc})
	return nil
}

// verifyJWT checks a token signed by one of the published keys, of type
// typ, issued by iss; it returns the token's claims into v. exp is
// checked unless allowExpired.
func (p *Provider) verifyJWT(ctx context.Context, raw, typ, iss string, v any, allowExpired bool) error {
	if len(raw) > MaxJWTLen {
		return errors.New("too long")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return errors.New("not an ES256 JWT")
	}
	h := tok.Headers[0]
	if t, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(t, typ) {
		return fmt.Errorf("not a %s", typ)
	}
	_, keys, err := p.loadKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.id != h.KeyID {
			continue
		}
		var std jwt.Claims
		if err := tok.Claims(k.key.Public(), &std, v); err != nil {
			return errors.New("bad signature")
		}
		exp := time.Duration(0)
		if allowExpired {
			exp = 100 * 365 * 24 * time.Hour
		}
		if err := std.ValidateWithLeeway(jwt.Expected{Issuer: iss, Time: p.now()}, exp); err != nil {
			return err
		}
		if std.Expiry == nil {
			return errors.New("no exp")
		}
		return nil
	}
	return errors.New("unknown key")
}

// stdUserinfo serves GET and POST /oidc/userinfo (OpenID Connect Core
// 5.3): the access token's user's claims, as its scopes allow.
func (p *Provider) stdUserinfo(w http.ResponseWriter, r *http.Request) error {
	auth := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return bearerError(w, "invalid_request", "Send the access token in an Authorization: Bearer header.")
	}
	iss, err := p.issuer(r)
	if err != nil {
		return err
	}
	var c accessClaims
	if err := p.verifyJWT(r.Context(), strings.TrimSpace(raw), accessTokenType, iss, &c, false); err != nil {
		return bearerError(w, "invalid_token", "The access token is invalid or expired.")
	}
	u, err := p.store.GetUser(r.Context(), c.Sub)
	if errors.Is(err, mfa.ErrNotFound) {
		return bearerError(w, "invalid_token", "The access token's user no longer exists.")
	}
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	if u.Status == mfa.StatusDisabled {
		return bearerError(w, "invalid_token", "The access token's user is disabled.")
	}
	out := stdIDToken{}
	if err := p.profileClaims(r.Context(), &out, u, strings.Fields(c.Scope)); err != nil {
		return err
	}
	claims := map[string]any{"sub": u.ID, "preferred_username": out.PreferredUsername,
		"name": out.Name, "given_name": out.GivenName, "family_name": out.FamilyName, "email": out.Email}
	if out.Groups != nil {
		claims["groups"] = out.Groups
	}
	writeJSON(w, http.StatusOK, claims)
	return nil
}

// EndSession checks an RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0) for internal/web/login, which ends the browser
// session: an id_token_hint must be one of ours (expired is fine); a
// post_logout_redirect_uri must be registered for the client named by
// client_id or the hint's audience, and gets state back. It returns where
// to send the browser ("" to show the logged-out page) and the client's
// name.
func (p *Provider) EndSession(r *http.Request) (next, app string, err error) {
	if len(r.URL.RawQuery) > MaxQueryLen {
		return "", "", mfa.InvalidField("query", "too long")
	}
	q := r.URL.Query()
	iss, err := p.issuer(r)
	if err != nil {
		return "", "", mfa.E(mfa.Invalid, "no public host name is configured")
	}
	clientID := q.Get("client_id")
	if hint := q.Get("id_token_hint"); hint != "" {
		var c stdIDToken
		if err := p.verifyJWT(r.Context(), hint, "JWT", iss, &c, true); err != nil {
			return "", "", mfa.InvalidField("id_token_hint", "is not an ID token this provider issued")
		}
		if clientID != "" && clientID != c.Aud {
			return "", "", mfa.InvalidField("client_id", "differs from the id_token_hint's audience")
		}
		clientID = c.Aud
	}
	target := q.Get("post_logout_redirect_uri")
	if clientID == "" {
		if target != "" {
			return "", "", mfa.InvalidField("post_logout_redirect_uri", "needs client_id or id_token_hint")
		}
		return "", "", nil
	}
	in, err := p.oidcClient(r.Context(), clientID)
	var oe *oauthError
	if errors.As(err, &oe) {
		return "", "", mfa.InvalidField("client_id", oe.Description)
	}
	if err != nil {
		return "", "", err
	}
	if target == "" {
		return "", in.Name, nil
	}
	if !slices.Contains(in.PostLogoutRedirectURIs, target) {
		return "", "", mfa.InvalidField("post_logout_redirect_uri", "is not registered for this application")
	}
	if st := q.Get("state"); st != "" {
		if len(st) > MaxStateLen {
			return "", "", mfa.InvalidField("state", "too long")
		}
		target = withQuery(target, url.Values{"state": {st}})
	}
	return target, in.Name, nil
}
