package authflow_test

import (
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

// adminEnv is ffEnv with an administrator whose password is pw.
func adminEnv(t *testing.T, dsn string, pw string, mods ...func(*mfa.Admin)) (*env, mfa.Admin) {
	t.Helper()
	o := authflow.FirstFactorOptions{Hasher: cheapHasher,
		UserLimit: authflow.Limit{Burst: -1}, IPLimit: authflow.Limit{Burst: -1},
		DurableUser: authflow.DurableLimit{Limit: -1}, DurableIP: authflow.DurableLimit{Limit: -1}}
	e := newEnvDSN(t, dsn, authflow.WithFirstFactor(o))
	h, err := cheapHasher.Hash(pw, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ad := mfa.Admin{ID: e.id(mfa.PrefixAdmin), Email: "Help@Example.com", Role: mfa.RoleHelpDesk, PasswordHash: h, Created: e.Clock.Now()}
	for _, m := range mods {
		m(&ad)
	}
	if err := e.Store.CreateAdmin(e.ctx, ad); err != nil {
		t.Fatal(err)
	}
	st := mfa.DefaultSettings()
	st.LockoutThreshold = 3
	if err := e.Store.PutSettings(e.ctx, st); err != nil {
		t.Fatal(err)
	}
	return e, ad
}

func (e *env) adminPw(email, pw string) (mfa.Admin, error) {
	return e.Svc.CheckAdminPassword(e.ctx, authflow.AdminPasswordRequest{Email: email, Password: mfa.Passcode(pw), IP: "192.0.2.9"})
}

func (e *env) getAdmin(id string) mfa.Admin {
	e.t.Helper()
	a, err := e.Store.GetAdmin(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func TestCheckAdminPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	e, ad := adminEnv(t, t.TempDir()+"/db", pw)
	got, err := e.adminPw("help@example.com", pw)
	if err != nil || got.ID != ad.ID {
		t.Fatalf("CheckAdminPassword(right, other case) = %v, %v", got.ID, err)
	}
	for _, tt := range []struct {
		name, email, pw string
		kind            mfa.Kind
		msg             string
	}{
		{"empty email", "", pw, mfa.Invalid, ""},
		{"empty password", "help@example.com", "", mfa.Invalid, ""},
		{"unknown email", "nobody@example.com", pw, mfa.Unauthorized, authflow.MsgAdminBadPassword},
	} {
		_, err := e.adminPw(tt.email, tt.pw)
		wantErrKind(t, tt.name, err, tt.kind, tt.msg)
	}
	if a := e.getAdmin(ad.ID); a.FailedLogins != 0 {
		t.Errorf("failures after invalid and unknown attempts = %d, want 0", a.FailedLogins)
	}
	// Wrong passwords count and lock at the threshold (3).
	for i := range 3 {
		_, err := e.adminPw(ad.Email, "wrong")
		wantErrKind(t, "wrong password", err, mfa.Unauthorized, authflow.MsgAdminBadPassword)
		if a := e.getAdmin(ad.ID); a.FailedLogins != i+1 {
			t.Fatalf("failures = %d, want %d", a.FailedLogins, i+1)
		}
	}
	_, err = e.adminPw(ad.Email, pw)
	wantErrKind(t, "right password, locked out", err, mfa.Denied, authflow.MsgAdminLocked)
	_, err = e.Svc.ConsoleAdmin(e.ctx, ad.ID)
	wantErrKind(t, "ConsoleAdmin(locked out)", err, mfa.Denied, authflow.MsgAdminLocked)
	// The lockout expires with the account's setting.
	st, _ := e.Store.GetSettings(e.ctx)
	st.LockoutExpire = 10 * time.Minute
	if err := e.Store.PutSettings(e.ctx, st); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(11 * time.Minute)
	if _, err := e.adminPw(ad.Email, pw); err != nil {
		t.Errorf("right password after the lockout expired = %v", err)
	}
	// Disabled.
	a := e.getAdmin(ad.ID)
	a.Disabled = true
	if err := e.Store.UpdateAdmin(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err = e.adminPw(ad.Email, pw)
	wantErrKind(t, "disabled", err, mfa.Denied, authflow.MsgAdminDisabled)
	_, err = e.adminPw(ad.Email, "wrong")
	wantErrKind(t, "disabled, wrong password", err, mfa.Unauthorized, authflow.MsgAdminBadPassword)
}

func TestCheckAdminPasswordRateLimited(t *testing.T) {
	e := newEnv(t, authflow.WithFirstFactor(authflow.FirstFactorOptions{Hasher: cheapHasher,
		UserLimit: authflow.Limit{Burst: 2, Every: time.Hour}, IPLimit: authflow.Limit{Burst: -1},
		DurableUser: authflow.DurableLimit{Limit: -1}, DurableIP: authflow.DurableLimit{Limit: -1}}))
	for range 2 {
		_, err := e.adminPw("a@example.com", "x")
		wantErrKind(t, "attempt", err, mfa.Unauthorized, authflow.MsgAdminBadPassword)
	}
	_, err := e.adminPw("A@example.com", "x")
	wantErrKind(t, "third attempt", err, mfa.RateLimited, "")
}

func TestAdminTOTP(t *testing.T) {
	e, ad := adminEnv(t, t.TempDir()+"/db", "pw")
	if ok, err := e.Svc.AdminTOTPState(e.ctx, ad.ID); ok || err != nil {
		t.Fatalf("AdminTOTPState(new) = %v, %v", ok, err)
	}
	_, err := e.Svc.CheckAdminTOTP(e.ctx, ad.ID, "123456", "")
	wantErrKind(t, "CheckAdminTOTP(nothing begun)", err, mfa.Invalid, authflow.MsgAdminNoTOTP)
	secret, err := e.Svc.BeginAdminTOTP(e.ctx, ad.ID)
	if err != nil || len(secret) != 20 {
		t.Fatalf("BeginAdminTOTP = %d bytes, %v", len(secret), err)
	}
	// Begun again before confirmation: a new secret replaces it.
	if secret, err = e.Svc.BeginAdminTOTP(e.ctx, ad.ID); err != nil {
		t.Fatal(err)
	}
	code := otp.TOTP(secret, e.Clock.Now(), 30, 6)
	for _, bad := range []string{"", "12345", "1234567", "12a456"} {
		_, err := e.Svc.CheckAdminTOTP(e.ctx, ad.ID, bad, "")
		wantErrKind(t, "CheckAdminTOTP("+bad+")", err, mfa.Invalid, authflow.MsgAdminCodeFormat)
	}
	wrong := "000000"
	if wrong == code {
		wrong = "000001"
	}
	_, err = e.Svc.CheckAdminTOTP(e.ctx, ad.ID, wrong, "")
	wantErrKind(t, "CheckAdminTOTP(wrong)", err, mfa.Invalid, authflow.MsgAdminBadCode)
	if a := e.getAdmin(ad.ID); a.FailedLogins != 1 {
		t.Errorf("failures after a wrong code = %d, want 1", a.FailedLogins)
	}
	got, err := e.Svc.CheckAdminTOTP(e.ctx, ad.ID, code, "")
	if err != nil || got.ID != ad.ID {
		t.Fatalf("CheckAdminTOTP(right) = %v", err)
	}
	if a := e.getAdmin(ad.ID); a.FailedLogins != 0 || !a.LastLogin.Equal(e.Clock.Now()) {
		t.Errorf("after sign-in: failures %d, last login %v", a.FailedLogins, a.LastLogin)
	}
	if ok, _ := e.Svc.AdminTOTPState(e.ctx, ad.ID); !ok {
		t.Error("AdminTOTPState after the first code = false, want true (confirmed)")
	}
	// Replay of the same code, and of the previous step's code.
	_, err = e.Svc.CheckAdminTOTP(e.ctx, ad.ID, code, "")
	wantErrKind(t, "CheckAdminTOTP(replay)", err, mfa.Invalid, authflow.MsgAdminCodeReused)
	// A confirmed authenticator is never replaced by a password alone.
	_, err = e.Svc.BeginAdminTOTP(e.ctx, ad.ID)
	wantErrKind(t, "BeginAdminTOTP(confirmed)", err, mfa.Conflict, "")
	// Two more failures lock (threshold 3, one replay counted already).
	_, err = e.Svc.CheckAdminTOTP(e.ctx, ad.ID, wrong, "")
	wantErrKind(t, "CheckAdminTOTP(wrong 2)", err, mfa.Invalid, authflow.MsgAdminBadCode)
	_, err = e.Svc.CheckAdminTOTP(e.ctx, ad.ID, wrong, "")
	wantErrKind(t, "CheckAdminTOTP(wrong 3)", err, mfa.Denied, authflow.MsgAdminLocked)
	e.Clock.Advance(30 * time.Second)
	_, err = e.Svc.CheckAdminTOTP(e.ctx, ad.ID, otp.TOTP(secret, e.Clock.Now(), 30, 6), "")
	wantErrKind(t, "CheckAdminTOTP(right, locked out)", err, mfa.Denied, authflow.MsgAdminLocked)
}

// TestAdminTOTPConcurrent: one code sent by many requests at once signs
// in exactly once, on every backend.
func TestAdminTOTPConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, dsn func(t *testing.T) string) {
		e, ad := adminEnv(t, dsn(t), "pw")
		secret, err := e.Svc.BeginAdminTOTP(e.ctx, ad.ID)
		if err != nil {
			t.Fatal(err)
		}
		code := otp.TOTP(secret, e.Clock.Now(), 30, 6)
		const n = 8
		var ok atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				if _, err := e.Svc.CheckAdminTOTP(e.ctx, ad.ID, code, ""); err == nil {
					ok.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 {
			t.Errorf("%d of %d concurrent sign-ins with one code passed, want 1", ok.Load(), n)
		}
	})
}
