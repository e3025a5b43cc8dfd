package authflow_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/fido"
	"github.com/twostep-auth/twostep/internal/fido/fidotest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
)

// The relying party the tests' server is, and the browser's view of it.
var testRP = virtualwebauthn.RelyingParty{Name: "twostep", ID: "mfa.example.com", Origin: "https://mfa.example.com:8443"}

func newKeyEnv(t *testing.T, opts ...authflow.Option) *env {
	t.Helper()
	v, err := fido.New(fido.Config{RPID: "mfa.example.com", Origins: fido.Origins([]string{"mfa.example.com"}, "8443")})
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, append([]authflow.Option{authflow.WithWebAuthn(v)}, opts...)...)
}

// keyHolder is a person with a virtual authenticator.
type keyHolder struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newKeyHolder(opts virtualwebauthn.AuthenticatorOptions) *keyHolder {
	return &keyHolder{auth: virtualwebauthn.NewAuthenticatorWithOptions(opts), cred: fidotest.NewCredential()}
}

// attest begins a registration ceremony for u and makes the
// authenticator's answer through rp.
func (e *env) attest(t *testing.T, u mfa.User, k *keyHolder, rp virtualwebauthn.RelyingParty) (state string, resp []byte) {
	t.Helper()
	c, err := e.Svc.BeginKeyRegistration(e.ctx, u.ID, false)
	if err != nil {
		t.Fatalf("BeginKeyRegistration = %v", err)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(string(c.Options))
	if err != nil {
		t.Fatalf("ParseAttestationOptions = %v", err)
	}
	return c.State, []byte(virtualwebauthn.CreateAttestationResponse(rp, k.auth, k.cred, *opts))
}

// register runs the registration ceremony for u through rp.
func (e *env) register(t *testing.T, u mfa.User, k *keyHolder, rp virtualwebauthn.RelyingParty, name string) (mfa.WebAuthnCredential, error) {
	t.Helper()
	state, resp := e.attest(t, u, k, rp)
	got, err := e.Svc.FinishKeyRegistration(e.ctx, u.ID, state, name, resp)
	if err == nil {
		k.auth.AddCredential(k.cred)
	}
	return got, err
}

// assert begins a login and makes the authenticator's answer through rp.
func (e *env) assert(t *testing.T, user string, k *keyHolder, rp virtualwebauthn.RelyingParty) (state string, resp []byte) {
	t.Helper()
	c, err := e.Svc.BeginKeyLogin(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user}})
	if err != nil {
		t.Fatalf("BeginKeyLogin = %v", err)
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(string(c.Options))
	if err != nil {
		t.Fatalf("ParseAssertionOptions = %v", err)
	}
	return c.State, []byte(virtualwebauthn.CreateAssertionResponse(rp, k.auth, k.cred, *opts))
}

func (e *env) finishKey(t *testing.T, user, state string, resp []byte) authflow.AuthResult {
	t.Helper()
	res, err := e.Svc.FinishKeyLogin(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user}, IP: "192.0.2.7"}, state, resp)
	if err != nil {
		t.Fatalf("FinishKeyLogin = %v", err)
	}
	e.Clock.Advance(time.Millisecond)
	return res
}

func (e *env) keys(u mfa.User) []mfa.WebAuthnCredential {
	e.t.Helper()
	ks, err := e.Store.UserWebAuthnCredentials(e.ctx, u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ks
}

// TestKeyRegisterLogin: a key registers (named), logs in (counter moves,
// last used set, one success record with the key's factor word), and a
// second key of the same user works too.
func TestKeyRegisterLogin(t *testing.T) {
	e := newKeyEnv(t)
	u := e.user("alice", mfa.StatusActive)
	k := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	c, err := e.register(t, u, k, testRP, "  Blue key ")
	if err != nil {
		t.Fatalf("register = %v", err)
	}
	if c.Name != "Blue key" || c.UserID != u.ID || !strings.HasPrefix(c.ID, mfa.PrefixWebAuthn) || len(c.AAGUID) != 16 {
		t.Errorf("registered %+v; want named \"Blue key\", alice's, WA id, AAGUID", c)
	}
	k.cred.Counter = 1
	state, resp := e.assert(t, "alice", k, testRP)
	res := e.finishKey(t, "alice", state, resp)
	if res.Result != authflow.ResultAllow || res.LogFactor != authflow.LogFactorWebAuthn {
		t.Fatalf("FinishKeyLogin = %+v, want allow with factor %s", res, authflow.LogFactorWebAuthn)
	}
	l := e.lastLog(u.ID)
	if l.Factor != authflow.LogFactorWebAuthn || l.Result != mfa.ResultSuccess || l.DeviceID != c.ID || l.DeviceName != "Blue key" || l.IP != "192.0.2.7" {
		t.Errorf("log = %+v, want success, webauthn_credential, the key", l)
	}
	got := e.keys(u)[0]
	if got.SignCount != 1 || got.LastUsed.IsZero() {
		t.Errorf("after login: SignCount %d LastUsed %v; want 1, set", got.SignCount, got.LastUsed)
	}
	k2 := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	if _, err := e.register(t, u, k2, testRP, "Spare key"); err != nil {
		t.Fatalf("register second = %v", err)
	}
	state, resp = e.assert(t, "alice", k2, testRP)
	if res := e.finishKey(t, "alice", state, resp); res.Result != authflow.ResultAllow {
		t.Errorf("second key: %+v, want allow", res)
	}
	// The same key again: the registration excludes it.
	if _, err := e.register(t, u, k, testRP, "again"); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("registering the same key twice = %v, want Invalid", err)
	}
}

