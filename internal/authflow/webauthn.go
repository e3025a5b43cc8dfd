package authflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// Security keys and passkeys (WebAuthn, docs/security-keys.md). The
// protocol is an mfa.WebAuthnVerifier (internal/fido); the rules are here:
// a ceremony's state is kept server-side by the edge (the browser session)
// and finishes at most once (its challenge is claimed in the store, across
// nodes) within KeyCeremonyTimeout; a login assertion moves the key's
// signature counter with one conditional write (GuardWebAuthnCounter); a
// counter that does not move forward marks the key possibly cloned,
// refuses the login and alerts the administrators; every login decision
// writes one auth log record, and failures count toward lockout.

// WithWebAuthn turns security keys on with the protocol v.
func WithWebAuthn(v mfa.WebAuthnVerifier) Option { return func(s *Service) { s.keys = v } }

// LogFactorWebAuthn is the auth log factor of a security key or passkey
// (the word Duo's prompt uses for its WebAuthn device).
const LogFactorWebAuthn = "webauthn_credential"

// Auth log reasons of security key logins. Duo's user_approved on success;
// the refusals are ours.
const (
	ReasonKeyApproved = "user_approved"
	ReasonKeyInvalid  = "invalid_security_key" // did not verify: origin, relying party, signature
	ReasonKeyUnknown  = "unknown_security_key" // not one of the user's keys
	ReasonKeyReplayed = "used_security_key_challenge"
	ReasonKeyCloned   = "cloned_security_key" // the signature counter went backwards
)

// Messages of security key logins.
const (
	MsgKeyCloned  = "This security key cannot be used: it may have been copied. Contact your administrator."
	MsgKeyUnknown = "That security key is not registered for your account."
	MsgKeyUsed    = "That security key answer was already used. Try again."
)

// KeyCeremonyTimeout is how long a begun ceremony may take to finish.
const KeyCeremonyTimeout = 5 * time.Minute

// SubjectClonedKey starts the subject of the cloned-key alert.
const SubjectClonedKey = "twostep: possibly cloned security key of "

// ErrKeysOff answers every security key call when WithWebAuthn is unset.
var ErrKeysOff = mfa.E(mfa.Unavailable, "security keys are not set up on this server")

// KeyCeremony is a ceremony begun for a browser: Options go to the page;
// State must be kept server-side (the browser session) and handed back to
// the Finish call, once.
type KeyCeremony struct {
	Options []byte
	State   string
}

// keyState is a ceremony's server-side state.
type keyState struct {
	Purpose   string    `json:"p"` // "register" or "login"
	UserID    string    `json:"u"`
	Platform  bool      `json:"pl,omitempty"`
	Challenge string    `json:"c"`
	Expires   time.Time `json:"e"`
	Session   []byte    `json:"s"`
}

const (
	purposeRegister = "register"
	purposeLogin    = "login"
)

// KeysEnabled reports whether security keys are on.
func (s *Service) KeysEnabled() bool { return s.keys != nil }

func keyUser(u mfa.User) mfa.WebAuthnUser {
	display := u.RealName
	if display == "" {
		display = u.Username
	}
	return mfa.WebAuthnUser{ID: u.ID, Name: u.Username, DisplayName: display}
}

func userVerification(st mfa.Settings) string {
	if st.WebAuthnUserVerification == mfa.UserVerificationReq {
		return mfa.UserVerificationReq
	}
	return mfa.UserVerificationPre
}

func (s *Service) newCeremony(purpose, userID string, platform bool, b mfa.WebAuthnBegin) (KeyCeremony, error) {
	st, err := json.Marshal(keyState{Purpose: purpose, UserID: userID, Platform: platform, Challenge: b.Challenge,
		Expires: s.now().Add(KeyCeremonyTimeout), Session: b.Session})
	if err != nil {
		return KeyCeremony{}, fmt.Errorf("key ceremony: %w", err)
	}
	return KeyCeremony{Options: b.Options, State: string(st)}, nil
}

var errNoCeremony = mfa.InvalidField("credential", "This security key attempt has ended. Start again.")

// openCeremony checks state for purpose and userID. A missing, foreign or
// expired state is Invalid: nothing was attempted with a key.
func (s *Service) openCeremony(state, purpose, userID string) (keyState, error) {
	var st keyState
	if state == "" || json.Unmarshal([]byte(state), &st) != nil || st.Purpose != purpose || st.UserID != userID ||
		st.Challenge == "" || !s.now().Before(st.Expires) {
		return keyState{}, errNoCeremony
	}
	return st, nil
}

