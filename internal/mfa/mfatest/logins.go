package mfatest

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func loginRequestTests() []storeTest {
	return []storeTest{
		{"CreateGet", testLoginCreateGet},
		{"CreateInvalid", testLoginCreateInvalid},
		{"CreateUnknownIntegration", testLoginCreateUnknownIntegration},
		{"Complete", testLoginComplete},
		{"CompleteExpired", testLoginCompleteExpired},
		{"CompleteConcurrent", testLoginCompleteConcurrent},
		{"IssueCode", testLoginIssueCode},
		{"Redeem", testLoginRedeem},
		{"RedeemRefusedConsumesNothing", testLoginRedeemRefused},
		{"RedeemExpired", testLoginRedeemExpired},
		{"RedeemConcurrent", testLoginRedeemConcurrent},
		{"DeleteExpired", testLoginDeleteExpired},
		{"IntegrationDeleted", testLoginIntegrationDeleted},
		{"BoundTo", testLoginBoundTo},
		{"OIDCFields", testLoginOIDCFields},
		{"SetUser", testLoginSetUser},
		{"SetUserConcurrent", testLoginSetUserConcurrent},
	}
}

const loginRedirect = "https://app.example.com/duo-callback"

// newLogin stores a pending login request of a new websdk integration,
// created at at(0) and expiring at at(10m), bound to the returned secret.
func newLogin(t *testing.T, s mfa.Store, mods ...func(*mfa.LoginRequest)) (mfa.LoginRequest, string) {
	t.Helper()
	in := NewIntegration(t, s, mfa.IntegrationWebSDK, func(in *mfa.Integration) { in.RedirectURIs = []string{loginRedirect} })
	id, err := mfa.NewLoginRequestID(rand.Reader)
	check(t, "NewLoginRequestID", err)
	secret, err := mfa.NewBindingSecret(rand.Reader)
	check(t, "NewBindingSecret", err)
	r := mfa.LoginRequest{ID: id, IKey: in.IKey, Username: "alice", RedirectURI: loginRedirect,
		State: "state-0123456789abcdefghij", Nonce: "n-0S6_WzA2Mj", UseDuoCode: true,
		ReturnPath: "/oauth/v1/authorize/return?id=" + id, BindingHash: mfa.BindingHash(secret),
		Created: at(0), Expires: at(10 * time.Minute)}
	for _, m := range mods {
		m(&r)
	}
	check(t, "CreateLoginRequest", s.CreateLoginRequest(t.Context(), r))
	return r, secret
}

// allowed completes r with allow at at(1m) and issues a code (returned)
// valid until at(2m).
func allowed(t *testing.T, s mfa.Store, r mfa.LoginRequest) string {
	t.Helper()
	ctx := t.Context()
	_, err := s.CompleteLoginRequest(ctx, r.ID, mfa.LoginOutcome{Result: mfa.LoginAllow, AuthTxID: NewTxID(t),
		Factor: "passcode", AuthTime: at(time.Minute)})
	check(t, "CompleteLoginRequest", err)
	code, err := mfa.NewBindingSecret(rand.Reader)
	check(t, "new code", err)
	check(t, "IssueLoginCode", s.IssueLoginCode(ctx, r.ID, mfa.CodeHash(code), at(time.Minute), at(2*time.Minute)))
	return code
}

func redemption(r mfa.LoginRequest, code string, now time.Time) mfa.LoginCodeRedemption {
	return mfa.LoginCodeRedemption{CodeHash: mfa.CodeHash(code), IKey: r.IKey, RedirectURI: r.RedirectURI, Now: now}
}