// TestKeyRegisterRefused: wrong origin, wrong relying party, a bad name,
// a replayed registration and an expired ceremony store nothing.
func TestKeyRegisterRefused(t *testing.T) {
	e := newKeyEnv(t)
	u := e.user("alice", mfa.StatusActive)
	tests := []struct {
		name     string
		rp       virtualwebauthn.RelyingParty
		keyName  string
		wantMsg  string
		wantFild string
	}{
		{"wrong origin", virtualwebauthn.RelyingParty{Name: "x", ID: testRP.ID, Origin: "https://evil.example"}, "k", "Open it at https://mfa.example.com", "credential"},
		{"wrong rp id", virtualwebauthn.RelyingParty{Name: "x", ID: "evil.example", Origin: testRP.Origin}, "k", "another site", "credential"},
		{"no name", testRP, "  ", "give the security key a name", "name"},
		{"long name", testRP, strings.Repeat("k", 65), "at most 64", "name"},
	}
	for _, tt := range tests {
		_, err := e.register(t, u, newKeyHolder(virtualwebauthn.AuthenticatorOptions{}), tt.rp, tt.keyName)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != tt.wantFild || !strings.Contains(me.Msg, tt.wantMsg) {
			t.Errorf("%s: register = %v, want Invalid on %s saying %q", tt.name, err, tt.wantFild, tt.wantMsg)
		}
	}
	// Replay and expiry.
	k := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	c, err := e.Svc.BeginKeyRegistration(e.ctx, u.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := virtualwebauthn.ParseAttestationOptions(string(c.Options))
	resp := []byte(virtualwebauthn.CreateAttestationResponse(testRP, k.auth, k.cred, *opts))
	e.Clock.Advance(authflow.KeyCeremonyTimeout)
	if _, err := e.Svc.FinishKeyRegistration(e.ctx, u.ID, c.State, "late", resp); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("FinishKeyRegistration after the timeout = %v, want Invalid", err)
	}
	c, _ = e.Svc.BeginKeyRegistration(e.ctx, u.ID, false)
	opts, _ = virtualwebauthn.ParseAttestationOptions(string(c.Options))
	resp = []byte(virtualwebauthn.CreateAttestationResponse(testRP, k.auth, k.cred, *opts))
	if _, err := e.Svc.FinishKeyRegistration(e.ctx, u.ID, c.State, "first", resp); err != nil {
		t.Fatalf("FinishKeyRegistration = %v", err)
	}
	if _, err := e.Svc.FinishKeyRegistration(e.ctx, u.ID, c.State, "replayed", resp); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("FinishKeyRegistration replayed = %v, want Invalid", err)
	}
	other := e.user("bob", mfa.StatusActive)
	if _, err := e.Svc.FinishKeyRegistration(e.ctx, other.ID, c.State, "stolen", resp); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("FinishKeyRegistration with another user's ceremony = %v, want Invalid", err)
	}
	if ks := e.keys(u); len(ks) != 1 || ks[0].Name != "first" {
		t.Errorf("keys = %+v, want only \"first\"", ks)
	}
	if ks := e.keys(other); len(ks) != 0 {
		t.Errorf("bob's keys = %d, want 0", len(ks))
	}
}

