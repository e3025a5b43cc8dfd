package admin_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestPasswordHash(t *testing.T) {
	h := admin.PasswordHasher{Time: 1, Memory: 8 * 1024, Threads: 1}
	enc, err := h.Hash("correct horse", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=8192,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(enc) {
		t.Errorf("Hash() = %q, want a PHC argon2id string", enc)
	}
	tests := []struct {
		give    string
		hash    string
		want    bool
		wantErr bool
	}{
		{give: "correct horse", hash: enc, want: true},
		{give: "correct horse ", hash: enc, want: false},
		{give: "", hash: enc, want: false},
		{give: "x", hash: "$argon2i$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", wantErr: true},
		{give: "x", hash: "plain", wantErr: true},
		{give: "x", hash: "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdA$aGFzaA", wantErr: true},
		{give: "x", hash: "$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaA", wantErr: true},
	}
	for _, tt := range tests {
		got, err := admin.VerifyPassword(tt.give, tt.hash)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("VerifyPassword(%q, %q) = %v, %v; want %v, error %v", tt.give, tt.hash, got, err, tt.want, tt.wantErr)
		}
	}
	again, _ := h.Hash("correct horse", rand.Reader)
	if again == enc {
		t.Error("two hashes of one password are equal; want distinct salts")
	}
}

// stager records what Bootstrap staged, published and discarded.
type stager struct {
	mu        sync.Mutex
	staged    []admin.Credentials
	published int
	discarded int
	failStage bool
}

func (s *stager) Stage(c admin.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failStage {
		return errors.New("disk full")
	}
	s.staged = append(s.staged, c)
	return nil
}
func (s *stager) Publish() error { s.mu.Lock(); s.published++; s.mu.Unlock(); return nil }
func (s *stager) Discard()       { s.mu.Lock(); s.discarded++; s.mu.Unlock() }

func TestBootstrap(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	var logs bytes.Buffer
	svc := admin.New(st, time.Now, rand.Reader, slog.New(slog.NewJSONHandler(&logs, nil)))

	// A failing stage creates nothing.
	if _, ok, err := svc.Bootstrap(t.Context(), &stager{failStage: true}); err == nil || ok {
		t.Fatalf("Bootstrap(failing stager) = %v, %v; want an error", ok, err)
	}
	if n, _ := st.CountAdmins(t.Context()); n != 0 {
		t.Fatalf("CountAdmins() after a failed stage = %d, want 0", n)
	}

	sg := &stager{}
	creds, ok, err := svc.Bootstrap(t.Context(), sg)
	if err != nil || !ok {
		t.Fatalf("Bootstrap() = %v, %v; want a bootstrap", ok, err)
	}
	if len(sg.staged) != 1 || sg.published != 1 || sg.discarded != 0 {
		t.Errorf("stager saw staged %d, published %d, discarded %d; want 1, 1, 0", len(sg.staged), sg.published, sg.discarded)
	}
	owner, err := st.GetAdminByEmail(t.Context(), admin.BootstrapOwnerEmail)
	if err != nil || owner.Role != mfa.RoleOwner || !owner.PasswordChangeRequired {
		t.Fatalf("bootstrapped owner = %+v, %v; want an Owner who must change the password", owner, err)
	}
	if ok, err := admin.VerifyPassword(string(creds.OwnerPassword), owner.PasswordHash); !ok || err != nil {
		t.Errorf("the owner's stored hash does not verify the returned password: %v", err)
	}
	for _, tt := range []struct {
		key  admin.Key
		typ  mfa.IntegrationType
		perm mfa.AdminPermissions
	}{
		{creds.AdminAPI, mfa.IntegrationAdminAPI, mfa.AllAdminPermissions()},
		{creds.AuthAPI, mfa.IntegrationAuthAPI, mfa.AdminPermissions{}},
	} {
		in, err := st.GetIntegration(t.Context(), tt.key.IKey)
		if err != nil {
			t.Fatal(err)
		}
		if in.Type != tt.typ || in.Permissions != tt.perm || string(in.SKey) != string(tt.key.SKey) {
			t.Errorf("integration %s = type %s perms %+v; want %s %+v and the returned skey", tt.key.IKey, in.Type, in.Permissions, tt.typ, tt.perm)
		}
		if !regexp.MustCompile(`^DI[A-Z0-9]{18}$`).MatchString(tt.key.IKey) || !regexp.MustCompile(`^[A-Za-z0-9]{40}$`).MatchString(string(tt.key.SKey)) {
			t.Errorf("keys do not have Duo's shape")
		}
	}
	if strings.Contains(logs.String(), string(creds.AuthAPI.SKey)) || strings.Contains(logs.String(), string(creds.OwnerPassword)) {
		t.Error("Bootstrap logged a secret")
	}

	// Already bootstrapped: nothing staged.
	sg2 := &stager{}
	if _, ok, err := svc.Bootstrap(t.Context(), sg2); err != nil || ok || len(sg2.staged) != 0 {
		t.Errorf("second Bootstrap() = %v, %v, staged %d; want no bootstrap, nothing staged", ok, err, len(sg2.staged))
	}
}

func TestBootstrapRace(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	svc := admin.New(st, time.Now, rand.Reader, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sg := &stager{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 5 {
		wg.Go(func() {
			_, ok, err := svc.Bootstrap(t.Context(), sg)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 || sg.published != 1 || sg.discarded != len(sg.staged)-1 {
		t.Errorf("5 concurrent bootstraps: %d won, %d published, %d of %d staged discarded; want 1 winner whose credentials alone are published",
			wins, sg.published, sg.discarded, len(sg.staged))
	}
}
