package admin_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestOwnKeys: an administrator adds, lists and removes their own
// security keys (each admin-logged); a bad name, a duplicate credential,
// an integration and another administrator's key are refused with
// nothing changed.
func TestOwnKeys(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	mk := func(id, email string) admin.Actor {
		ad := mfa.Admin{ID: id, Email: email, Role: mfa.RoleReadOnly, Created: time.Now()}
		if err := st.CreateAdmin(ctx, ad); err != nil {
			t.Fatal(err)
		}
		return admin.AdminActor(ad)
	}
	me, other := mk("DE"+"OWNKEYSADMIN000001", "me@example.com"), mk("DE"+"OWNKEYSADMIN000002", "other@example.com")
	cred := mfa.WebAuthnCredential{Name: "Blue key", CredentialID: []byte("credential-1"), PublicKey: []byte{1, 2, 3}, SignCount: 4}
	k, err := svc.AddOwnKey(ctx, me, cred)
	if err != nil || k.ID == "" || k.UserID != me.ID || k.Created.IsZero() {
		t.Fatalf("AddOwnKey = %+v, %v", k, err)
	}
	for _, tt := range []struct {
		name string
		a    admin.Actor
		c    mfa.WebAuthnCredential
		kind mfa.Kind
	}{
		{"no name", me, mfa.WebAuthnCredential{CredentialID: []byte("c2"), PublicKey: []byte{1}}, mfa.Invalid},
		{"duplicate", other, mfa.WebAuthnCredential{Name: "Copy", CredentialID: []byte("credential-1"), PublicKey: []byte{1}}, mfa.Invalid},
		{"an integration", admin.IntegrationActor(mfa.Integration{IKey: "DI1", Name: "x"}), cred, mfa.Denied},
	} {
		if _, err := svc.AddOwnKey(ctx, tt.a, tt.c); mfa.KindOf(err) != tt.kind {
			t.Errorf("%s: AddOwnKey = %v, want %s", tt.name, err, tt.kind)
		}
	}
	if err := svc.RemoveOwnKey(ctx, other, k.ID); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("RemoveOwnKey by another administrator = %v, want NotFound", err)
	}
	if ks, _ := svc.OwnKeys(ctx, me); len(ks) != 1 || ks[0].Name != "Blue key" || ks[0].SignCount != 4 {
		t.Fatalf("OwnKeys = %+v", ks)
	}
	if ks, _ := svc.OwnKeys(ctx, other); len(ks) != 0 {
		t.Errorf("the other administrator's keys = %+v", ks)
	}
	if err := svc.RemoveOwnKey(ctx, me, k.ID); err != nil {
		t.Fatalf("RemoveOwnKey = %v", err)
	}
	log, err := st.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil || len(log) != 2 {
		t.Fatalf("admin log = %+v, %v; want two records", log, err)
	}
	actions := map[string]bool{log[0].Action: true, log[1].Action: true}
	if !actions["admin_webauthn_add"] || !actions["admin_webauthn_remove"] {
		t.Errorf("admin log actions = %v", actions)
	}
}

// TestOwnKeysLimitConcurrent: an administrator two keys short of
// MaxAdminKeys who adds four at once gets exactly two, on SQLite and on
// PostgreSQL (where the count and the insert would interleave without the
// administrator's lock).
func TestOwnKeysLimitConcurrent(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "twostep.db") }},
		{"postgres", func(t *testing.T) string { return sqltest.PostgresDSN(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			st := sqltest.NewStore(t, b.dsn(t))
			svc := admin.New(st, time.Now, rand.Reader, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctx := t.Context()
			ad := mfa.Admin{ID: "DE" + "OWNKEYSLIMIT000001", Email: "me@example.com", Role: mfa.RoleReadOnly, Created: time.Now()}
			if err := st.CreateAdmin(ctx, ad); err != nil {
				t.Fatal(err)
			}
			me := admin.AdminActor(ad)
			key := func(i int) mfa.WebAuthnCredential {
				return mfa.WebAuthnCredential{Name: fmt.Sprintf("Key %d", i), CredentialID: []byte(fmt.Sprintf("credential-%d", i)), PublicKey: []byte{1, 2, 3}}
			}
			for i := range admin.MaxAdminKeys - 2 {
				if _, err := svc.AddOwnKey(ctx, me, key(i)); err != nil {
					t.Fatalf("AddOwnKey(%d) = %v", i, err)
				}
			}
			const n = 4
			errs := mfatest.Race(t, n, func(ctx context.Context, i int) error {
				_, err := svc.AddOwnKey(ctx, me, key(100+i))
				return err
			})
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case fieldOf(err) == "name":
				default:
					t.Errorf("AddOwnKey = %v; want nil or the limit", err)
				}
			}
			if ks, err := svc.OwnKeys(ctx, me); err != nil || ok != 2 || len(ks) != admin.MaxAdminKeys {
				t.Errorf("%d of %d concurrent adds succeeded, %d keys stored (%v); want 2 and %d", ok, n, len(ks), err, admin.MaxAdminKeys)
			}
		})
	}
}
