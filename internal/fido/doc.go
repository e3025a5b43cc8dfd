// Package fido implements mfa.WebAuthnVerifier with
// github.com/go-webauthn/webauthn: the WebAuthn protocol for security keys
// and passkeys (creation and request options, attestation and assertion
// verification, origin and relying-party id checks). It decides nothing
// about accounts, counters or logs: authflow does, so that the engine keeps
// importing no HTTP or vendor code.
//
// It is an adapter: it imports mfa and nothing else of ours.
package fido
