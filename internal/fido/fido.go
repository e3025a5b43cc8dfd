package fido

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Config says where the relying party lives.
type Config struct {
	// RPID is the relying-party id: the first public hostname.
	RPID string
	// RPName is shown by some authenticators ("twostep").
	RPName string
	// Origins are the page origins ceremonies may come from
	// ("https://mfa.example.com:8443"); each host must be RPID or a
	// subdomain of it.
	Origins []string
}

// Verifier is mfa.WebAuthnVerifier over go-webauthn.
type Verifier struct {
	w    *webauthn.WebAuthn
	rpID string
}

var _ mfa.WebAuthnVerifier = (*Verifier)(nil)

// Origins returns the origins of hosts at port (omitted when 443):
// https://host[:port], the scheme every twostep page is served with.
func Origins(hosts []string, port string) []string {
	var out []string
	for _, h := range hosts {
		if port == "" || port == "443" {
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			}
			out = append(out, "https://"+h)
			continue
		}
		out = append(out, "https://"+net.JoinHostPort(h, port))
	}
	return out
}

// New checks c and makes a Verifier. An IP address cannot be a
// relying-party id, and an origin outside the id's domain could never
// complete a ceremony: both are errors naming the value.
func New(c Config) (*Verifier, error) {
	rp := strings.ToLower(strings.TrimSuffix(c.RPID, "."))
	switch {
	case rp == "":
		return nil, errors.New("webauthn: no public hostname to use as relying-party id (set public_hostnames)")
	case net.ParseIP(strings.Trim(rp, "[]")) != nil:
		return nil, fmt.Errorf("webauthn: relying-party id %q is an IP address; security keys need a DNS name in public_hostnames", c.RPID)
	}
	if len(c.Origins) == 0 {
		return nil, errors.New("webauthn: no origins")
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			return nil, fmt.Errorf("webauthn: origin %q is not an https URL", o)
		}
		if h := strings.ToLower(u.Hostname()); h != rp && !strings.HasSuffix(h, "."+rp) {
			return nil, fmt.Errorf("webauthn: origin %q is not in the relying-party id's domain %q", o, rp)
		}
	}
	name := c.RPName
	if name == "" {
		name = "twostep"
	}
	w, err := webauthn.New(&webauthn.Config{RPID: rp, RPDisplayName: name, RPOrigins: c.Origins})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &Verifier{w: w, rpID: rp}, nil
}

// RPID is the relying-party id.
func (v *Verifier) RPID() string { return v.rpID }

// user adapts a person and their credentials to go-webauthn.
type user struct {
	u     mfa.WebAuthnUser
	creds []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return []byte(u.u.ID) }
func (u user) WebAuthnName() string                       { return u.u.Name }
func (u user) WebAuthnDisplayName() string                { return u.u.DisplayName }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func toCredential(c mfa.WebAuthnCredential) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, 0, len(c.Transports))
	for _, t := range c.Transports {
		ts = append(ts, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID: c.CredentialID, PublicKey: c.PublicKey, Transport: ts,
		Flags: webauthn.CredentialFlags{BackupEligible: c.BackupEligible, BackupState: c.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount,
			Attachment: protocol.AuthenticatorAttachment(c.Attachment)},
	}
}

func newUser(u mfa.WebAuthnUser, creds []mfa.WebAuthnCredential) user {
	out := user{u: u}
	for _, c := range creds {
		out.creds = append(out.creds, toCredential(c))
	}
	return out
}

func uv(s string) protocol.UserVerificationRequirement {
	if s == mfa.UserVerificationReq {
		return protocol.VerificationRequired
	}
	return protocol.VerificationPreferred
}

func begin(options any, session *webauthn.SessionData) (mfa.WebAuthnBegin, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return mfa.WebAuthnBegin{}, fmt.Errorf("webauthn options: %w", err)
	}
	sess, err := json.Marshal(session)
	if err != nil {
		return mfa.WebAuthnBegin{}, fmt.Errorf("webauthn session: %w", err)
	}
	return mfa.WebAuthnBegin{Options: opts, Session: sess, Challenge: session.Challenge}, nil
}