// TestKeyLoginRefused: wrong origin, wrong RP id, a replayed assertion, a
// counter regression and an unknown credential are each refused with
// nothing changed: no key's counter or last use moves, the user is not
// logged in; each refusal is one failure record (failures count toward
// lockout), and the counter regression marks the key and alerts.
func TestKeyLoginRefused(t *testing.T) {
	n := &mfatest.Notifier{}
	e := newKeyEnv(t, authflow.WithNotifier(n))
	e.settings(func(s *mfa.Settings) { s.FraudEmail, s.FraudEmailEnabled = "security@example.com", true })
	u := e.user("alice", mfa.StatusActive)
	k := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	if _, err := e.register(t, u, k, testRP, "Blue key"); err != nil {
		t.Fatal(err)
	}
	k.cred.Counter = 10
	state, resp := e.assert(t, "alice", k, testRP)
	if res := e.finishKey(t, "alice", state, resp); res.Result != authflow.ResultAllow {
		t.Fatalf("first login = %+v", res)
	}
	before := e.keys(u)
	stranger := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	stranger.auth.AddCredential(stranger.cred)

	tests := []struct {
		name       string
		answer     func() (string, []byte)
		wantReason string
		wantMsg    string
	}{
		{"wrong origin", func() (string, []byte) {
			k.cred.Counter = 11
			return e.assert(t, "alice", k, virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "https://mfa.example.net"})
		}, authflow.ReasonKeyInvalid, "Open it at https://mfa.example.com"},
		{"wrong rp id", func() (string, []byte) {
			k.cred.Counter = 12
			return e.assert(t, "alice", k, virtualwebauthn.RelyingParty{ID: "example.net", Origin: testRP.Origin})
		}, authflow.ReasonKeyInvalid, "another site"},
		{"unknown credential", func() (string, []byte) {
			state, _ := e.assert(t, "alice", k, testRP)
			c, _ := e.Svc.BeginKeyLogin(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"}})
			opts, _ := virtualwebauthn.ParseAssertionOptions(string(c.Options))
			return state, []byte(virtualwebauthn.CreateAssertionResponse(testRP, stranger.auth, stranger.cred, *opts))
		}, authflow.ReasonKeyUnknown, authflow.MsgKeyUnknown},
		{"replayed assertion", func() (string, []byte) { return state, resp }, authflow.ReasonKeyReplayed, authflow.MsgKeyUsed},
	}
	for i, tt := range tests {
		st, r := tt.answer()
		res := e.finishKey(t, "alice", st, r)
		if res.Result != authflow.ResultDeny || !strings.Contains(res.StatusMsg, tt.wantMsg) {
			t.Errorf("%s: %+v, want deny saying %q", tt.name, res, tt.wantMsg)
		}
		if l := e.lastLog(u.ID); l.Result != mfa.ResultFailure || l.Reason != tt.wantReason || l.Factor != authflow.LogFactorWebAuthn {
			t.Errorf("%s: log %+v, want failure %s", tt.name, l, tt.wantReason)
		}
		if got := e.getUser(u.ID).FailedAttempts; got != i+1 {
			t.Errorf("%s: FailedAttempts = %d, want %d", tt.name, got, i+1)
		}
		if diff := cmp.Diff(before, e.keys(u), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("%s: keys changed (-before +after):\n%s", tt.name, diff)
		}
	}

	// Counter regression: refused as fraud, the key marked, an alert sent.
	k.cred.Counter = 9
	st, r := e.assert(t, "alice", k, testRP)
	res := e.finishKey(t, "alice", st, r)
	if res.Result != authflow.ResultDeny || res.StatusMsg != authflow.MsgKeyCloned {
		t.Errorf("counter regression: %+v, want deny %q", res, authflow.MsgKeyCloned)
	}
	if l := e.lastLog(u.ID); l.Result != mfa.ResultFraud || l.Reason != authflow.ReasonKeyCloned {
		t.Errorf("counter regression log %+v, want fraud %s", l, authflow.ReasonKeyCloned)
	}
	after := e.keys(u)[0]
	if !after.Cloned || after.SignCount != before[0].SignCount || !after.LastUsed.Equal(before[0].LastUsed) {
		t.Errorf("after regression: %+v; want Cloned, counter and last use unchanged", after)
	}
	msgs := n.Messages()
	if len(msgs) != 1 || msgs[0].Subject != authflow.SubjectClonedKey+"alice" || !strings.Contains(string(msgs[0].Body), "Blue key") {
		t.Errorf("alerts = %+v, want one cloned-key notice naming the key", msgs)
	}
	// A cloned key is refused even with a good counter, and cannot start a login.
	if _, err := e.Svc.BeginKeyLogin(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"}}); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("BeginKeyLogin with only a cloned key = %v, want Invalid", err)
	}
}