// claimCeremony spends the ceremony's challenge: of two finishes of one
// ceremony, on any nodes, exactly one gets nil; the other Conflict.
func (s *Service) claimCeremony(ctx context.Context, st keyState) error {
	now := s.now()
	exp := st.Expires
	if !exp.After(now) {
		return errNoCeremony
	}
	return s.store.ClaimSignature(ctx, mfa.SignatureKey("webauthn", 1, st.Challenge), now, exp)
}

// UserKeys lists the user's security keys.
func (s *Service) UserKeys(ctx context.Context, userID string) ([]mfa.WebAuthnCredential, error) {
	return s.store.UserWebAuthnCredentials(ctx, userID)
}

// LoginKey is one security key of the user a login is for.
type LoginKey struct {
	mfa.WebAuthnCredential
	// Default: the user chose this key as their default at the portal.
	Default bool
}

// LoginKeys lists the security keys of the user a login is for (by
// username); none for an unknown user or when keys are off.
func (s *Service) LoginKeys(ctx context.Context, username string) ([]LoginKey, error) {
	if s.keys == nil {
		return nil, nil
	}
	u, err := s.store.GetUserByName(ctx, strings.TrimSpace(username))
	if errors.Is(err, mfa.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	creds, err := s.store.UserWebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	keys := make([]LoginKey, 0, len(creds))
	for _, c := range creds {
		keys = append(keys, LoginKey{WebAuthnCredential: c,
			Default: u.DefaultMethod == mfa.DefaultMethodKey && c.ID == u.DefaultDevice})
	}
	return keys, nil
}

// BeginKeyRegistration starts registering a security key (platform:
// this device's own authenticator) for a signed-in user.
func (s *Service) BeginKeyRegistration(ctx context.Context, userID string, platform bool) (KeyCeremony, error) {
	if s.keys == nil {
		return KeyCeremony{}, ErrKeysOff
	}
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return KeyCeremony{}, err
	}
	existing, err := s.store.UserWebAuthnCredentials(ctx, userID)
	if err != nil {
		return KeyCeremony{}, err
	}
	return s.beginRegistration(ctx, purposeRegister, keyUser(u), existing, platform, "the most one account can have")
}

// beginRegistration starts a registration ceremony for who (a user's or
// an administrator's keys, purpose telling them apart), excluding the
// keys they have, at most mfa.MaxWebAuthnPerUser.
func (s *Service) beginRegistration(ctx context.Context, purpose string, who mfa.WebAuthnUser, existing []mfa.WebAuthnCredential,
	platform bool, most string) (KeyCeremony, error) {
	if len(existing) >= mfa.MaxWebAuthnPerUser {
		return KeyCeremony{}, mfa.InvalidField("name", fmt.Sprintf("You already have %d security keys, %s. Remove one first.", len(existing), most))
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return KeyCeremony{}, err
	}
	b, err := s.keys.BeginRegistration(mfa.WebAuthnRegistration{User: who, Existing: existing, Platform: platform,
		UserVerification: userVerification(st), Attestation: st.WebAuthnAttestation == mfa.AttestationAllowed})
	if err != nil {
		return KeyCeremony{}, err
	}
	return s.newCeremony(purpose, who.ID, platform, b)
}

// FinishKeyRegistration verifies the browser's answer to a registration
// ceremony (state from BeginKeyRegistration) and stores the key under
// name. Invalid naming the problem: a bad name (field "name"), an answer
// that does not verify or an authenticator model the attestation policy
// refuses (field "credential").
func (s *Service) FinishKeyRegistration(ctx context.Context, userID, state, name string, response []byte) (mfa.WebAuthnCredential, error) {
	c, ks, err := s.finishRegistration(ctx, purposeRegister, userID, state, name, response,
		func() (mfa.WebAuthnUser, error) {
			u, err := s.store.GetUser(ctx, userID)
			return keyUser(u), err
		}, "Your organisation does not allow this model of security key. Ask your administrator which keys you can use.")
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	if c.Attachment == "" && ks.Platform {
		c.Attachment = mfa.AttachmentPlatform
	}
	if c.ID, err = mfa.NewID(mfa.PrefixWebAuthn, s.rand); err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	c.UserID, c.Created = userID, s.now()
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		// Locked, so that two registrations finishing at once cannot
		// both count 19 keys and both add one.
		if err := s.store.LockUser(ctx, userID); err != nil {
			return err
		}
		have, err := s.store.UserWebAuthnCredentials(ctx, userID)
		if err != nil {
			return err
		}
		if len(have) >= mfa.MaxWebAuthnPerUser {
			return mfa.InvalidField("name", "You already have the most security keys one account can have. Remove one first.")
		}
		return s.store.CreateWebAuthnCredential(ctx, c)
	})
	if errors.Is(err, mfa.ErrConflict) {
		return mfa.WebAuthnCredential{}, mfa.InvalidField("credential", "This security key is already registered.")
	}
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	s.log.InfoContext(ctx, "security key registered", "user_id", userID, "webauthnkey", c.ID, "platform", c.Platform())
	return c, nil
}

