package authflow_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the service on a real store with an Auth API integration.
type env struct {
	t     testing.TB
	ctx   context.Context
	Store *sqlstore.Store
	Svc   *authflow.Service
	Clock *clock
	In    mfa.Integration
}

var seed = []byte("12345678901234567890") // RFC 4226 test secret

func newEnv(t testing.TB, opts ...authflow.Option) *env {
	return newEnvDSN(t, filepath.Join(t.TempDir(), "twostep.db"), opts...)
}

func newEnvDSN(t testing.TB, dsn string, opts ...authflow.Option) *env {
	t.Helper()
	return newEnvStore(t, sqltest.NewStore(t, dsn), opts...)
}

// newEnvStore is newEnv on a store the caller opened and migrated.
func newEnvStore(t testing.TB, st *sqlstore.Store, opts ...authflow.Option) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{t: t, ctx: t.Context(), Store: st, Clock: c,
		// Limits off unless a test sets them: tests make many attempts at one instant.
		Svc: authflow.New(st, c.Now, rand.Reader, log, append([]authflow.Option{authflow.WithLimits(authflow.Limit{}, authflow.Limit{})}, opts...)...)}
	e.In = mfa.Integration{IKey: e.id(mfa.PrefixIntegration), SKey: mfa.Secret("0123456789012345678901234567890123456789"),
		Name: "test app", Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: c.Now()}
	if err := st.CreateIntegration(e.ctx, e.In); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) id(prefix string) string {
	id, err := mfa.NewID(prefix, rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) user(name string, status mfa.UserStatus) mfa.User {
	e.t.Helper()
	u := mfa.User{ID: e.id(mfa.PrefixUser), Username: name, Status: status, Created: e.Clock.Now()}
	if err := e.Store.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) phone(u mfa.User, number string, typ mfa.PhoneType) mfa.Phone {
	e.t.Helper()
	p := mfa.Phone{ID: e.id(mfa.PrefixPhone), Number: number, Name: "work phone", Type: typ, Platform: "google android",
		Created: e.Clock.Now()}
	if err := e.Store.CreatePhone(e.ctx, p); err != nil {
		e.t.Fatal(err)
	}
	e.Clock.Advance(time.Second) // creation order is listing order
	if err := e.Store.AttachPhone(e.ctx, u.ID, p.ID); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// app activates an authenticator on a new mobile phone of u.
func (e *env) app(u mfa.User, counter uint64, totp bool) mfa.Authenticator {
	e.t.Helper()
	p := e.phone(u, "+15555550100", mfa.PhoneMobile)
	a := mfa.Authenticator{ID: e.id(mfa.PrefixAuthenticator), PhoneID: p.ID, UserID: u.ID, Status: mfa.AuthenticatorActive,
		PublicKey: mfa.Secret("pem"), HOTPSecret: mfa.Secret(seed), HOTPCounter: counter, TOTP: totp, Created: e.Clock.Now()}
	if err := e.Store.ActivateAuthenticator(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) token(u mfa.User, t mfa.Token) mfa.Token {
	e.t.Helper()
	t.ID = e.id(mfa.PrefixToken)
	if t.Serial == "" {
		t.Serial = string(t.Type) + "-" + t.ID[2:8]
	}
	t.Created = e.Clock.Now()
	if err := e.Store.CreateToken(e.ctx, t); err != nil {
		e.t.Fatal(err)
	}
	if err := e.Store.AttachToken(e.ctx, u.ID, t.ID); err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) bypass(u mfa.User, code string, uses int) {
	e.t.Helper()
	err := e.Store.CreateBypassCodes(e.ctx, mfa.NewBypassCodes{UserID: u.ID, PreserveExisting: true,
		MaxActive: mfa.MaxActiveBypassCodes, Codes: []mfa.BypassCode{{ID: e.id(mfa.PrefixBypassCode), UserID: u.ID,
			Code: mfa.Passcode(code), UsesLeft: uses, Unlimited: uses == 0, CreatedBy: "test", Created: e.Clock.Now()}}}, e.Clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) settings(f func(*mfa.Settings)) {
	e.t.Helper()
	s, err := e.Store.GetSettings(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	f(&s)
	if err := e.Store.PutSettings(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) auth(user, code string) authflow.AuthResult {
	e.t.Helper()
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
		Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(code), IP: "192.0.2.1"})
	if err != nil {
		e.t.Fatalf("Auth(%s) = %v", user, err)
	}
	e.Clock.Advance(time.Millisecond) // auth log records list in time order
	return res
}

func (e *env) logs(userID string) []mfa.AuthLogEntry {
	e.t.Helper()
	f := mfa.AuthLogFilter{}
	if userID != "" {
		f.UserIDs = []string{userID}
	}
	l, _, err := e.Store.ListAuthLog(e.ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) lastLog(userID string) mfa.AuthLogEntry {
	e.t.Helper()
	l := e.logs(userID)
	if len(l) == 0 {
		e.t.Fatal("no auth log record")
	}
	return l[len(l)-1]
}

func (e *env) getUser(id string) mfa.User {
	e.t.Helper()
	u, err := e.Store.GetUser(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}
