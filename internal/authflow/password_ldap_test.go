package authflow_test

import (
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/ldapdir"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/slapdtest"
)

// TestPasswordLDAP: the first factor against Debian's slapd over
// StartTLS: a directory user logs in; a wrong password and an unknown user
// get the same message (BenchmarkPasswordLDAPUnknownVsWrong compares their
// cost); the directory down is "try again later", never an acceptance.
func TestPasswordLDAP(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.User{UID: "dana", Password: "dana's directory password", Mail: "dana@example.com", CN: "Dana Scully"})
	dir, err := ldapdir.New(ldapdir.Config{URLs: []string{s.URL}, StartTLS: true, RootCAs: s.Pool, ServerName: "localhost",
		BindDN: slapdtest.BindDN, BindPassword: slapdtest.BindPassword, BaseDN: slapdtest.BaseDN,
		UserFilter: "(&(objectClass=inetOrgPerson)(uid={username}))", Timeout: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := ffEnv(t, dir, func(o *authflow.FirstFactorOptions) {
		o.Sources = map[authflow.Surface][]string{authflow.SurfaceOIDC: {authflow.SourceDirectory}}
	})
	dana := e.user("dana", mfa.StatusActive)

	res, err := e.pw("dana", "dana's directory password")
	if err != nil || res.User.ID != dana.ID || res.Source != authflow.SourceDirectory || res.Directory.RealName != "Dana Scully" {
		t.Fatalf("CheckPassword(dana) = %+v, %v", res, err)
	}
	for _, user := range []string{"dana", "nobody"} {
		_, err := e.pw(user, "not the password")
		wantErrKind(t, "CheckPassword("+user+", wrong)", err, mfa.Unauthorized, authflow.MsgBadPassword)
	}
	s.Stop()
	_, err = e.pw("dana", "dana's directory password")
	wantErrKind(t, "CheckPassword(directory down)", err, mfa.Unavailable, authflow.MsgDirectoryDown)
}

// BenchmarkPasswordLDAPUnknownVsWrong compares, against Debian's slapd, a
// directory user's wrong password with an unknown user (a search and a
// dummy bind): compare the sub-benchmarks' ns/op.
func BenchmarkPasswordLDAPUnknownVsWrong(b *testing.B) {
	s := slapdtest.Start(b, slapdtest.User{UID: "dana", Password: "dana's directory password", Mail: "dana@example.com", CN: "Dana Scully"})
	dir, err := ldapdir.New(ldapdir.Config{URLs: []string{s.URL}, StartTLS: true, RootCAs: s.Pool, ServerName: "localhost",
		BindDN: slapdtest.BindDN, BindPassword: slapdtest.BindPassword, BaseDN: slapdtest.BaseDN,
		UserFilter: "(&(objectClass=inetOrgPerson)(uid={username}))", Timeout: 3 * time.Second}, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := ffEnv(b, dir, func(o *authflow.FirstFactorOptions) {
		o.Sources = map[authflow.Surface][]string{authflow.SurfaceOIDC: {authflow.SourceDirectory}}
	})
	e.user("dana", mfa.StatusActive)
	for _, c := range []struct{ name, user string }{{"wrong-password", "dana"}, {"unknown-user", "nobody"}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.pw(c.user, "not the password"); err == nil {
					b.Fatal("a wrong password was accepted")
				}
			}
		})
	}
}