// finishRegistration verifies the browser's answer to a registration
// ceremony of purpose for owner (loaded by who, after the ceremony is
// known to be theirs) and returns the credential with Name set: a bad
// name, an unknown, expired or already answered ceremony, an answer that
// does not verify, or a model the attestation policy refuses (refused)
// are Invalid naming their field.
func (s *Service) finishRegistration(ctx context.Context, purpose, owner, state, name string, response []byte,
	who func() (mfa.WebAuthnUser, error), refused string) (mfa.WebAuthnCredential, keyState, error) {
	if s.keys == nil {
		return mfa.WebAuthnCredential{}, keyState{}, ErrKeysOff
	}
	name = strings.TrimSpace(name)
	if err := mfa.CheckWebAuthnName(name); err != nil {
		return mfa.WebAuthnCredential{}, keyState{}, err
	}
	ks, err := s.openCeremony(state, purpose, owner)
	if err != nil {
		return mfa.WebAuthnCredential{}, keyState{}, err
	}
	u, err := who()
	if err != nil {
		return mfa.WebAuthnCredential{}, keyState{}, err
	}
	if err := s.claimCeremony(ctx, ks); err != nil {
		if errors.Is(err, mfa.ErrConflict) {
			return mfa.WebAuthnCredential{}, keyState{}, mfa.InvalidField("credential", MsgKeyUsed)
		}
		return mfa.WebAuthnCredential{}, keyState{}, err
	}
	c, err := s.keys.FinishRegistration(u, ks.Session, response)
	if err != nil {
		return mfa.WebAuthnCredential{}, keyState{}, err
	}
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return mfa.WebAuthnCredential{}, keyState{}, err
	}
	if st.WebAuthnAttestation == mfa.AttestationAllowed && !slices.Contains(st.WebAuthnAAGUIDs, FormatAAGUID(c.AAGUID)) {
		return mfa.WebAuthnCredential{}, keyState{}, mfa.InvalidField("credential", refused)
	}
	c.Name = name
	return c, ks, nil
}

// userKey returns the user's key id, NotFound for anyone else's.
func (s *Service) userKey(ctx context.Context, userID, id string) (mfa.WebAuthnCredential, error) {
	c, err := s.store.GetWebAuthnCredential(ctx, id)
	if err != nil || c.UserID != userID {
		return mfa.WebAuthnCredential{}, mfa.E(mfa.NotFound, "security key not found")
	}
	return c, nil
}

// RenameKey renames one of the user's own keys.
func (s *Service) RenameKey(ctx context.Context, userID, id, name string) error {
	name = strings.TrimSpace(name)
	if err := mfa.CheckWebAuthnName(name); err != nil {
		return err
	}
	if _, err := s.userKey(ctx, userID, id); err != nil {
		return err
	}
	return s.store.RenameWebAuthnCredential(ctx, id, name)
}

// RemoveKey removes one of the user's own keys.
func (s *Service) RemoveKey(ctx context.Context, userID, id string) error {
	if _, err := s.userKey(ctx, userID, id); err != nil {
		return err
	}
	if err := s.store.DeleteWebAuthnCredential(ctx, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "security key removed by its user", "user_id", userID, "webauthnkey", id)
	return nil
}

// BeginKeyLogin starts a security key login for req's user, who must
// have a usable key. Invalid (field "credential") when they have none.
func (s *Service) BeginKeyLogin(ctx context.Context, req AuthRequest) (KeyCeremony, error) {
	if s.keys == nil {
		return KeyCeremony{}, ErrKeysOff
	}
	if err := req.Who.check(); err != nil {
		return KeyCeremony{}, err
	}
	a, err := s.load(ctx, req.Who, mfa.AccountQuery{})
	if err != nil {
		return KeyCeremony{}, err
	}
	if !a.known {
		return KeyCeremony{}, mfa.InvalidField("credential", MsgKeyUnknown)
	}
	creds, err := s.store.UserWebAuthnCredentials(ctx, a.user.ID)
	if err != nil {
		return KeyCeremony{}, err
	}
	creds = slices.DeleteFunc(creds, func(c mfa.WebAuthnCredential) bool { return c.Cloned })
	if len(creds) == 0 {
		return KeyCeremony{}, mfa.InvalidField("credential", "You have no security key you can use. Choose another way.")
	}
	b, err := s.keys.BeginLogin(keyUser(a.user), creds, userVerification(a.settings))
	if err != nil {
		return KeyCeremony{}, err
	}
	return s.newCeremony(purposeLogin, a.user.ID, false, b)
}