// BeginRegistration makes creation options: a resident key preferred
// (a passkey when the authenticator can), the existing keys excluded.
func (v *Verifier) BeginRegistration(r mfa.WebAuthnRegistration) (mfa.WebAuthnBegin, error) {
	sel := protocol.AuthenticatorSelection{UserVerification: uv(r.UserVerification),
		ResidentKey: protocol.ResidentKeyRequirementPreferred}
	if r.Platform {
		sel.AuthenticatorAttachment = protocol.Platform
	} else {
		sel.AuthenticatorAttachment = protocol.CrossPlatform
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range newUser(r.User, r.Existing).creds {
		exclude = append(exclude, c.Descriptor())
	}
	conveyance := protocol.PreferNoAttestation
	if r.Attestation {
		conveyance = protocol.PreferDirectAttestation
	}
	opts, sess, err := v.w.BeginRegistration(newUser(r.User, nil), webauthn.WithAuthenticatorSelection(sel),
		webauthn.WithExclusions(exclude), webauthn.WithConveyancePreference(conveyance))
	if err != nil {
		return mfa.WebAuthnBegin{}, fmt.Errorf("begin webauthn registration: %w", err)
	}
	return begin(opts, sess)
}

func session(b []byte) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	if err := json.Unmarshal(b, &s); err != nil || s.Challenge == "" {
		return s, mfa.InvalidField("session", "no security key ceremony is under way; start again")
	}
	return s, nil
}

// FinishRegistration verifies a creation response.
func (v *Verifier) FinishRegistration(u mfa.WebAuthnUser, sess, response []byte) (mfa.WebAuthnCredential, error) {
	s, err := session(sess)
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return mfa.WebAuthnCredential{}, refused(err, v.rpID)
	}
	c, err := v.w.CreateCredential(newUser(u, nil), s, parsed)
	if err != nil {
		return mfa.WebAuthnCredential{}, refused(err, v.rpID)
	}
	out := mfa.WebAuthnCredential{
		CredentialID: c.ID, PublicKey: c.PublicKey, SignCount: c.Authenticator.SignCount,
		AAGUID: c.Authenticator.AAGUID, Attachment: string(c.Authenticator.Attachment),
		BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState,
	}
	for _, t := range c.Transport {
		if t != "" && !strings.Contains(string(t), ",") {
			out.Transports = append(out.Transports, string(t))
		}
	}
	return out, nil
}

// BeginLogin makes request options allowing the user's credentials.
func (v *Verifier) BeginLogin(u mfa.WebAuthnUser, creds []mfa.WebAuthnCredential, userVerification string) (mfa.WebAuthnBegin, error) {
	opts, sess, err := v.w.BeginLogin(newUser(u, creds), webauthn.WithUserVerification(uv(userVerification)))
	if err != nil {
		return mfa.WebAuthnBegin{}, fmt.Errorf("begin webauthn login: %w", err)
	}
	return begin(opts, sess)
}

// AssertedCredentialID reads a login response's credential id.
func (v *Verifier) AssertedCredentialID(response []byte) ([]byte, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, refused(err, v.rpID)
	}
	return parsed.RawID, nil
}

// FinishLogin verifies a login response.
func (v *Verifier) FinishLogin(u mfa.WebAuthnUser, creds []mfa.WebAuthnCredential, sess, response []byte) (mfa.WebAuthnAssertion, error) {
	s, err := session(sess)
	if err != nil {
		return mfa.WebAuthnAssertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return mfa.WebAuthnAssertion{}, refused(err, v.rpID)
	}
	if _, err := v.w.ValidateLogin(newUser(u, creds), s, parsed); err != nil {
		return mfa.WebAuthnAssertion{}, refused(err, v.rpID)
	}
	f := parsed.Response.AuthenticatorData.Flags
	return mfa.WebAuthnAssertion{CredentialID: bytes.Clone(parsed.RawID), Counter: parsed.Response.AuthenticatorData.Counter,
		UserVerified: f.HasUserVerified(), BackupState: f.HasBackupState()}, nil
}

// refused turns a protocol failure into an Invalid error a person can act
// on; the library's details stay in Err, for logs.
func refused(err error, rpID string) error {
	var pe *protocol.Error
	msg := "The security key's answer could not be verified. Try again."
	if errors.As(err, &pe) {
		info := pe.Details + " " + pe.DevInfo
		switch {
		case strings.Contains(info, "origin"):
			msg = fmt.Sprintf("This page was opened at an address the server does not serve security keys for. Open it at https://%s and try again.", rpID)
		case strings.Contains(info, "RP Hash"):
			msg = fmt.Sprintf("The security key answered for another site, not %s.", rpID)
		case strings.Contains(info, "challenge"):
			msg = "That security key answer belongs to another attempt. Try again."
		case strings.Contains(info, "User verification") || strings.Contains(info, "user verification"):
			msg = "Your security key did not check your PIN or fingerprint, which is required. Try again and confirm with your PIN or fingerprint."
		case strings.Contains(info, "credential"):
			msg = "That security key is not registered for your account."
		case strings.Contains(info, "signature") || strings.Contains(info, "Signature"):
			msg = "The security key's signature is not valid."
		}
	}
	return &mfa.Error{Kind: mfa.Invalid, Field: "credential", Msg: msg, Err: err}
}
