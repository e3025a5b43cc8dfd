// Package fidotest holds test helpers for WebAuthn ceremonies driven by
// github.com/descope/virtualwebauthn.
package fidotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"

	"github.com/descope/virtualwebauthn"
)

// NewCredential returns a new P-256 credential whose public key encodes
// correctly.
//
// virtualwebauthn (v1.0.3) writes the COSE key's x and y coordinates with
// big.Int.Bytes, which drops leading zero bytes; about one key in 128 then
// has a 31-byte coordinate, which a real authenticator never sends and
// go-webauthn rightly refuses ("EC2 key x or y coordinate has invalid
// length"). Tests that use virtualwebauthn.NewCredential directly fail at
// that rate, so this draws keys until both coordinates are full length.
func NewCredential() virtualwebauthn.Credential {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic("fidotest: generate key: " + err.Error())
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic("fidotest: marshal key: " + err.Error())
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}