// FinishKeyLogin decides a security key login: state is BeginKeyLogin's,
// response the browser's PublicKeyCredential (JSON). Like Auth, every
// decision writes one auth log record with the user's failure count or
// success; a missing, expired or other user's state is Invalid and writes
// nothing. A refusal's StatusMsg says what went wrong in words a person
// can act on (a wrong origin names the address to use).
func (s *Service) FinishKeyLogin(ctx context.Context, req AuthRequest, state string, response []byte) (AuthResult, error) {
	if s.keys == nil {
		return AuthResult{}, ErrKeysOff
	}
	if err := req.Who.check(); err != nil {
		return AuthResult{}, err
	}
	a, err := s.load(ctx, req.Who, mfa.AccountQuery{})
	if err != nil {
		return AuthResult{}, err
	}
	if !a.known {
		return AuthResult{}, errNoCeremony
	}
	ks, err := s.openCeremony(state, purposeLogin, a.user.ID)
	if err != nil {
		return AuthResult{}, err
	}
	d := &decision{s: s, req: req, a: a, factor: LogFactorWebAuthn}
	if !a.permitted(req.Integration) {
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonNotPermitted, StatusDeny, MsgNotPermitted)
	}
	switch a.status() {
	case mfa.StatusDisabled:
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonUserDisabled, StatusDeny, MsgDisabled)
	case mfa.StatusLockedOut:
		w := mfa.AuthWrite{CountFailure: true, Threshold: a.settings.LockoutThreshold}
		return d.deny(ctx, w, mfa.ResultDenied, ReasonLockedOut, StatusLockedOut, MsgLockedOut)
	}
	if ok, wait := s.byUser.Take(a.user.ID); !ok {
		return AuthResult{}, mfa.RetryLater(msgUserLimited, wait)
	}
	if err := s.hitDurable(ctx, s.durUser, "user:"+a.user.ID, msgUserLimited, "user_id", a.user.ID); err != nil {
		return AuthResult{}, err
	}
	fail := func(reason, msg string) (AuthResult, error) { return s.keyFailure(ctx, d, reason, msg) }
	if err := s.claimCeremony(ctx, ks); errors.Is(err, mfa.ErrConflict) {
		return fail(ReasonKeyReplayed, MsgKeyUsed)
	} else if err != nil {
		return AuthResult{}, err
	}
	creds, err := s.store.UserWebAuthnCredentials(ctx, a.user.ID)
	if err != nil {
		return AuthResult{}, err
	}
	credID, err := s.keys.AssertedCredentialID(response)
	if err != nil {
		return fail(ReasonKeyInvalid, mfa.MsgOf(err))
	}
	i := slices.IndexFunc(creds, func(c mfa.WebAuthnCredential) bool { return string(c.CredentialID) == string(credID) })
	if i < 0 {
		return fail(ReasonKeyUnknown, MsgKeyUnknown)
	}
	key := creds[i]
	d.device, d.name = key.ID, key.Name
	if key.Cloned {
		return fail(ReasonKeyCloned, MsgKeyCloned)
	}
	as, err := s.keys.FinishLogin(keyUser(a.user), creds, ks.Session, response)
	if err != nil {
		if mfa.KindOf(err) != mfa.Invalid {
			return AuthResult{}, err
		}
		s.log.InfoContext(ctx, "security key answer refused", "user_id", a.user.ID, "webauthnkey", key.ID, "err", err)
		return fail(ReasonKeyInvalid, mfa.MsgOf(err))
	}
	_, err = d.write(ctx, mfa.AuthWrite{Guard: mfa.Guard{Kind: mfa.GuardWebAuthnCounter, ID: key.ID, Counter: uint64(as.Counter)},
		Success: true}, mfa.ResultSuccess, ReasonKeyApproved)
	switch {
	case errors.Is(err, mfa.ErrConflict):
		return s.keyCloned(ctx, d, key, as.Counter)
	case errors.Is(err, mfa.ErrNotFound): // removed meanwhile
		return fail(ReasonKeyUnknown, MsgKeyUnknown)
	case err != nil:
		return AuthResult{}, err
	}
	var tok string
	if req.wantsToken() {
		if tok, err = s.rememberDevice(ctx, req.Integration, a.user.ID, ""); err != nil {
			return AuthResult{}, err
		}
	}
	return AuthResult{Result: ResultAllow, Status: StatusAllow, StatusMsg: MsgSuccess, TrustedDeviceToken: tok,
		LogTxID: d.logTx, LogFactor: d.factor}, nil
}

