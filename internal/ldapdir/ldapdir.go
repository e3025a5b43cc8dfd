package ldapdir

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Config is the directory's settings (config [ldap]).
type Config struct {
	// URLs are tried in order: ldaps://host:636 or ldap://host:389.
	URLs []string
	// StartTLS upgrades ldap:// connections with StartTLS.
	StartTLS bool
	// RootCAs verify the server's certificate (from ca_file); nil uses
	// the system's roots.
	RootCAs *x509.CertPool
	// ServerName overrides the name the certificate must carry (default:
	// the URL's host).
	ServerName string
	// Insecure allows plain ldap:// without StartTLS (tests only; config
	// validation refuses it otherwise).
	Insecure bool
	// BindDN and BindPassword are the service account that searches for
	// users; both empty searches anonymously.
	BindDN       string
	BindPassword string
	// UserDNTemplate, when set, is direct-bind mode: the user's DN is this
	// template with {username} replaced (escaped as a DN value), and no
	// search runs before the bind.
	UserDNTemplate string
	// BaseDN is where users are searched for.
	BaseDN string
	// UserFilter finds one user: {username} is replaced by the escaped
	// name. Default "(&(objectClass=person)(uid={username}))"; for Active
	// Directory "(&(objectClass=person)(sAMAccountName={username}))".
	UserFilter string
	// Attribute mapping (defaults: uid, mail, cn, memberOf).
	UsernameAttr, EmailAttr, NameAttr, GroupsAttr string
	// Timeout bounds each server's connect, and each operation (default 5 s).
	Timeout time.Duration
}

// DefaultUserFilter finds a user by uid.
const DefaultUserFilter = "(&(objectClass=person)(uid={username}))"

// DefaultTimeout bounds a connect and each operation.
const DefaultTimeout = 5 * time.Second

// Directory is an LDAP directory checking passwords by bind.
type Directory struct {
	c   Config
	log *slog.Logger
}

var _ mfa.Directory = (*Directory)(nil)

// New checks c and returns the directory.
func New(c Config, logger *slog.Logger) (*Directory, error) {
	if len(c.URLs) == 0 {
		return nil, errors.New("ldap: at least one URL is required")
	}
	for _, raw := range c.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
			return nil, fmt.Errorf("ldap: URL %q must be ldap://host[:port] or ldaps://host[:port]", raw)
		}
		if u.Scheme == "ldap" && !c.StartTLS && !c.Insecure {
			return nil, fmt.Errorf("ldap: URL %q is plain LDAP: use ldaps:// or set start_tls", raw)
		}
	}
	if c.UserDNTemplate == "" && c.BaseDN == "" {
		return nil, errors.New("ldap: base_dn is required (or user_dn_template for direct bind)")
	}
	if c.UserDNTemplate != "" && !strings.Contains(c.UserDNTemplate, "{username}") {
		return nil, errors.New("ldap: user_dn_template must contain {username}")
	}
	if c.UserFilter == "" {
		c.UserFilter = DefaultUserFilter
	}
	if !strings.Contains(c.UserFilter, "{username}") {
		return nil, errors.New("ldap: user_filter must contain {username}")
	}
	if _, err := ldap.CompileFilter(strings.ReplaceAll(c.UserFilter, "{username}", "x")); err != nil {
		return nil, fmt.Errorf("ldap: user_filter: %w", err)
	}
	if (c.BindDN == "") != (c.BindPassword == "") {
		return nil, errors.New("ldap: bind_dn and bind_password go together")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.UsernameAttr, "uid")
	def(&c.EmailAttr, "mail")
	def(&c.NameAttr, "cn")
	def(&c.GroupsAttr, "memberOf")
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Directory{c: c, log: logger}, nil
}

// errDown marks a failure to talk to the directory: Unavailable.
func errDown(op string, err error) error {
	return mfa.Wrap(mfa.Unavailable, "the directory is not answering", fmt.Errorf("ldap %s: %w", op, err))
}

