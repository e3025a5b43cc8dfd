package ldapdir_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/ldapdir"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/slapdtest"
)

var users = []slapdtest.User{
	{UID: "alice", Password: "alice's directory password", Mail: "alice@example.com", CN: "Alice Liddell"},
	{UID: "bob", Password: "bob's directory password", Mail: "bob@example.com", CN: "Bob Builder"},
	{UID: "star*", Password: "wildcard user password", CN: "Star"},
}

func config(s *slapdtest.Server, mods ...func(*ldapdir.Config)) ldapdir.Config {
	c := ldapdir.Config{URLs: []string{s.URL}, StartTLS: true, RootCAs: s.Pool, ServerName: "localhost",
		BindDN: slapdtest.BindDN, BindPassword: slapdtest.BindPassword, BaseDN: slapdtest.BaseDN,
		UserFilter: "(&(objectClass=inetOrgPerson)(uid={username}))", NameAttr: "cn", Timeout: 3 * time.Second}
	for _, m := range mods {
		m(&c)
	}
	return c
}

func newDir(t testing.TB, c ldapdir.Config) *ldapdir.Directory {
	t.Helper()
	d, err := ldapdir.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAuthenticate(t *testing.T) {
	s := slapdtest.Start(t, users...)
	ctx := t.Context()
	modes := []struct {
		name string
		c    ldapdir.Config
	}{
		{"starttls, service account", config(s)},
		{"ldaps, service account", config(s, func(c *ldapdir.Config) { c.URLs, c.StartTLS = []string{s.LDAPSURL}, false })},
		{"starttls, direct bind", config(s, func(c *ldapdir.Config) {
			c.BindDN, c.BindPassword, c.UserDNTemplate = "", "", "uid={username},"+slapdtest.PeopleDN
		})},
		{"failover past a dead server", config(s, func(c *ldapdir.Config) { c.URLs = []string{slapdtest.DeadURL(t), s.URL} })},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			d := newDir(t, m.c)
			u, err := d.Authenticate(ctx, "alice", "alice's directory password")
			if err != nil {
				t.Fatalf("Authenticate(alice, right) = %v", err)
			}
			if u.DN != "uid=alice,"+slapdtest.PeopleDN || u.Username != "alice" || u.Email != "alice@example.com" || u.RealName != "Alice Liddell" {
				t.Errorf("Authenticate(alice) = %+v", u)
			}
			tests := []struct{ name, user, pw string }{
				{"wrong password", "alice", "bob's directory password"},
				{"unknown user", "mallory", "alice's directory password"},
				{"empty password (anonymous bind)", "alice", ""},
				{"filter injection", "*", "alice's directory password"},
				{"filter injection 2", "alice)(uid=*", "alice's directory password"},
				{"DN injection", "alice,ou=people", "alice's directory password"},
				{"another user's password", "bob", "alice's directory password"},
			}
			for _, tt := range tests {
				if _, err := d.Authenticate(ctx, tt.user, tt.pw); !errors.Is(err, mfa.ErrBadCredentials) {
					t.Errorf("Authenticate(%s) = %v, want ErrBadCredentials", tt.name, err)
				}
			}
			// A literal * in a uid is matched as a character, not a wildcard.
			if u, err := d.Authenticate(ctx, "star*", "wildcard user password"); err != nil || u.Username != "star*" {
				t.Errorf("Authenticate(star*) = %+v, %v", u, err)
			}
		})
	}
}

func TestAuthenticateUnavailable(t *testing.T) {
	s := slapdtest.Start(t, users...)
	ctx := t.Context()
	tests := []struct {
		name string
		c    ldapdir.Config
	}{
		{"wrong CA", config(s, func(c *ldapdir.Config) { c.RootCAs = nil })},
		{"wrong server name", config(s, func(c *ldapdir.Config) { c.ServerName = "ldap.example.org" })},
		{"wrong service password", config(s, func(c *ldapdir.Config) { c.BindPassword = "nope" })},
		{"every server dead", config(s, func(c *ldapdir.Config) { c.URLs = []string{slapdtest.DeadURL(t), slapdtest.DeadURL(t)} })},
	}
	for _, tt := range tests {
		d := newDir(t, tt.c)
		u, err := d.Authenticate(ctx, "alice", "alice's directory password")
		if !errors.Is(err, mfa.ErrUnavailable) {
			t.Errorf("Authenticate(%s) = %+v, %v; want Unavailable", tt.name, u, err)
		}
	}
	// The directory goes down: Unavailable, never an acceptance.
	d := newDir(t, config(s))
	if _, err := d.Authenticate(ctx, "alice", "alice's directory password"); err != nil {
		t.Fatalf("before stop: %v", err)
	}
	s.Stop()
	if _, err := d.Authenticate(ctx, "alice", "alice's directory password"); !errors.Is(err, mfa.ErrUnavailable) {
		t.Errorf("Authenticate(directory down) = %v, want Unavailable", err)
	}
}

// TestAuthenticateTimeout: a server that accepts connections but never
// answers is Unavailable after the timeout, not a hang and not an accept.
func TestAuthenticateTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	d := newDir(t, ldapdir.Config{URLs: []string{"ldap://" + l.Addr().String()}, StartTLS: true, BaseDN: "dc=example,dc=com",
		Timeout: 300 * time.Millisecond})
	_, err = d.Authenticate(t.Context(), "alice", "pw")
	if !errors.Is(err, mfa.ErrUnavailable) {
		t.Errorf("Authenticate(silent server) = %v, want Unavailable", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := ldapdir.Config{URLs: []string{"ldaps://ldap.example.com"}, BaseDN: "dc=example,dc=com"}
	tests := []struct {
		name string
		mod  func(*ldapdir.Config)
	}{
		{"no URL", func(c *ldapdir.Config) { c.URLs = nil }},
		{"http URL", func(c *ldapdir.Config) { c.URLs = []string{"http://ldap.example.com"} }},
		{"plain ldap without start_tls", func(c *ldapdir.Config) { c.URLs = []string{"ldap://ldap.example.com"} }},
		{"no base DN", func(c *ldapdir.Config) { c.BaseDN = "" }},
		{"filter without {username}", func(c *ldapdir.Config) { c.UserFilter = "(uid=alice)" }},
		{"broken filter", func(c *ldapdir.Config) { c.UserFilter = "(uid={username}" }},
		{"bind DN without password", func(c *ldapdir.Config) { c.BindDN = "cn=x" }},
		{"template without {username}", func(c *ldapdir.Config) { c.UserDNTemplate = "uid=x,dc=example" }},
	}
	if _, err := ldapdir.New(good, nil); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	for _, tt := range tests {
		c := good
		tt.mod(&c)
		if _, err := ldapdir.New(c, nil); err == nil {
			t.Errorf("New(%s) = nil error, want a refusal", tt.name)
		}
	}
}

// BenchmarkUnknownVsWrong compares what an unknown user costs with what a
// wrong password costs (a search and a bind each): compare the
// sub-benchmarks' ns/op (a timed unit test would flake on a busy machine).
func BenchmarkUnknownVsWrong(b *testing.B) {
	s := slapdtest.Start(b, users...)
	d := newDir(b, config(s))
	for _, c := range []struct{ name, user string }{{"wrong-password", "alice"}, {"unknown-user", "nobody"}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := d.Authenticate(b.Context(), c.user, "not the password"); err == nil {
					b.Fatal("a wrong password was accepted")
				}
			}
		})
	}
}