func testLoginCreateGet(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	for _, useDuoCode := range []bool{true, false} {
		r, _ := newLogin(t, s, func(r *mfa.LoginRequest) { r.UseDuoCode = useDuoCode })
		got, err := s.GetLoginRequest(ctx, r.ID)
		check(t, "GetLoginRequest", err)
		if diff := cmp.Diff(r, got, cmpOpts); diff != "" {
			t.Errorf("GetLoginRequest(%s) mismatch (-want +got):\n%s", r.ID, diff)
		}
		wantKind(t, "CreateLoginRequest(same id)", s.CreateLoginRequest(ctx, r), mfa.Conflict)
	}
	_, err := s.GetLoginRequest(ctx, "no-such-id")
	wantKind(t, "GetLoginRequest(unknown)", err, mfa.NotFound)
}

func testLoginCreateInvalid(t *testing.T, s mfa.Store) {
	good, _ := newLogin(t, s)
	tests := []struct {
		name  string
		mod   func(*mfa.LoginRequest)
		field string
	}{
		{"no id", func(r *mfa.LoginRequest) { r.ID = "" }, "id"},
		{"no ikey", func(r *mfa.LoginRequest) { r.IKey = "" }, "ikey"},
		{"no username", func(r *mfa.LoginRequest) { r.Username = "" }, "username"},
		{"no redirect", func(r *mfa.LoginRequest) { r.RedirectURI = "" }, "redirect_uri"},
		{"no binding", func(r *mfa.LoginRequest) { r.BindingHash = "" }, "binding_hash"},
		{"no expiry", func(r *mfa.LoginRequest) { r.Expires = time.Time{} }, "expires"},
		{"with outcome", func(r *mfa.LoginRequest) { r.Result = mfa.LoginAllow }, "result"},
		{"with code", func(r *mfa.LoginRequest) { r.CodeHash = mfa.CodeHash("x") }, "code"},
	}
	for _, tt := range tests {
		r := good
		r.ID = good.ID + "-" + fmt.Sprint(len(tt.name))
		tt.mod(&r)
		wantField(t, "CreateLoginRequest("+tt.name+")", s.CreateLoginRequest(t.Context(), r), mfa.Invalid, tt.field)
	}
}

func testLoginCreateUnknownIntegration(t *testing.T, s mfa.Store) {
	r, _ := newLogin(t, s)
	r.ID += "x"
	r.IKey = NewID(t, mfa.PrefixIntegration)
	wantKind(t, "CreateLoginRequest(unknown integration)", s.CreateLoginRequest(t.Context(), r), mfa.NotFound)
}

func testLoginComplete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r, _ := newLogin(t, s)
	out := mfa.LoginOutcome{Result: mfa.LoginDeny, AuthTxID: NewTxID(t), Factor: "duo_push", AuthTime: at(time.Minute)}
	for _, bad := range []mfa.LoginOutcome{{Result: "maybe", AuthTime: at(0)}, {Result: mfa.LoginAllow}} {
		_, err := s.CompleteLoginRequest(ctx, r.ID, bad)
		wantKind(t, fmt.Sprintf("CompleteLoginRequest(%+v)", bad), err, mfa.Invalid)
	}
	got, err := s.CompleteLoginRequest(ctx, r.ID, out)
	check(t, "CompleteLoginRequest", err)
	want := r
	want.Result, want.AuthTxID, want.Factor, want.AuthTime = out.Result, out.AuthTxID, out.Factor, out.AuthTime
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("CompleteLoginRequest mismatch (-want +got):\n%s", diff)
	}
	stored, err := s.GetLoginRequest(ctx, r.ID)
	check(t, "GetLoginRequest", err)
	if diff := cmp.Diff(want, stored, cmpOpts); diff != "" {
		t.Errorf("GetLoginRequest after complete mismatch (-want +got):\n%s", diff)
	}
	_, err = s.CompleteLoginRequest(ctx, r.ID, mfa.LoginOutcome{Result: mfa.LoginAllow, AuthTime: at(2 * time.Minute)})
	wantKind(t, "CompleteLoginRequest again", err, mfa.Conflict)
	_, err = s.CompleteLoginRequest(ctx, "no-such-id", out)
	wantKind(t, "CompleteLoginRequest(unknown)", err, mfa.NotFound)
	// A denied request gets no code.
	wantKind(t, "IssueLoginCode(denied)", s.IssueLoginCode(ctx, r.ID, mfa.CodeHash("c"), at(time.Minute), at(2*time.Minute)), mfa.Conflict)
}

func testLoginCompleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r, _ := newLogin(t, s)
	_, err := s.CompleteLoginRequest(ctx, r.ID, mfa.LoginOutcome{Result: mfa.LoginAllow, AuthTime: r.Expires})
	wantKind(t, "CompleteLoginRequest at expiry", err, mfa.Conflict)
	_, err = s.CompleteLoginRequest(ctx, r.ID, mfa.LoginOutcome{Result: mfa.LoginAllow, AuthTime: r.Expires.Add(-time.Microsecond)})
	check(t, "CompleteLoginRequest just before expiry", err)
}

func testLoginCompleteConcurrent(t *testing.T, s mfa.Store) {
	r, _ := newLogin(t, s)
	errs := Race(t, 50, func(ctx context.Context, i int) error {
		res := mfa.LoginAllow
		if i%2 == 1 {
			res = mfa.LoginDeny
		}
		_, err := s.CompleteLoginRequest(ctx, r.ID, mfa.LoginOutcome{Result: res, AuthTime: at(time.Minute)})
		return err
	})
	wantRace(t, "CompleteLoginRequest", errs, 1, mfa.Conflict)
}

func testLoginIssueCode(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r, _ := newLogin(t, s)
	h := mfa.CodeHash("code-1")
	wantKind(t, "IssueLoginCode(pending)", s.IssueLoginCode(ctx, r.ID, h, at(time.Minute), at(2*time.Minute)), mfa.Conflict)
	_, err := s.CompleteLoginRequest(ctx, r.ID, mfa.LoginOutcome{Result: mfa.LoginAllow, AuthTime: at(time.Minute)})
	check(t, "CompleteLoginRequest", err)
	wantField(t, "IssueLoginCode(bad hash)", s.IssueLoginCode(ctx, r.ID, "abc", at(time.Minute), at(2*time.Minute)), mfa.Invalid, "code_hash")
	wantField(t, "IssueLoginCode(expired)", s.IssueLoginCode(ctx, r.ID, h, at(time.Minute), at(time.Minute)), mfa.Invalid, "expires")
	wantKind(t, "IssueLoginCode(after the request expired)", s.IssueLoginCode(ctx, r.ID, h, r.Expires, r.Expires.Add(time.Minute)), mfa.Conflict)
	wantKind(t, "IssueLoginCode(unknown)", s.IssueLoginCode(ctx, "no-such-id", h, at(time.Minute), at(2*time.Minute)), mfa.NotFound)
	check(t, "IssueLoginCode", s.IssueLoginCode(ctx, r.ID, h, at(time.Minute), at(2*time.Minute)))
	got, err := s.GetLoginRequest(ctx, r.ID)
	check(t, "GetLoginRequest", err)
	if got.CodeHash != h || !got.CodeExpires.Equal(at(2*time.Minute)) || !got.CodeUsed.IsZero() {
		t.Errorf("after IssueLoginCode: CodeHash %q CodeExpires %v CodeUsed %v; want %q, %v, zero", got.CodeHash, got.CodeExpires, got.CodeUsed, h, at(2*time.Minute))
	}
	wantKind(t, "IssueLoginCode again", s.IssueLoginCode(ctx, r.ID, mfa.CodeHash("code-2"), at(time.Minute), at(2*time.Minute)), mfa.Conflict)
	errs := Race(t, 20, func(ctx context.Context, i int) error {
		return s.IssueLoginCode(ctx, r.ID, mfa.CodeHash(fmt.Sprint("race", i)), at(time.Minute), at(2*time.Minute))
	})
	wantRace(t, "IssueLoginCode after one was issued", errs, 0, mfa.Conflict)
}