// keyFailure records a refused key login: one failure toward lockout and
// its auth log record, the lockout notice when it locks the user.
func (s *Service) keyFailure(ctx context.Context, d *decision, reason, msg string) (AuthResult, error) {
	out, err := d.write(ctx, mfa.AuthWrite{CountFailure: true, Threshold: d.a.settings.LockoutThreshold}, mfa.ResultFailure, reason)
	if err != nil {
		return AuthResult{}, err
	}
	if out.Failure.LockedOut {
		s.noticeLockout(ctx, d, out.Failure.FailedAttempts)
	}
	if out.Failure.LockedOut || out.Failure.Status == mfa.StatusLockedOut {
		return AuthResult{Result: ResultDeny, Status: StatusLockedOut, StatusMsg: MsgLockedOut, LogTxID: d.logTx, LogFactor: d.factor}, nil
	}
	return AuthResult{Result: ResultDeny, Status: StatusDeny, StatusMsg: msg, LogTxID: d.logTx, LogFactor: d.factor}, nil
}

// keyCloned handles a counter that did not move forward: the key is
// marked possibly cloned and the login refused (as a fraud), in one store
// transaction, then the administrators are alerted and it is logged.
func (s *Service) keyCloned(ctx context.Context, d *decision, key mfa.WebAuthnCredential, counter uint32) (AuthResult, error) {
	var out mfa.AuthOutcome
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.MarkWebAuthnCloned(ctx, key.ID); err != nil {
			return err
		}
		var err error
		out, err = d.write(ctx, mfa.AuthWrite{CountFailure: true, Threshold: d.a.settings.LockoutThreshold}, mfa.ResultFraud, ReasonKeyCloned)
		return err
	})
	if err != nil {
		return AuthResult{}, err
	}
	s.log.WarnContext(ctx, "security key counter went backwards: key marked possibly cloned, login refused",
		reqid.Key, reqid.From(ctx), "user_id", d.a.user.ID, "webauthnkey", key.ID, "stored_counter", key.SignCount,
		"counter", counter, "remote_ip", d.req.IP)
	s.noticeClonedKey(ctx, d, key, counter)
	if out.Failure.LockedOut {
		s.noticeLockout(ctx, d, out.Failure.FailedAttempts)
	}
	return AuthResult{Result: ResultDeny, Status: StatusDeny, StatusMsg: MsgKeyCloned, LogTxID: d.logTx, LogFactor: d.factor}, nil
}

// noticeClonedKey emails the fraud address (as a reported fraud and a
// lockout are) that a key may have been cloned. Best effort: logged, not
// returned.
func (s *Service) noticeClonedKey(ctx context.Context, d *decision, key mfa.WebAuthnCredential, counter uint32) {
	st := d.a.settings
	if !st.FraudEmailEnabled || st.FraudEmail == "" || s.notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockoutNoticeTimeout)
	defer cancel()
	u := d.a.user
	body := fmt.Sprintf("A security key's signature counter went backwards, which happens when a key has been copied. The login was refused and the key can no longer be used until an administrator removes it.\n\nUser: %s\nSecurity key: %s (%s)\nStored counter: %d\nCounter sent: %d\nApplication: %s\nClient IP: %s\nTime: %s\n\nAsk the user whether they still hold the key, remove it, and have them register a new one.\n",
		u.Username, key.Name, key.ID, key.SignCount, counter, d.req.Integration.Name, d.req.IP, s.now().UTC().Format(time.RFC3339))
	m := mfa.Message{Channel: mfa.ChannelEmail, To: st.FraudEmail, Subject: SubjectClonedKey + u.Username,
		Body: mfa.Passcode(body), Context: "fraud", UserID: u.ID}
	if err := s.notifier.Send(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "cloned key notice: email", reqid.Key, reqid.From(ctx), "user_id", u.ID, "err", err)
	}
}

// FormatAAGUID writes an AAGUID as a lower-case hyphenated UUID ("" for
// none).
func FormatAAGUID(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}
