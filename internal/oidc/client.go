package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Client authentication (client_secret_jwt): a JWT signed HS512 with the
// websdk integration's secret key, iss = sub = client_id, aud = the
// endpoint's URL on a public host name, a short exp and a jti that is
// accepted once (claimed in the shared used-signature store, like a signed
// API request).

const (
	maxClientIDLen = 64
	maxJTILen      = 255
	// jwtBearer is the only client_assertion_type.
	jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// errAssertion is the answer to every bad assertion, as Duo words it.
	errAssertion = "The provided client_assertion was invalid."
)

type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *numericDate    `json:"exp"`
	JTI string          `json:"jti"`
}

// audience returns a JWT aud that is one string (or a one-element array).
func audience(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil && len(l) == 1 {
		return l[0], true
	}
	return "", false
}

// client returns the websdk integration clientID names, or invalid_client.
func (h *Handler) client(ctx context.Context, clientID string) (mfa.Integration, error) {
	if clientID == "" || len(clientID) > maxClientIDLen {
		return mfa.Integration{}, invalidClient("The client_id is missing or invalid.")
	}
	in, err := h.store.GetIntegration(ctx, clientID)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.Integration{}, invalidClient("Unknown client_id.")
	}
	if err != nil {
		return mfa.Integration{}, fmt.Errorf("client %s: %w", clientID, err)
	}
	if in.Type != mfa.IntegrationWebSDK {
		return mfa.Integration{}, invalidClient("This client_id is not a Web SDK application.")
	}
	return in, nil
}

// authenticateClient checks the client assertion for the endpoint at path
// and claims its jti. It returns the integration and the assertion's
// audience (the endpoint's URL as the client addressed it).
func (h *Handler) authenticateClient(ctx context.Context, clientID, assertion, path string) (mfa.Integration, string, error) {
	in, err := h.client(ctx, clientID)
	if err != nil {
		return mfa.Integration{}, "", err
	}
	tok, err := parseHS512(assertion)
	if err != nil {
		return mfa.Integration{}, "", invalidClient(errAssertion)
	}
	var c assertionClaims
	if err := tok.Claims(hs512Key(in.SKey.Reveal()), &c); err != nil {
		return mfa.Integration{}, "", invalidClient(errAssertion)
	}
	now := h.now()
	aud, ok := audience(c.Aud)
	switch {
	case c.Iss != in.IKey || c.Sub != in.IKey:
		return mfa.Integration{}, "", invalidClient(errAssertion)
	case !ok || !h.hostAllowed(aud, path):
		return mfa.Integration{}, "", invalidClient(errAssertion)
	case checkExp(c.Exp, now) != nil:
		return mfa.Integration{}, "", invalidClient(errAssertion)
	case c.JTI == "" || len(c.JTI) > maxJTILen:
		return mfa.Integration{}, "", invalidClient(errAssertion)
	}
	// The claim outlives every instant at which the assertion is valid.
	expires := c.Exp.Add(Leeway + time.Second)
	key := mfa.SignatureKey(in.IKey, 0, "oidc client_assertion\x00"+c.JTI)
	if err := h.store.ClaimSignature(ctx, key, now, expires); err != nil {
		if errors.Is(err, mfa.ErrConflict) {
			return mfa.Integration{}, "", invalidClient("The client_assertion was already used.")
		}
		return mfa.Integration{}, "", fmt.Errorf("claim client assertion: %w", err)
	}
	return in, aud, nil
}