func testLoginRedeem(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r, _ := newLogin(t, s)
	code := allowed(t, s, r)
	got, err := s.RedeemLoginCode(ctx, redemption(r, code, at(90*time.Second)))
	check(t, "RedeemLoginCode", err)
	if got.ID != r.ID || got.Username != r.Username || got.Nonce != r.Nonce || got.Result != mfa.LoginAllow ||
		!got.CodeUsed.Equal(at(90*time.Second)) {
		t.Errorf("RedeemLoginCode = %+v, want request %s of alice with CodeUsed %v", got, r.ID, at(90*time.Second))
	}
	_, err = s.RedeemLoginCode(ctx, redemption(r, code, at(91*time.Second)))
	wantKind(t, "RedeemLoginCode again", err, mfa.NotFound)
	_, err = s.RedeemLoginCode(ctx, redemption(r, "", at(91*time.Second)))
	wantKind(t, "RedeemLoginCode(empty)", err, mfa.NotFound)
}

// testLoginRedeemRefused: an exchange by another client, for another
// redirect URI or with another code consumes nothing.
func testLoginRedeemRefused(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r, _ := newLogin(t, s)
	other, _ := newLogin(t, s)
	code := allowed(t, s, r)
	now := at(90 * time.Second)
	refused := []struct {
		name string
		give mfa.LoginCodeRedemption
	}{
		{"another client", mfa.LoginCodeRedemption{CodeHash: mfa.CodeHash(code), IKey: other.IKey, RedirectURI: r.RedirectURI, Now: now}},
		{"another redirect", mfa.LoginCodeRedemption{CodeHash: mfa.CodeHash(code), IKey: r.IKey, RedirectURI: r.RedirectURI + "/x", Now: now}},
		{"redirect prefix", mfa.LoginCodeRedemption{CodeHash: mfa.CodeHash(code), IKey: r.IKey, RedirectURI: "https://app.example.com/", Now: now}},
		{"unknown code", redemption(r, code+"x", now)},
	}
	for _, tt := range refused {
		_, err := s.RedeemLoginCode(ctx, tt.give)
		wantKind(t, "RedeemLoginCode("+tt.name+")", err, mfa.NotFound)
	}
	got, err := s.GetLoginRequest(ctx, r.ID)
	check(t, "GetLoginRequest", err)
	if !got.CodeUsed.IsZero() {
		t.Errorf("after refused exchanges CodeUsed = %v, want zero", got.CodeUsed)
	}
	_, err = s.RedeemLoginCode(ctx, redemption(r, code, now))
	check(t, "RedeemLoginCode after refused exchanges", err)
}

func testLoginRedeemExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r, _ := newLogin(t, s)
	code := allowed(t, s, r) // valid until at(2m)
	_, err := s.RedeemLoginCode(ctx, redemption(r, code, at(2*time.Minute)))
	wantKind(t, "RedeemLoginCode at the code's expiry", err, mfa.NotFound)
	_, err = s.RedeemLoginCode(ctx, redemption(r, code, at(2*time.Minute-time.Microsecond)))
	check(t, "RedeemLoginCode just before expiry", err)
}

// testLoginRedeemConcurrent: two (here fifty) exchanges of one code race;
// exactly one gets the result.
func testLoginRedeemConcurrent(t *testing.T, s mfa.Store) {
	r, _ := newLogin(t, s)
	code := allowed(t, s, r)
	errs := Race(t, 50, func(ctx context.Context, i int) error {
		_, err := s.RedeemLoginCode(ctx, redemption(r, code, at(90*time.Second+time.Duration(i)*time.Millisecond)))
		return err
	})
	wantRace(t, "RedeemLoginCode", errs, 1, mfa.NotFound)
}

func testLoginDeleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	pending, _ := newLogin(t, s)
	withCode, _ := newLogin(t, s, func(r *mfa.LoginRequest) { r.Expires = at(90 * time.Second) })
	code := allowed(t, s, withCode) // code valid until at(2m)
	later, _ := newLogin(t, s, func(r *mfa.LoginRequest) { r.Expires = at(time.Hour) })

	n, err := s.DeleteExpiredLoginRequests(ctx, at(100*time.Second))
	check(t, "DeleteExpiredLoginRequests(100s)", err)
	if n != 0 {
		t.Errorf("DeleteExpiredLoginRequests(100s) = %d, want 0 (the code outlives its request)", n)
	}
	n, err = s.DeleteExpiredLoginRequests(ctx, at(10*time.Minute))
	check(t, "DeleteExpiredLoginRequests(10m)", err)
	if n != 2 {
		t.Errorf("DeleteExpiredLoginRequests(10m) = %d, want 2", n)
	}
	for _, id := range []string{pending.ID, withCode.ID} {
		_, err := s.GetLoginRequest(ctx, id)
		wantKind(t, "GetLoginRequest(reaped)", err, mfa.NotFound)
	}
	_, err = s.RedeemLoginCode(ctx, redemption(withCode, code, at(110*time.Second)))
	wantKind(t, "RedeemLoginCode(reaped)", err, mfa.NotFound)
	_, err = s.GetLoginRequest(ctx, later.ID)
	check(t, "GetLoginRequest(unexpired)", err)
}

func testLoginIntegrationDeleted(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r, _ := newLogin(t, s)
	check(t, "DeleteIntegration", s.DeleteIntegration(ctx, r.IKey))
	_, err := s.GetLoginRequest(ctx, r.ID)
	wantKind(t, "GetLoginRequest after its integration was deleted", err, mfa.NotFound)
}

func testLoginBoundTo(t *testing.T, s mfa.Store) {
	r, secret := newLogin(t, s)
	got, err := s.GetLoginRequest(t.Context(), r.ID)
	check(t, "GetLoginRequest", err)
	tests := []struct {
		give string
		want bool
	}{
		{secret, true},
		{"", false},
		{secret + "x", false},
		{secret[:len(secret)-1], false},
		{got.BindingHash, false},
	}
	for _, tt := range tests {
		if g := got.BoundTo(tt.give); g != tt.want {
			t.Errorf("BoundTo(%q) = %v, want %v", tt.give, g, tt.want)
		}
	}
	if (mfa.LoginRequest{}).BoundTo("") || (mfa.LoginRequest{}).BoundTo(secret) {
		t.Errorf("a request without a binding hash is bound to something")
	}
}

// newOIDCLogin stores a pending OIDC login (no user yet).
func newOIDCLogin(t *testing.T, s mfa.Store) mfa.LoginRequest {
	t.Helper()
	r, _ := newLogin(t, s, func(r *mfa.LoginRequest) {
		r.Protocol, r.Username, r.UseDuoCode = mfa.LoginOIDC, "", false
		r.Scope, r.CodeChallenge, r.ForceLogin, r.MaxAge = "openid email", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", true, 300
		r.ReturnPath, r.Continue = "/login/"+r.ID+"/done", "/oidc/authorize/return?id="+r.ID
	})
	return r
}

func testLoginOIDCFields(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r := newOIDCLogin(t, s)
	got, err := s.GetLoginRequest(ctx, r.ID)
	check(t, "GetLoginRequest", err)
	if diff := cmp.Diff(r, got, cmpOpts); diff != "" {
		t.Errorf("GetLoginRequest(oidc) mismatch (-want +got):\n%s", diff)
	}
	if !got.NeedsFirstFactor() {
		t.Errorf("NeedsFirstFactor() = false for an OIDC login without a user")
	}
	// A Universal Prompt login still needs its username; a new login has no user.
	_, err = newLoginErr(t, s, func(r *mfa.LoginRequest) { r.Username = "" })
	wantKind(t, "CreateLoginRequest(no username, universal prompt)", err, mfa.Invalid)
	_, err = newLoginErr(t, s, func(r *mfa.LoginRequest) { r.Protocol, r.UserID = mfa.LoginOIDC, "DU123" })
	wantKind(t, "CreateLoginRequest(user set)", err, mfa.Invalid)
	_, err = newLoginErr(t, s, func(r *mfa.LoginRequest) { r.Protocol = "saml" })
	wantKind(t, "CreateLoginRequest(protocol saml)", err, mfa.Invalid)
}