// Authenticate checks username's password by binding as the user.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (mfa.DirectoryUser, error) {
	if username == "" || password == "" {
		// An empty simple bind is an anonymous bind: never send one.
		return mfa.DirectoryUser{}, mfa.ErrBadCredentials
	}
	conn, err := d.dial(ctx)
	if err != nil {
		return mfa.DirectoryUser{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var entry *ldap.Entry
	dn := ""
	if d.c.UserDNTemplate != "" {
		dn = strings.ReplaceAll(d.c.UserDNTemplate, "{username}", ldap.EscapeDN(username))
	} else {
		if d.c.BindDN != "" {
			if err := conn.Bind(d.c.BindDN, d.c.BindPassword); err != nil {
				if isNetwork(err) {
					return mfa.DirectoryUser{}, errDown("service bind", err)
				}
				// A refused service account is a configuration fault:
				// nobody can log in, and nobody is accepted.
				return mfa.DirectoryUser{}, errDown("service bind (check bind_dn and bind_password)", err)
			}
		}
		filter := strings.ReplaceAll(d.c.UserFilter, "{username}", ldap.EscapeFilter(username))
		res, err := conn.Search(ldap.NewSearchRequest(d.c.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			2, int(d.c.Timeout.Seconds()), false, filter, d.attrs(), nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return mfa.DirectoryUser{}, errDown("search", err)
		}
		switch {
		case res == nil || len(res.Entries) == 0:
			// Unknown: bind to a DN that does not exist, so that this
			// costs what a wrong password costs.
			d.dummyBind(conn, password)
			return mfa.DirectoryUser{}, mfa.ErrBadCredentials
		case len(res.Entries) > 1:
			d.log.WarnContext(ctx, "ldap user filter matches more than one entry; refusing", "username", username)
			d.dummyBind(conn, password)
			return mfa.DirectoryUser{}, mfa.ErrBadCredentials
		}
		entry = res.Entries[0]
		dn = entry.DN
	}
	if err := conn.Bind(dn, password); err != nil {
		if isNetwork(err) {
			return mfa.DirectoryUser{}, errDown("bind", err)
		}
		return mfa.DirectoryUser{}, mfa.ErrBadCredentials
	}
	if entry == nil {
		// Direct bind: read the user's own entry, as the user.
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, int(d.c.Timeout.Seconds()), false, "(objectClass=*)", d.attrs(), nil))
		if err == nil && len(res.Entries) == 1 {
			entry = res.Entries[0]
		}
	}
	u := mfa.DirectoryUser{DN: dn, Username: username}
	if entry != nil {
		if v := entry.GetAttributeValue(d.c.UsernameAttr); v != "" {
			u.Username = v
		}
		u.Email = entry.GetAttributeValue(d.c.EmailAttr)
		u.RealName = entry.GetAttributeValue(d.c.NameAttr)
		u.Groups = entry.GetAttributeValues(d.c.GroupsAttr)
	}
	return u, nil
}

func (d *Directory) attrs() []string {
	return []string{d.c.UsernameAttr, d.c.EmailAttr, d.c.NameAttr, d.c.GroupsAttr}
}

// dummyBind binds to a DN that does not exist, ignoring the answer.
func (d *Directory) dummyBind(conn *ldap.Conn, password string) {
	base := d.c.BaseDN
	if base == "" {
		base = "dc=invalid"
	}
	_ = conn.Bind("cn=twostep-no-such-user,"+base, password)
}

// dial connects to the first server that answers, with TLS.
func (d *Directory) dial(ctx context.Context) (*ldap.Conn, error) {
	var errs []error
	for _, raw := range d.c.URLs {
		if err := ctx.Err(); err != nil {
			return nil, errDown("connect", err)
		}
		conn, err := d.dialOne(ctx, raw)
		if err == nil {
			return conn, nil
		}
		d.log.WarnContext(ctx, "ldap server unavailable; trying the next", "url", raw, "error", err)
		errs = append(errs, fmt.Errorf("%s: %w", raw, err))
	}
	return nil, errDown("connect", errors.Join(errs...))
}

func (d *Directory) dialOne(ctx context.Context, raw string) (*ldap.Conn, error) {
	u, _ := url.Parse(raw) // checked in New
	name := d.c.ServerName
	if name == "" {
		name = u.Hostname()
	}
	tc := &tls.Config{RootCAs: d.c.RootCAs, ServerName: name, MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{Timeout: d.c.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := ldap.DialURL(raw, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(d.c.Timeout)
	if u.Scheme == "ldap" && d.c.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	return conn, nil
}

// isNetwork reports whether err is a failure to talk to the server
// (rather than the server's answer).
func isNetwork(err error) bool {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == ldap.ErrorNetwork || le.ResultCode == ldap.ErrorUnexpectedResponse ||
			le.ResultCode == ldap.LDAPResultUnavailable || le.ResultCode == ldap.LDAPResultBusy ||
			errors.Is(le.Err, ldap.ErrConnUnbound) ||
			isTimeout(le.Err)
	}
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.As(err, &ne) && ne.Timeout() || strings.Contains(err.Error(), "timeout") ||
		strings.Contains(err.Error(), "timed out"))
}
