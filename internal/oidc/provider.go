package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// The standard OpenID Connect provider (docs/oidc.md), beside the
// Universal Prompt endpoints: for applications without a Duo SDK (Grafana,
// any OIDC library). Its clients are integrations of type oidc; twostep
// checks the first factor itself (internal/web/login) and then runs the
// prompt. Issuer: https://<host>/oidc.
const (
	ProviderPrefix       = "/oidc"
	ProviderDiscovery    = ProviderPrefix + "/.well-known/openid-configuration"
	ProviderJWKSPath     = ProviderPrefix + "/jwks"
	ProviderAuthorize    = ProviderPrefix + "/authorize"
	ProviderReturnPath   = ProviderPrefix + "/authorize/return"
	ProviderTokenPath    = ProviderPrefix + "/token"
	ProviderUserinfoPath = ProviderPrefix + "/userinfo"
	// ProviderEndSession is served by internal/web/login (it ends the
	// browser's session), with EndSession's checks.
	ProviderEndSession = ProviderPrefix + "/end_session"
)

// Token lifetimes of the standard provider.
const (
	IDTokenLifetime     = 10 * time.Minute
	AccessTokenLifetime = 10 * time.Minute
)

// Scopes the provider knows; others are ignored (OpenID Connect Core
// 3.1.2.1).
var supportedScopes = []string{"openid", "profile", "email", "groups"}

// ACR values.
const (
	ACRMultiFactor = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
	ACRPassword    = "urn:twostep:acr:pwd"
)

// ProviderStore is what the standard provider needs from the store.
type ProviderStore interface {
	Store
	mfa.SigningKeyStore
	GetUser(ctx context.Context, id string) (mfa.User, error)
	UserGroups(ctx context.Context, userID string) ([]mfa.Group, error)
}

// Provider serves the standard OpenID Connect endpoints. It shares the
// Universal Prompt handler's hosts, clock, randomness, logger, failure
// limiter and error adapters.
type Provider struct {
	*Handler
	store    ProviderStore
	rotation time.Duration
}

// NewProvider returns the standard provider; rotation is how long a
// signing key signs (DefaultKeyRotation when 0).
func NewProvider(h *Handler, store ProviderStore, rotation time.Duration) *Provider {
	if rotation <= 0 {
		rotation = DefaultKeyRotation
	}
	return &Provider{Handler: h, store: store, rotation: rotation}
}

// Register mounts the standard provider's routes on mux (end_session is
// the browser surface's: internal/web/login).
func (p *Provider) Register(mux *http.ServeMux) {
	mux.Handle("GET "+ProviderDiscovery, p.api(p.discovery))
	mux.Handle("GET "+ProviderJWKSPath, p.api(p.jwks))
	mux.Handle("GET "+ProviderAuthorize, p.page(p.stdAuthorize))
	mux.Handle("GET "+ProviderReturnPath, p.page(p.authorizeReturn))
	mux.Handle("POST "+ProviderTokenPath, p.slowed(false, p.api(p.stdToken)))
	mux.Handle("GET "+ProviderUserinfoPath, p.api(p.stdUserinfo))
	mux.Handle("POST "+ProviderUserinfoPath, p.api(p.stdUserinfo))
}

// issuer is https://<host>/oidc for the host the client used (when it is
// one of ours), else for the first configured host.
func (p *Provider) issuer(r *http.Request) (string, error) {
	host := r.Host
	if !p.hostAllowed("https://"+host, "") {
		if len(p.hosts) == 0 {
			return "", invalidRequest("No public host name is configured.")
		}
		host = p.hosts[0]
	}
	return "https://" + host + ProviderPrefix, nil
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) error {
	iss, err := p.issuer(r)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(iss, ProviderPrefix)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                base + ProviderAuthorize,
		"token_endpoint":                        base + ProviderTokenPath,
		"userinfo_endpoint":                     base + ProviderUserinfoPath,
		"jwks_uri":                              base + ProviderJWKSPath,
		"end_session_endpoint":                  base + ProviderEndSession,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{keyAlg},
		"scopes_supported":                      supportedScopes,
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"prompt_values_supported":               []string{"none", "login", "consent", "select_account"},
		"acr_values_supported":                  []string{ACRMultiFactor, ACRPassword},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "amr", "acr",
			"preferred_username", "name", "given_name", "family_name", "email", "groups"},
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"claims_parameter_supported":                     false,
		"frontchannel_logout_supported":                  false,
		"backchannel_logout_supported":                   false,
		"authorization_response_iss_parameter_supported": false,
	})
	return nil
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) error {
	// A key must exist before the first token, so that clients fetching
	// the set early find one.
	if _, err := p.currentKey(r.Context()); err != nil {
		return err
	}
	set, err := p.publicJWKS(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Del("Pragma")
	writeJSON(w, http.StatusOK, set)
	return nil
}

// oidcClient returns the oidc integration clientID names, or invalid_client.
func (p *Provider) oidcClient(ctx context.Context, clientID string) (mfa.Integration, error) {
	if clientID == "" || len(clientID) > maxClientIDLen {
		return mfa.Integration{}, invalidClient("The client_id is missing or invalid.")
	}
	in, err := p.store.GetIntegration(ctx, clientID)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.Integration{}, invalidClient("Unknown client_id.")
	}
	if err != nil {
		return mfa.Integration{}, fmt.Errorf("client %s: %w", clientID, err)
	}
	if in.Type != mfa.IntegrationOIDC {
		return mfa.Integration{}, invalidClient("This client_id is not an OpenID Connect client.")
	}
	return in, nil
}

// scopes keeps the known scopes of a scope parameter, in order, once.
func scopes(raw string) []string {
	var out []string
	for _, s := range strings.Fields(raw) {
		if slices.Contains(supportedScopes, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // claims are plain structs and maps: cannot fail
	}
	return b
}
