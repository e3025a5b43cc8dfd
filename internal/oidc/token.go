package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/mfa"
)

type tokenAnswer struct {
	IDToken     string `json:"id_token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

type authResult struct {
	Result    string `json:"result"`
	Status    string `json:"status"`
	StatusMsg string `json:"status_msg"`
}

type idTokenClaims struct {
	Iss               string            `json:"iss"`
	Aud               string            `json:"aud"` // one string: the Go SDK refuses anything else
	Exp               int64             `json:"exp"`
	Iat               int64             `json:"iat"`
	Sub               string            `json:"sub"`
	JTI               string            `json:"jti"`
	AuthTime          int64             `json:"auth_time"`
	PreferredUsername string            `json:"preferred_username"`
	Nonce             string            `json:"nonce,omitempty"`
	AuthResult        authResult        `json:"auth_result"`
	AuthContext       api.AuthLogRecord `json:"auth_context"`
}

// token serves POST /oauth/v1/token: the authorization-code exchange. The
// client is authenticated first (a refused client consumes nothing); the
// code is then redeemed in one conditional update that also requires this
// client and the authorize request's redirect_uri, so that a refused
// exchange consumes nothing either.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) error {
	p, err := params(w, r)
	if err != nil {
		return err
	}
	for _, name := range []string{"grant_type", "code", "redirect_uri", "client_id", "client_assertion_type", "client_assertion"} {
		if p.Get(name) == "" {
			return invalidRequest("The parameter " + name + " is missing.")
		}
	}
	if p.Get("grant_type") != "authorization_code" {
		return &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "grant_type must be authorization_code."}
	}
	if p.Get("client_assertion_type") != jwtBearer {
		return invalidRequest("client_assertion_type must be " + jwtBearer + ".")
	}
	code := p.Get("code")
	if len(code) > 256 {
		return invalidGrant("The code is invalid.")
	}
	ctx := r.Context()
	in, aud, err := h.authenticateClient(ctx, p.Get("client_id"), p.Get("client_assertion"), TokenPath)
	if err != nil {
		return err
	}
	now := h.now()
	lr, err := h.store.RedeemLoginCode(ctx, mfa.LoginCodeRedemption{CodeHash: mfa.CodeHash(code), IKey: in.IKey,
		RedirectURI: p.Get("redirect_uri"), Now: now})
	if errors.Is(err, mfa.ErrNotFound) {
		return invalidGrant("The code is unknown, used or expired, or was issued to another client or redirect_uri.")
	}
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	jti, err := mfa.NewBindingSecret(h.rand)
	if err != nil {
		return err
	}
	access, err := mfa.NewBindingSecret(h.rand)
	if err != nil {
		return err
	}
	authCtx, err := h.authContext(ctx, in, lr)
	if err != nil {
		return err
	}
	claims := idTokenClaims{
		Iss: aud, Aud: in.IKey, Exp: now.Add(TokenLifetime).Unix(), Iat: now.Unix(), Sub: lr.Username, JTI: jti,
		AuthTime: lr.AuthTime.Unix(), PreferredUsername: lr.Username, Nonce: lr.Nonce,
		AuthResult:  authResult{Result: "allow", Status: "allow", StatusMsg: "Login Successful"},
		AuthContext: authCtx,
	}
	idToken, err := signHS512(in.SKey.Reveal(), claims)
	if err != nil {
		return fmt.Errorf("sign id_token: %w", err)
	}
	writeJSON(w, http.StatusOK, tokenAnswer{IDToken: idToken, AccessToken: access,
		ExpiresIn: int(TokenLifetime.Seconds()), TokenType: "Bearer"})
	return nil
}

// authContext is the authentication-log record of the decision (by its
// txid), in the Admin API's shape; without one (a decision that wrote no
// record), the same shape built from the login request.
func (h *Handler) authContext(ctx context.Context, in mfa.Integration, lr mfa.LoginRequest) (api.AuthLogRecord, error) {
	if lr.AuthTxID != "" {
		es, _, err := h.store.ListAuthLog(ctx, mfa.AuthLogFilter{TxIDs: []string{lr.AuthTxID}, IKeys: []string{in.IKey}, Limit: 1})
		if err != nil {
			return api.AuthLogRecord{}, fmt.Errorf("auth context: %w", err)
		}
		if len(es) == 1 && strings.EqualFold(es[0].Username, lr.Username) {
			return api.NewAuthLogRecord(es[0]), nil
		}
	}
	return api.NewAuthLogRecord(mfa.AuthLogEntry{TxID: lr.AuthTxID, Time: lr.AuthTime, EventType: "authentication",
		Username: lr.Username, IKey: in.IKey, IntegrationName: in.Name, Factor: lr.Factor, Result: mfa.ResultSuccess}), nil
}

// discovery serves the OpenID Provider metadata, for tools that read it.
// Duo's tokens name the token endpoint as their issuer, so that is the
// issuer here too.
func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) error {
	host := r.Host
	if !h.hostAllowed("https://"+host, "") {
		if len(h.hosts) == 0 {
			return invalidRequest("No public host name is configured.")
		}
		host = h.hosts[0]
	}
	base := "https://" + host
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                           base + TokenPath,
		"authorization_endpoint":                           base + AuthorizePath,
		"token_endpoint":                                   base + TokenPath,
		"response_types_supported":                         []string{"code"},
		"grant_types_supported":                            []string{"authorization_code"},
		"subject_types_supported":                          []string{"public"},
		"scopes_supported":                                 []string{"openid"},
		"id_token_signing_alg_values_supported":            []string{"HS512"},
		"request_object_signing_alg_values_supported":      []string{"HS512"},
		"request_parameter_supported":                      true,
		"token_endpoint_auth_methods_supported":            []string{"client_secret_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"HS512"},
		"claims_supported": []string{"iss", "aud", "exp", "iat", "sub", "jti", "auth_time", "nonce",
			"preferred_username", "auth_result", "auth_context"},
	})
	return nil
}