// TestKeyLoginStateRefused: a missing, expired or other user's ceremony
// is Invalid and writes nothing.
func TestKeyLoginStateRefused(t *testing.T) {
	e := newKeyEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.user("bob", mfa.StatusActive)
	k := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	if _, err := e.register(t, u, k, testRP, "Blue key"); err != nil {
		t.Fatal(err)
	}
	k.cred.Counter = 1
	state, resp := e.assert(t, "alice", k, testRP)
	req := func(user string) authflow.AuthRequest {
		return authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user}}
	}
	if _, err := e.Svc.FinishKeyLogin(e.ctx, req("bob"), state, resp); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("FinishKeyLogin(bob, alice's ceremony) = %v, want Invalid", err)
	}
	if _, err := e.Svc.FinishKeyLogin(e.ctx, req("alice"), "", resp); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("FinishKeyLogin(no state) = %v, want Invalid", err)
	}
	e.Clock.Advance(authflow.KeyCeremonyTimeout)
	if _, err := e.Svc.FinishKeyLogin(e.ctx, req("alice"), state, resp); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("FinishKeyLogin(expired) = %v, want Invalid", err)
	}
	if l := e.logs(""); len(l) != 0 {
		t.Errorf("auth log has %d records, want 0", len(l))
	}
}

// TestKeyLoginConcurrent: one assertion sent twice at once logs in once.
func TestKeyLoginConcurrent(t *testing.T) {
	e := newKeyEnv(t)
	u := e.user("alice", mfa.StatusActive)
	k := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	if _, err := e.register(t, u, k, testRP, "Blue key"); err != nil {
		t.Fatal(err)
	}
	k.cred.Counter = 5
	state, resp := e.assert(t, "alice", k, testRP)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		allows int
	)
	for range 8 {
		wg.Go(func() {
			res, err := e.Svc.FinishKeyLogin(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"}}, state, resp)
			if err != nil {
				t.Errorf("FinishKeyLogin = %v", err)
				return
			}
			if res.Result == authflow.ResultAllow {
				mu.Lock()
				allows++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allows != 1 {
		t.Errorf("%d of 8 concurrent finishes allowed, want 1", allows)
	}
}

// TestKeyLockout: failed key logins lock the user out like passcodes.
func TestKeyLockout(t *testing.T) {
	e := newKeyEnv(t)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 2 })
	u := e.user("alice", mfa.StatusActive)
	k := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	if _, err := e.register(t, u, k, testRP, "Blue key"); err != nil {
		t.Fatal(err)
	}
	evil := virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "https://phish.example"}
	for i := range 2 {
		k.cred.Counter = uint32(i + 1)
		st, r := e.assert(t, "alice", k, evil)
		e.finishKey(t, "alice", st, r)
	}
	if got := e.getUser(u.ID).Status; got != mfa.StatusLockedOut {
		t.Fatalf("status after 2 failures = %s, want locked out", got)
	}
	k.cred.Counter = 5
	st, r := e.assert(t, "alice", k, testRP)
	if res := e.finishKey(t, "alice", st, r); res.Status != authflow.StatusLockedOut {
		t.Errorf("good key while locked out = %+v, want locked_out", res)
	}
}

// TestKeyUserVerificationAndPolicy: required user verification refuses
// a key that did not verify; the AAGUID allow list refuses other models.
func TestKeyUserVerificationAndPolicy(t *testing.T) {
	e := newKeyEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.settings(func(s *mfa.Settings) { s.WebAuthnUserVerification = mfa.UserVerificationReq })
	noUV := newKeyHolder(virtualwebauthn.AuthenticatorOptions{UserNotVerified: true})
	if _, err := e.register(t, u, noUV, testRP, "no pin"); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("register without user verification when required = %v, want Invalid", err)
	}
	uv := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	if _, err := e.register(t, u, uv, testRP, "pin"); err != nil {
		t.Fatalf("register with user verification = %v", err)
	}
	e.settings(func(s *mfa.Settings) {
		s.WebAuthnAttestation, s.WebAuthnAAGUIDs = mfa.AttestationAllowed, []string{authflow.FormatAAGUID(uv.auth.Aaguid[:])}
	})
	other := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	if _, err := e.register(t, u, other, testRP, "other model"); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("register a model not allowed = %v, want Invalid", err)
	}
	same := newKeyHolder(virtualwebauthn.AuthenticatorOptions{})
	same.auth.Aaguid = uv.auth.Aaguid
	if _, err := e.register(t, u, same, testRP, "same model"); err != nil {
		t.Errorf("register an allowed model = %v", err)
	}
	if got := len(e.keys(u)); got != 2 {
		t.Errorf("keys = %d, want 2", got)
	}
}