// newLoginErr is newLogin returning CreateLoginRequest's error.
func newLoginErr(t *testing.T, s mfa.Store, mod func(*mfa.LoginRequest)) (mfa.LoginRequest, error) {
	t.Helper()
	in := NewIntegration(t, s, mfa.IntegrationOIDC, func(in *mfa.Integration) { in.RedirectURIs = []string{loginRedirect} })
	id, err := mfa.NewLoginRequestID(rand.Reader)
	check(t, "NewLoginRequestID", err)
	r := mfa.LoginRequest{ID: id, IKey: in.IKey, Username: "alice", RedirectURI: loginRedirect,
		BindingHash: mfa.BindingHash("x"), Created: at(0), Expires: at(10 * time.Minute)}
	mod(&r)
	return r, s.CreateLoginRequest(t.Context(), r)
}

func testLoginSetUser(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	r := newOIDCLogin(t, s)
	u := mfa.LoginUser{UserID: "DUAAAAAAAAAAAAAAAAAA", Username: "alice", FirstFactor: mfa.FirstFactorPassword}
	wantKind(t, "SetLoginUser(no user id)", func() error {
		_, err := s.SetLoginUser(ctx, r.ID, mfa.LoginUser{Username: "alice"}, at(time.Minute))
		return err
	}(), mfa.Invalid)
	_, err := s.SetLoginUser(ctx, "nope", u, at(time.Minute))
	wantKind(t, "SetLoginUser(unknown id)", err, mfa.NotFound)
	got, err := s.SetLoginUser(ctx, r.ID, u, at(time.Minute))
	check(t, "SetLoginUser", err)
	if got.UserID != u.UserID || got.Username != u.Username || got.FirstFactor != u.FirstFactor || got.NeedsFirstFactor() {
		t.Errorf("SetLoginUser() = user %q %q %q, want %+v", got.UserID, got.Username, got.FirstFactor, u)
	}
	again, err := s.GetLoginRequest(ctx, r.ID)
	check(t, "GetLoginRequest", err)
	if diff := cmp.Diff(got, again, cmpOpts); diff != "" {
		t.Errorf("GetLoginRequest after SetLoginUser mismatch (-want +got):\n%s", diff)
	}
	_, err = s.SetLoginUser(ctx, r.ID, mfa.LoginUser{UserID: "DUBBBBBBBBBBBBBBBBBB", Username: "mallory"}, at(time.Minute))
	wantKind(t, "SetLoginUser(second time)", err, mfa.Conflict)

	// Expired: refused.
	r2 := newOIDCLogin(t, s)
	_, err = s.SetLoginUser(ctx, r2.ID, u, at(10*time.Minute))
	wantKind(t, "SetLoginUser(at expiry)", err, mfa.Conflict)
	// A Universal Prompt login has its user already.
	r3, _ := newLogin(t, s)
	_, err = s.SetLoginUser(ctx, r3.ID, u, at(time.Minute))
	wantKind(t, "SetLoginUser(universal prompt login)", err, mfa.Conflict)
}

func testLoginSetUserConcurrent(t *testing.T, s mfa.Store) {
	r := newOIDCLogin(t, s)
	errs := Race(t, 50, func(ctx context.Context, i int) error {
		_, err := s.SetLoginUser(ctx, r.ID, mfa.LoginUser{UserID: fmt.Sprintf("DU%018d", i), Username: fmt.Sprintf("u%d", i)}, at(time.Minute))
		return err
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !isKind(err, mfa.Conflict):
			t.Errorf("SetLoginUser #%d = %v, want nil or Conflict", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent SetLoginUser calls won, want exactly 1", wins)
	}
}
