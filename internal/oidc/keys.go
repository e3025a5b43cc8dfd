package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// The standard provider's signing keys: ES256 (P-256), kept sealed in the
// store (mfa.SigningKeyStore). The newest key still within its NotAfter
// signs; a key is created when there is none (the first token after
// installation, or after key_rotation). Every key stays published in the
// JWKS until its Expires, which is its NotAfter plus the longest token
// lifetime and the leeway, so that a token signed just before a rotation
// keeps verifying until it expires. RotateKeys rotates at once.

// keyAlg is the signing algorithm.
const keyAlg = "ES256"

// DefaultKeyRotation is how long a key signs before the next replaces it.
const DefaultKeyRotation = 30 * 24 * time.Hour

// keyOverlap is how long a key stays published after it stops signing.
const keyOverlap = AccessTokenLifetime + Leeway

type signingKey struct {
	id  string
	key *ecdsa.PrivateKey
}

// loadKeys returns the published keys, newest first, parsed.
func (p *Provider) loadKeys(ctx context.Context) ([]mfa.SigningKey, []signingKey, error) {
	ks, err := p.store.ListSigningKeys(ctx, p.now())
	if err != nil {
		return nil, nil, fmt.Errorf("signing keys: %w", err)
	}
	parsed := make([]signingKey, 0, len(ks))
	for _, k := range ks {
		if k.Algorithm != keyAlg {
			continue
		}
		priv, err := x509.ParsePKCS8PrivateKey(k.Private.Reveal())
		if err != nil {
			return nil, nil, fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		ec, ok := priv.(*ecdsa.PrivateKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, nil, fmt.Errorf("signing key %s is not a P-256 key", k.ID)
		}
		parsed = append(parsed, signingKey{id: k.ID, key: ec})
	}
	return ks, parsed, nil
}

// currentKey returns the key that signs now, creating one when none does.
func (p *Provider) currentKey(ctx context.Context) (signingKey, error) {
	ks, parsed, err := p.loadKeys(ctx)
	if err != nil {
		return signingKey{}, err
	}
	now := p.now()
	for i, k := range ks {
		if k.Algorithm == keyAlg && k.NotAfter.After(now) {
			for _, pk := range parsed {
				if pk.id == ks[i].ID {
					return pk, nil
				}
			}
		}
	}
	return p.newKey(ctx, now)
}

// newKey creates and stores a new signing key.
func (p *Provider) newKey(ctx context.Context, now time.Time) (signingKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), p.rand)
	if err != nil {
		return signingKey{}, fmt.Errorf("new signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return signingKey{}, fmt.Errorf("new signing key: %w", err)
	}
	idb := make([]byte, 12)
	if _, err := p.rand.Read(idb); err != nil {
		return signingKey{}, fmt.Errorf("new signing key: %w", err)
	}
	k := mfa.SigningKey{ID: hex.EncodeToString(idb), Algorithm: keyAlg, Private: mfa.Secret(der), Created: now,
		NotAfter: now.Add(p.rotation), Expires: now.Add(p.rotation + keyOverlap)}
	if err := p.store.CreateSigningKey(ctx, k); err != nil {
		return signingKey{}, fmt.Errorf("new signing key: %w", err)
	}
	p.log.InfoContext(ctx, "oidc signing key created", "kid", k.ID, "not_after", k.NotAfter)
	return signingKey{id: k.ID, key: priv}, nil
}

// RotateKeys makes a new signing key sign from now on; the keys before it
// stop signing now and stay published for the longest token lifetime, so
// that the tokens they signed keep verifying until they expire.
func (p *Provider) RotateKeys(ctx context.Context) (string, error) {
	now := p.now()
	k, err := p.newKey(ctx, now)
	if err != nil {
		return "", err
	}
	if _, err := p.store.RetireSigningKeys(ctx, now, now, keyOverlap); err != nil {
		return "", fmt.Errorf("rotate keys: %w", err)
	}
	return k.id, nil
}

// publicJWKS is the published key set.
func (p *Provider) publicJWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	_, parsed, err := p.loadKeys(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range parsed {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.key.Public(), KeyID: k.id, Algorithm: keyAlg, Use: "sig"})
	}
	return set, nil
}

// sign serializes claims as a compact ES256 JWT of type typ under the
// current key.
func (p *Provider) sign(ctx context.Context, typ string, claims any) (string, error) {
	k, err := p.currentKey(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	obj, err := signer.Sign(mustJSON(claims))
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return obj.CompactSerialize()
}

var _ crypto.Signer = (*ecdsa.PrivateKey)(nil)