// TestKeyRenameRemove: a user renames and removes only their own keys.
func TestKeyRenameRemove(t *testing.T) {
	e := newKeyEnv(t)
	u, bob := e.user("alice", mfa.StatusActive), e.user("bob", mfa.StatusActive)
	c, err := e.register(t, u, newKeyHolder(virtualwebauthn.AuthenticatorOptions{}), testRP, "Blue key")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.RenameKey(e.ctx, bob.ID, c.ID, "mine"); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("RenameKey(another's) = %v, want NotFound", err)
	}
	if err := e.Svc.RemoveKey(e.ctx, bob.ID, c.ID); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("RemoveKey(another's) = %v, want NotFound", err)
	}
	if err := e.Svc.RenameKey(e.ctx, u.ID, c.ID, ""); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("RenameKey(empty) = %v, want Invalid", err)
	}
	if err := e.Svc.RenameKey(e.ctx, u.ID, c.ID, "Red key"); err != nil {
		t.Errorf("RenameKey = %v", err)
	}
	if ks := e.keys(u); len(ks) != 1 || ks[0].Name != "Red key" {
		t.Errorf("keys = %+v, want renamed", ks)
	}
	if err := e.Svc.RemoveKey(e.ctx, u.ID, c.ID); err != nil {
		t.Errorf("RemoveKey = %v", err)
	}
	if ks := e.keys(u); len(ks) != 0 {
		t.Errorf("keys after remove = %d", len(ks))
	}
}

// TestKeyRegisterLimitConcurrent: a user two keys short of the limit who
// finishes four registrations at once gets exactly two more keys; the
// others are refused naming the limit, on every backend (on PostgreSQL
// the count and the insert would interleave without the user's lock).
func TestKeyRegisterLimitConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, dsn func(t *testing.T) string) {
		v, err := fido.New(fido.Config{RPID: "mfa.example.com", Origins: fido.Origins([]string{"mfa.example.com"}, "8443")})
		if err != nil {
			t.Fatal(err)
		}
		e := newEnvDSN(t, dsn(t), authflow.WithWebAuthn(v))
		u := e.user("alice", mfa.StatusActive)
		for i := range mfa.MaxWebAuthnPerUser - 2 {
			c := fidotest.NewCredential()
			if err := e.Store.CreateWebAuthnCredential(e.ctx, mfa.WebAuthnCredential{
				ID: mfatest.NewID(t, mfa.PrefixWebAuthn), UserID: u.ID, Name: fmt.Sprintf("Key %d", i),
				CredentialID: c.ID, PublicKey: c.Key.AttestationData(), Created: e.Clock.Now()}); err != nil {
				t.Fatalf("CreateWebAuthnCredential = %v", err)
			}
		}
		const n = 4
		states := make([]string, n)
		resps := make([][]byte, n)
		for i := range n {
			states[i], resps[i] = e.attest(t, u, newKeyHolder(virtualwebauthn.AuthenticatorOptions{}), testRP)
		}
		errs := mfatest.Race(t, n, func(ctx context.Context, i int) error {
			_, err := e.Svc.FinishKeyRegistration(ctx, u.ID, states[i], fmt.Sprintf("New key %d", i), resps[i])
			return err
		})
		ok := 0
		for _, err := range errs {
			var me *mfa.Error
			switch {
			case err == nil:
				ok++
			case errors.As(err, &me) && me.Kind == mfa.Invalid && me.Field == "name" && strings.Contains(me.Msg, "most security keys"):
			default:
				t.Errorf("FinishKeyRegistration = %v; want nil or the limit", err)
			}
		}
		if got := len(e.keys(u)); ok != 2 || got != mfa.MaxWebAuthnPerUser {
			t.Errorf("%d of %d concurrent registrations succeeded, %d keys stored; want 2 and %d", ok, n, got, mfa.MaxWebAuthnPerUser)
		}
	})
}
