package authflow_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/password"
)

var cheapHasher = password.Hasher{Time: 1, Memory: 8 * 1024, Threads: 1}

// ffEnv is an env whose first factor uses a cheap hash, no limits, and
// the directory dir (nil: none) after twostep passwords on the OIDC
// surface.
func ffEnv(t testing.TB, dir mfa.Directory, opts ...func(*authflow.FirstFactorOptions)) *env {
	o := authflow.FirstFactorOptions{Directory: dir, Hasher: cheapHasher,
		Sources:   map[authflow.Surface][]string{authflow.SurfaceOIDC: {authflow.SourcePassword, authflow.SourceDirectory}},
		UserLimit: authflow.Limit{Burst: -1}, IPLimit: authflow.Limit{Burst: -1},
		DurableUser: authflow.DurableLimit{Limit: -1}, DurableIP: authflow.DurableLimit{Limit: -1}}
	for _, f := range opts {
		f(&o)
	}
	return newEnv(t, authflow.WithFirstFactor(o))
}

func (e *env) setPassword(u mfa.User, pw string) {
	e.t.Helper()
	h, err := cheapHasher.Hash(pw, rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.Store.SetUserPassword(e.ctx, u.ID, h, e.Clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) pw(username, pw string) (authflow.FirstFactorResult, error) {
	return e.Svc.CheckPassword(e.ctx, authflow.PasswordRequest{Surface: authflow.SurfaceOIDC, Integration: e.In,
		Username: username, Password: mfa.Passcode(pw), IP: "192.0.2.7"})
}

func wantErrKind(t *testing.T, call string, err error, kind mfa.Kind, msg string) {
	t.Helper()
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != kind || (msg != "" && me.Msg != msg) {
		t.Errorf("%s = %v, want %s %q", call, err, kind, msg)
	}
}

func TestCheckPassword(t *testing.T) {
	e := ffEnv(t, nil)
	alice := e.user("alice", mfa.StatusActive)
	e.setPassword(alice, "correct horse battery")
	locked := e.user("lola", mfa.StatusActive)
	e.setPassword(locked, "correct horse battery")
	disabled := e.user("dora", mfa.StatusDisabled)
	e.setPassword(disabled, "correct horse battery")
	e.user("nopw", mfa.StatusActive) // no twostep password, no directory

	res, err := e.pw("ALICE", "correct horse battery")
	if err != nil || res.User.ID != alice.ID || res.Source != authflow.SourcePassword {
		t.Fatalf("CheckPassword(alice, right) = %+v, %v; want alice by password", res, err)
	}
	tests := []struct {
		name, user, pw string
		kind           mfa.Kind
		msg            string
	}{
		{"wrong password", "alice", "wrong horse battery", mfa.Unauthorized, authflow.MsgBadPassword},
		{"unknown user", "mallory", "correct horse battery", mfa.Unauthorized, authflow.MsgBadPassword},
		{"user without password", "nopw", "correct horse battery", mfa.Unauthorized, authflow.MsgBadPassword},
		{"disabled, right password", "dora", "correct horse battery", mfa.Denied, authflow.MsgDisabled},
		{"disabled, wrong password", "dora", "nope nope nope", mfa.Unauthorized, authflow.MsgBadPassword},
		{"empty username", " ", "x", mfa.Invalid, ""},
		{"empty password", "alice", "", mfa.Invalid, ""},
		{"oversized password", "alice", strings.Repeat("x", mfa.MaxPasswordLen+1), mfa.Invalid, ""},
		{"oversized username", strings.Repeat("u", 256), "x", mfa.Invalid, ""},
	}
	for _, tt := range tests {
		_, err := e.pw(tt.user, tt.pw)
		wantErrKind(t, "CheckPassword("+tt.name+")", err, tt.kind, tt.msg)
	}
	// The wrong password counted one failure on alice; the unknown user's
	// attempt was logged without a user.
	got, _ := e.Store.GetUser(e.ctx, alice.ID)
	if got.FailedAttempts != 1 {
		t.Errorf("alice's failed attempts = %d, want 1", got.FailedAttempts)
	}
	logs, _, err := e.Store.ListAuthLog(e.ctx, mfa.AuthLogFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var unknown *mfa.AuthLogEntry
	for i, l := range logs {
		if l.Username == "mallory" {
			unknown = &logs[i]
		}
	}
	if unknown == nil || unknown.Factor != authflow.LogFactorFirstFactor || unknown.Result != mfa.ResultFailure ||
		unknown.Reason != authflow.ReasonInvalidPassword || unknown.UserID != "" {
		t.Errorf("unknown user's auth log record = %+v, want first_factor failure invalid_password without user", unknown)
	}

	// Locked out: a right password says so, and still counts.
	if err := e.Store.UpdateUser(e.ctx, func() mfa.User { u := locked; u.Status = mfa.StatusLockedOut; return u }()); err != nil {
		t.Fatal(err)
	}
	_, err = e.pw("lola", "correct horse battery")
	wantErrKind(t, "CheckPassword(locked out, right)", err, mfa.Denied, authflow.MsgPasswordLocked)
	_, err = e.pw("lola", "wrong")
	wantErrKind(t, "CheckPassword(locked out, wrong)", err, mfa.Unauthorized, authflow.MsgBadPassword)
}

// TestPasswordSharedLockout: password failures and passcode failures
// count in one lockout.
func TestPasswordSharedLockout(t *testing.T) {
	e := ffEnv(t, nil)
	if _, err := e.Store.UpdateSettings(e.ctx, func(s *mfa.Settings) error { s.LockoutThreshold = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	u := e.user("bob", mfa.StatusActive)
	e.setPassword(u, "correct horse battery")
	e.app(u, 0, false)
	for range 2 {
		if _, err := e.pw("bob", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "bob"},
		Factor: mfa.FactorPasscode, Passcode: "000000", IP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != authflow.StatusLockedOut {
		t.Errorf("third failure (a passcode after two passwords) = %+v, want locked_out", res)
	}
	_, err = e.pw("bob", "correct horse battery")
	wantErrKind(t, "CheckPassword(after lockout)", err, mfa.Denied, authflow.MsgPasswordLocked)
}

// TestPasswordConcurrentLockout: parallel wrong passwords cannot get past
// the lockout threshold (the count is one atomic store write each).
func TestPasswordConcurrentLockout(t *testing.T) {
	e := ffEnv(t, nil)
	if _, err := e.Store.UpdateSettings(e.ctx, func(s *mfa.Settings) error { s.LockoutThreshold = 5; return nil }); err != nil {
		t.Fatal(err)
	}
	u := e.user("carol", mfa.StatusActive)
	e.setPassword(u, "correct horse battery")
	errs := make(chan error, 20)
	for range 20 {
		go func() { _, err := e.pw("carol", "wrong"); errs <- err }()
	}
	for range 20 {
		<-errs
	}
	got, _ := e.Store.GetUser(e.ctx, u.ID)
	if got.FailedAttempts != 20 || got.Status != mfa.StatusLockedOut {
		t.Errorf("after 20 parallel wrong passwords: %d failures, status %s; want 20, locked out", got.FailedAttempts, got.Status)
	}
}

func TestPasswordRateLimits(t *testing.T) {
	t.Run("per user", func(t *testing.T) {
		e := ffEnv(t, nil, func(o *authflow.FirstFactorOptions) { o.UserLimit = authflow.Limit{Burst: 2, Every: time.Minute} })
		for i := range 2 {
			if _, err := e.pw("dave", "x"); !errors.Is(err, mfa.ErrUnauthorized) {
				t.Fatalf("attempt %d = %v, want Unauthorized", i, err)
			}
		}
		_, err := e.pw("DAVE", "x")
		if !errors.Is(err, mfa.ErrRateLimited) {
			t.Errorf("third attempt for one username = %v, want RateLimited", err)
		}
		if _, err := e.pw("erin", "x"); !errors.Is(err, mfa.ErrUnauthorized) {
			t.Errorf("another username = %v, want Unauthorized (not limited)", err)
		}
	})
	t.Run("per address, durable", func(t *testing.T) {
		e := ffEnv(t, nil, func(o *authflow.FirstFactorOptions) {
			o.DurableIP = authflow.DurableLimit{Limit: 3, Window: time.Minute}
		})
		for i := range 3 {
			if _, err := e.pw("user"+string(rune('a'+i)), "x"); !errors.Is(err, mfa.ErrUnauthorized) {
				t.Fatalf("attempt %d = %v, want Unauthorized", i, err)
			}
		}
		_, err := e.pw("userz", "x")
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.RateLimited || me.RetryAfter <= 0 {
			t.Errorf("fourth attempt from one address = %v, want RateLimited with a wait", err)
		}
	})
}

// dirFake is a directory answering from a map; down makes it unreachable.
type dirFake struct {
	users map[string]string
	down  bool
	calls []string
}

func (d *dirFake) Authenticate(ctx context.Context, username, pw string) (mfa.DirectoryUser, error) {
	d.calls = append(d.calls, username)
	if d.down {
		return mfa.DirectoryUser{}, mfa.Wrap(mfa.Unavailable, "ldap down", errors.New("dial tcp: connection refused"))
	}
	if want, ok := d.users[username]; ok && want == pw {
		return mfa.DirectoryUser{Username: username, Email: username + "@example.com"}, nil
	}
	return mfa.DirectoryUser{}, mfa.ErrBadCredentials
}

func TestPasswordDirectory(t *testing.T) {
	dir := &dirFake{users: map[string]string{"frank": "directory secret", "ghost": "directory secret"}}
	e := ffEnv(t, dir)
	frank := e.user("frank", mfa.StatusActive)
	withPw := e.user("gina", mfa.StatusActive)
	e.setPassword(withPw, "twostep password")

	res, err := e.pw("frank", "directory secret")
	if err != nil || res.Source != authflow.SourceDirectory || res.User.ID != frank.ID || res.Directory.Email != "frank@example.com" {
		t.Fatalf("CheckPassword(frank via directory) = %+v, %v", res, err)
	}
	// gina has a twostep password: it comes first, the directory is not asked.
	dir.calls = nil
	if res, err := e.pw("gina", "twostep password"); err != nil || res.Source != authflow.SourcePassword {
		t.Errorf("CheckPassword(gina) = %+v, %v; want the twostep password", res, err)
	}
	if len(dir.calls) != 0 {
		t.Errorf("the directory was asked about a user with a twostep password: %v", dir.calls)
	}
	_, err = e.pw("frank", "wrong")
	wantErrKind(t, "CheckPassword(frank, wrong)", err, mfa.Unauthorized, authflow.MsgBadPassword)
	_, err = e.pw("nobody", "wrong")
	wantErrKind(t, "CheckPassword(unknown everywhere)", err, mfa.Unauthorized, authflow.MsgBadPassword)
	_, err = e.pw("ghost", "directory secret")
	wantErrKind(t, "CheckPassword(in the directory, not in twostep)", err, mfa.Denied, authflow.MsgNotInTwostep)

	dir.down = true
	before, _ := e.Store.GetUser(e.ctx, frank.ID)
	_, err = e.pw("frank", "directory secret")
	wantErrKind(t, "CheckPassword(directory down)", err, mfa.Unavailable, authflow.MsgDirectoryDown)
	after, _ := e.Store.GetUser(e.ctx, frank.ID)
	if after.FailedAttempts != before.FailedAttempts {
		t.Errorf("a directory outage counted a failure: %d -> %d", before.FailedAttempts, after.FailedAttempts)
	}

	// The portal surface (not configured) takes twostep passwords only.
	_, err = e.Svc.CheckPassword(e.ctx, authflow.PasswordRequest{Surface: authflow.SurfacePortal, Integration: e.In,
		Username: "frank", Password: "directory secret", IP: "192.0.2.7"})
	wantErrKind(t, "CheckPassword(portal, directory user)", err, mfa.Unauthorized, authflow.MsgBadPassword)
}

// BenchmarkPasswordUnknownVsWrong compares, at the production cost, a
// wrong password for a known user with any password for an unknown user:
// the unknown user costs a dummy hash, so the two ns/op should be about
// equal (a timed unit test would flake on a busy machine; compare the
// sub-benchmarks' ns/op instead). docs/first-factor.md records a run.
func BenchmarkPasswordUnknownVsWrong(b *testing.B) {
	h := password.UserDefault()
	e := ffEnv(b, nil, func(o *authflow.FirstFactorOptions) { o.Hasher = h })
	u := e.user("hank", mfa.StatusActive)
	hash, _ := h.Hash("correct horse battery", rand.Reader)
	if err := e.Store.SetUserPassword(e.ctx, u.ID, hash, e.Clock.Now()); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"hank", "nobody-at-all"} {
		what := map[string]string{"hank": "wrong-password", "nobody-at-all": "unknown-user"}[name]
		b.Run(what, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.pw(name, "wrong password"); err == nil {
					b.Fatal("a wrong password was accepted")
				}
			}
		})
	}
}
