package authflow_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/loadgen"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestGeneratedUsersLogIn: users written by loadgen.Generator (bulk
// inserts, sealed token secrets) log in through the ordinary code path on
// every backend, and a second run over the same names creates nothing.
func TestGeneratedUsersLogIn(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", sqltest.SQLitePath},
		{"postgres", sqltest.PostgresDSN},
	} {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvDSN(t, b.dsn(t))
			var reports []loadgen.Progress
			g := &loadgen.Generator{Prefix: "gen-", Users: 25, DevicesPerUser: 2, Batch: 10, Rand: rand.Reader,
				Now: e.Clock.Now, Progress: func(p loadgen.Progress) { reports = append(reports, p) }}
			p, err := g.Run(e.ctx, e.Store)
			if err != nil {
				t.Fatal(err)
			}
			if p.Created != 25 || p.Skipped != 0 || len(reports) != 3 {
				t.Fatalf("first run: %+v after %d reports, want 25 created in 3 batches", p, len(reports))
			}
			// Resume: an overlapping run creates only the new names.
			g2 := *g
			g2.Start, g2.Users, g2.Progress = 20, 10, nil
			if p, err := g2.Run(e.ctx, e.Store); err != nil || p.Created != 5 || p.Skipped != 5 {
				t.Fatalf("second run = %+v, %v; want 5 created, 5 skipped", p, err)
			}
			_, total, err := e.Store.ListUsers(e.ctx, mfa.UserFilter{Page: mfa.Page{Limit: 1}})
			if err != nil || total != 30 {
				t.Fatalf("ListUsers total = %d, %v; want 30", total, err)
			}
			for _, i := range []int{0, 17, 29} {
				name := g.Username(i)
				u, err := e.Store.GetUserByName(e.ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				phones, err := e.Store.UserPhones(e.ctx, u.ID)
				if err != nil || len(phones) != 1 || phones[0].Type != mfa.PhoneMobile {
					t.Fatalf("%s phones = %+v, %v", name, phones, err)
				}
				toks, err := e.Store.UserTokens(e.ctx, u.ID)
				if err != nil || len(toks) != 1 || len(toks[0].Secret) != 20 {
					t.Fatalf("%s tokens = %d, %v (want one with a 20-byte secret that opens)", name, len(toks), err)
				}
				pre, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: name}})
				if err != nil || pre.Result != authflow.ResultAuth || len(pre.Devices) != 2 {
					t.Fatalf("Preauth(%s) = %+v, %v; want auth with 2 devices", name, pre, err)
				}
				code := otp.HOTP(toks[0].Secret.Reveal(), 0, 6)
				res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: name},
					Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(code), IP: "192.0.2.1"})
				if err != nil || res.Result != authflow.ResultAllow {
					t.Fatalf("Auth(%s, passcode) = %+v, %v; want allow", name, res, err)
				}
			}
		})
	}
}

// TestBulkCreateUsersAllOrNothing: a batch that meets a conflict other
// than a taken username (here a token serial already in use) writes
// nothing.
func TestBulkCreateUsersAllOrNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", mfa.StatusActive)
	e.token(alice, mfa.Token{Type: mfa.TokenH6, Serial: "dup", Secret: mfa.Secret(seed)})
	batch := []sqlstore.BulkUser{
		{User: mfa.User{ID: e.id(mfa.PrefixUser), Username: "bob"}},
		{User: mfa.User{ID: e.id(mfa.PrefixUser), Username: "carol"},
			Tokens: []mfa.Token{{ID: e.id(mfa.PrefixToken), Type: mfa.TokenH6, Serial: "dup", Secret: mfa.Secret(seed)}}},
	}
	n, err := e.Store.BulkCreateUsers(e.ctx, batch)
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.Conflict || n != 0 {
		t.Fatalf("BulkCreateUsers = %d, %v; want a Conflict", n, err)
	}
	if _, err := e.Store.GetUserByName(e.ctx, "bob"); !errors.Is(err, mfa.ErrNotFound) {
		t.Fatalf("bob after the failed batch: %v, want NotFound", err)
	}
}
