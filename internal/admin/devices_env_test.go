package admin_test

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// Shared by the token and bypass code tests: a service on a real store with
// a settable clock.

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type devEnv struct {
	t     *testing.T
	store *sqlstore.Store
	svc   *admin.Service
	clock *testClock
	logs  *bytes.Buffer
	owner admin.Actor
}

// newDevEnv makes a service on SQLite, or on PostgreSQL when dsn is given.
func newDevEnv(t *testing.T, dsn ...string) *devEnv {
	t.Helper()
	d := filepath.Join(t.TempDir(), "twostep.db")
	if len(dsn) > 0 {
		d = dsn[0]
	}
	st := sqltest.NewStore(t, d)
	clock := &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	logs := &bytes.Buffer{}
	svc := admin.New(st, clock.Now, rand.Reader, slog.New(slog.NewJSONHandler(logs, nil)))
	return &devEnv{t: t, store: st, svc: svc, clock: clock, logs: logs,
		owner: admin.Actor{Kind: admin.ActorAdmin, ID: "DEOWNER", Name: "owner@example.com", Role: mfa.RoleOwner}}
}

// user stores a new user.
func (e *devEnv) user(name string) mfa.User {
	e.t.Helper()
	id, err := mfa.NewID(mfa.PrefixUser, rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	u := mfa.User{ID: id, Username: name, Status: mfa.StatusActive, Created: e.clock.Now()}
	if err := e.store.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatalf("CreateUser(%s) = %v", name, err)
	}
	return u
}

// adminLog returns every administrator log record as text.
func (e *devEnv) adminLog() string {
	e.t.Helper()
	entries, err := e.store.ListAdminLog(e.t.Context(), mfa.LogFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range entries {
		b.WriteString(l.Actor + " " + l.Action + " " + l.ObjectType + " " + l.Object + " " + l.Description + "\n")
	}
	return b.String()
}

func (e *devEnv) actor(role mfa.Role) admin.Actor {
	return admin.Actor{Kind: admin.ActorAdmin, ID: "DE" + strings.ToUpper(strings.ReplaceAll(string(role), " ", "")),
		Name: strings.ReplaceAll(strings.ToLower(string(role)), " ", "") + "@example.com", Role: role}
}

func ptr[T any](v T) *T { return &v }
