package sqlstore_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// TestLoginAccountOrder: on every backend LoginAccount returns what the
// separate reads return, in their order (created, then id; the revoked
// installs newest first, at most mfa.RevokedLimit), with ties on created
// and rows created out of order. On SQLite it is one UNION ALL statement
// (readUnion), which must keep each query's order and limit.
func TestLoginAccountOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.open(t, b.dsn(t), sqlstore.Options{})
		ctx := t.Context()
		at := func(d time.Duration) time.Time { return epoch.Add(d) }
		u := mfatest.NewUser(t, s, func(u *mfa.User) { u.Aliases = []string{"order-alias"} })
		created := []time.Duration{3 * time.Second, time.Second, 2 * time.Second, time.Second}
		var phones []mfa.Phone
		for _, d := range created {
			p := mfatest.NewPhone(t, s, func(p *mfa.Phone) { p.Created = at(d) })
			must(t, "AttachPhone", s.AttachPhone(ctx, u.ID, p.ID))
			phones = append(phones, p)
			tk := mfatest.NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Created = at(d) })
			must(t, "AttachToken", s.AttachToken(ctx, u.ID, tk.ID))
			g := mfatest.NewGroup(t, s, func(g *mfa.Group) { g.Created = at(d) })
			must(t, "AddGroupMember", s.AddGroupMember(ctx, g.ID, u.ID))
		}
		for i := range mfa.RevokedLimit + 3 {
			old := mfatest.NewAuthenticator(t, s, phones[i%len(phones)].ID,
				func(a *mfa.Authenticator) { a.Created = at(time.Duration(i%3) * time.Second) })
			must(t, "RevokeAuthenticator", s.RevokeAuthenticator(ctx, old.ID))
		}
		// an active install on each phone, after the revoked ones (one is active per phone)
		for i, p := range phones {
			mfatest.NewAuthenticator(t, s, p.ID, func(a *mfa.Authenticator) { a.Created = at(created[len(created)-1-i]) })
		}
		other := mfatest.NewUser(t, s) // nothing of theirs may show
		must(t, "AttachPhone(other)", s.AttachPhone(ctx, other.ID, mfatest.NewPhone(t, s).ID))

		var want mfa.Account
		var err error
		want.User, err = s.GetUser(ctx, u.ID)
		must(t, "GetUser", err)
		want.Phones, err = s.UserPhones(ctx, u.ID)
		must(t, "UserPhones", err)
		want.Tokens, err = s.UserTokens(ctx, u.ID)
		must(t, "UserTokens", err)
		want.Groups, err = s.UserGroups(ctx, u.ID)
		must(t, "UserGroups", err)
		want.Authenticators, err = s.UserAuthenticators(ctx, u.ID)
		must(t, "UserAuthenticators", err)
		want.Revoked, err = s.RevokedAuthenticators(ctx, u.ID, mfa.RevokedLimit)
		must(t, "RevokedAuthenticators", err)
		if len(want.Revoked) != mfa.RevokedLimit || len(want.Phones) != len(created) || len(want.Authenticators) != len(created) {
			t.Fatalf("fixture = %d revoked, %d phones, %d installs; want %d, %d, %d", len(want.Revoked), len(want.Phones),
				len(want.Authenticators), mfa.RevokedLimit, len(created), len(created))
		}
		opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)}
		for _, q := range []mfa.AccountQuery{{UserID: u.ID, Revoked: true}, {Name: "ORDER-ALIAS", Revoked: true, SMSAt: at(time.Hour)}} {
			got, err := s.LoginAccount(ctx, q)
			must(t, "LoginAccount", err)
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("LoginAccount(%+v) mismatch, in order (-want +got):\n%s", q, diff)
			}
		}
		noRevoked := want
		noRevoked.Revoked = nil
		got, err := s.LoginAccount(ctx, mfa.AccountQuery{Name: u.Username})
		must(t, "LoginAccount", err)
		if diff := cmp.Diff(noRevoked, got, opts); diff != "" {
			t.Errorf("LoginAccount(no revoked) mismatch, in order (-want +got):\n%s", diff)
		}
	})
}
