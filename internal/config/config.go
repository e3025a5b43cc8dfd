package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/seal"
)

// Config is the whole server's configuration. The koanf tags are the TOML
// keys; the environment variable names are derived from them (see the
// package documentation).
type Config struct {
	// DataDir holds the SQLite database, a generated master key and other
	// local state.
	DataDir string `koanf:"data"`
	// Listen is the host:port the HTTPS server listens on; port 0 picks one.
	Listen string `koanf:"listen"`
	// Database is empty for embedded SQLite at <data>/twostep.db, a
	// "postgres://" or "postgresql://" URL for PostgreSQL, or a
	// "sqlite:///path" or "file:path" DSN for SQLite elsewhere.
	Database Secret `koanf:"database"`
	// PublicHostnames are the names clients use to reach the server: the
	// TLS certificate's SANs and, first one, the api_host clients are told.
	PublicHostnames []string `koanf:"public_hostnames"`
	TLS             TLS      `koanf:"tls"`
	// MasterKey seals secrets at rest: base64 (standard or raw URL) of 32
	// bytes, optionally prefixed "<keyid>:". Empty means the caller generates
	// one into the data dir. The format is seal.ParseKey's: "[<keyid>:]<base64 of 32 bytes>".
	// Several keys separated by white space or commas (a key file with one
	// per line) make a keyring: the first seals, every one opens (see
	// [Config.MasterKeys]); that is how a rekey is rolled out to several
	// nodes.
	MasterKey Secret `koanf:"master_key"`
	Log       Log    `koanf:"log"`
	// ClockSkew is how far a signed request's Date may be from our clock.
	ClockSkew time.Duration `koanf:"clock_skew"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// LogoFile is a PNG (at most [MaxLogoBytes]) that GET /auth/v2/logo
	// answers; empty answers twostep's own logo. See [Config.Logo].
	LogoFile string `koanf:"logo_file"`
	// Organization is the name authenticator apps show for accounts of
	// this server (Duo's customer_name); empty shows the API host.
	Organization string    `koanf:"organization"`
	DB           DB        `koanf:"db"`
	RateLimit    RateLimit `koanf:"rate_limit"`
	Metrics      Metrics   `koanf:"metrics"`
	Web          Web       `koanf:"web"`
	Radius       Radius    `koanf:"radius"`
	Delivery     Delivery  `koanf:"delivery"`
	Twilio       Twilio    `koanf:"twilio"`
	Webhook      Webhook   `koanf:"webhook"`
	SMTP         SMTP      `koanf:"smtp"`
	// FirstFactor chooses where passwords are checked when twostep is the
	// whole login (docs/first-factor.md).
	FirstFactor FirstFactor `koanf:"first_factor"`
	LDAP        LDAP        `koanf:"ldap"`
	OIDC        OIDC        `koanf:"oidc"`
	Console     Console     `koanf:"console"`
}

// Console tunes the administrators' console (/console/).
type Console struct {
	// IdleTimeout signs an administrator out after this long without a
	// request.
	IdleTimeout time.Duration `koanf:"idle_timeout"`
	// SessionLifetime signs an administrator out this long after they
	// signed in, however much they use the console.
	SessionLifetime time.Duration `koanf:"session_lifetime"`
}

// First-factor sources.
const (
	SourcePassword = "password"
	SourceLDAP     = "ldap"
)

// FirstFactor lists, per surface, the sources of the first factor in
// order of preference: "password" (a twostep password, used when the user
// has one) and "ldap" (a bind to the directory).
type FirstFactor struct {
	OIDC    []string `koanf:"oidc"`
	Portal  []string `koanf:"portal"`
	Console []string `koanf:"console"`
	// Radius is for RADIUS clients with first_factor = "local".
	Radius []string `koanf:"radius"`
	// MinPasswordLength is the policy's minimum for twostep passwords.
	MinPasswordLength int `koanf:"min_password_length"`
}

// UsesLDAP reports whether a surface checks passwords in the directory.
func (f FirstFactor) UsesLDAP() bool {
	for _, l := range [][]string{f.OIDC, f.Portal, f.Console, f.Radius} {
		for _, s := range l {
			if s == SourceLDAP {
				return true
			}
		}
	}
	return false
}

// LDAP is the directory that checks passwords (LDAP or Active Directory).
type LDAP struct {
	// URLs are tried in order (failover): ldaps://host:636 or ldap://host:389.
	URLs []string `koanf:"urls"`
	// TLS is "starttls" (ldap:// URLs upgraded), "ldaps" (ldaps:// URLs)
	// or "none" (plain LDAP, loopback URLs only: never passwords over a
	// network in the clear).
	TLS string `koanf:"tls"`
	// CAFile verifies the directory's certificate (PEM); empty uses the
	// system's roots.
	CAFile     string `koanf:"ca_file"`
	ServerName string `koanf:"server_name"`
	// BindDN and BindPassword are the service account that finds users;
	// empty searches anonymously.
	BindDN       string `koanf:"bind_dn"`
	BindPassword Secret `koanf:"bind_password"`
	// UserDNTemplate ("uid={username},ou=people,dc=example,dc=com")
	// binds directly, without a search.
	UserDNTemplate string `koanf:"user_dn_template"`
	BaseDN         string `koanf:"base_dn"`
	// UserFilter finds one user; {username} is replaced, escaped. For
	// Active Directory: (&(objectClass=person)(sAMAccountName={username})).
	UserFilter        string        `koanf:"user_filter"`
	UsernameAttribute string        `koanf:"username_attribute"`
	EmailAttribute    string        `koanf:"email_attribute"`
	NameAttribute     string        `koanf:"name_attribute"`
	GroupsAttribute   string        `koanf:"groups_attribute"`
	Timeout           time.Duration `koanf:"timeout"`
}

// OIDC is the standard OpenID Connect provider (docs/oidc.md).
type OIDC struct {
	// KeyRotation is how long a signing key signs before a new one
	// replaces it.
	KeyRotation time.Duration `koanf:"key_rotation"`
	// SessionLifetime bounds single sign-on: a login older than this is
	// asked again (and never longer than the browser session).
	SessionLifetime time.Duration `koanf:"session_lifetime"`
}

// Delivery chooses the carrier of SMS passcodes and phone calls (email
// goes through [SMTP] when smtp.host is set, else to the outbox).
type Delivery struct {
	// Carrier is "outbox" (development: files in <data>/outbox), "twilio"
	// or "webhook".
	Carrier string `koanf:"carrier"`
	// PublicURL is the base URL carriers call back (Twilio's Gather action
	// and status callbacks, the webhook's keypress_url); empty means
	// https://<api_host>.
	PublicURL string `koanf:"public_url"`
	// CallPrompt is what a call says; {application} and {username} are
	// replaced. Empty: authflow's default ("... Press 1 to approve. Press 9
	// to report fraud.").
	CallPrompt string `koanf:"call_prompt"`
	// Timeout bounds each request to the carrier.
	Timeout time.Duration `koanf:"timeout"`
	// Retries is how many more times a request that failed transiently
	// (network error, timeout, 5xx) is tried; 4xx answers never are.
	Retries int `koanf:"retries"`
}

// Twilio configures the twilio carrier (any service speaking Twilio's
// REST API at BaseURL).
type Twilio struct {
	BaseURL    string `koanf:"base_url"`
	AccountSID string `koanf:"account_sid"`
	// AuthToken authenticates requests (unless an API key is set) and
	// always checks X-Twilio-Signature on callbacks.
	AuthToken           Secret        `koanf:"auth_token"`
	APIKeySID           string        `koanf:"api_key_sid"`
	APIKeySecret        Secret        `koanf:"api_key_secret"`
	From                string        `koanf:"from"`
	MessagingServiceSID string        `koanf:"messaging_service_sid"`
	ExtensionPreDelay   time.Duration `koanf:"extension_pre_delay"`
	ExtensionPostDelay  time.Duration `koanf:"extension_post_delay"`
}

// Webhook configures the webhook carrier.
type Webhook struct {
	URL    string `koanf:"url"`
	Secret Secret `koanf:"secret"`
}

// SMTP configures email delivery (enrollment and activation links, fraud
// alerts, lockout and account-change notices). Without a host, email goes
// to the outbox directory.
type SMTP struct {
	Host string `koanf:"host"`
	// Port 0 means 587 (starttls), 465 (implicit) or 25 (none).
	Port int `koanf:"port"`
	// TLS is "starttls" (required, never opportunistic), "implicit" or
	// "none" (only to a loopback host).
	TLS      string `koanf:"tls"`
	Username string `koanf:"username"`
	Password Secret `koanf:"password"`
	// From is the sender's address; the display name is Organization.
	From string `koanf:"from"`
	// CAFile is a PEM file of CAs that sign the server's certificate;
	// empty uses the system roots.
	CAFile string `koanf:"ca_file"`
}

// SMTP TLS modes.
const (
	SMTPStartTLS = "starttls"
	SMTPImplicit = "implicit"
	SMTPNone     = "none"
)

// Delivery carriers.
const (
	CarrierOutbox  = "outbox"
	CarrierTwilio  = "twilio"
	CarrierWebhook = "webhook"
)

// CallbackURL is the base URL carriers call back: Delivery.PublicURL, or
// https://<api_host>.
func (c Config) CallbackURL() string {
	if c.Delivery.PublicURL != "" {
		return strings.TrimRight(c.Delivery.PublicURL, "/")
	}
	if h := c.APIHost(); h != "" {
		return "https://" + h
	}
	return ""
}

// Web tunes the browser pages (internal/web).
type Web struct {
	// BrandColor is the pages' brand colour, "#rrggbb" (buttons, focus
	// accents; link colours follow it where its contrast allows).
	BrandColor string `koanf:"brand_color"`
	// SessionIdleTimeout ends a browser session not used for this long.
	SessionIdleTimeout time.Duration `koanf:"session_idle_timeout"`
	// SessionLifetime ends every browser session this long after it began
	// (the absolute timeout), however much it is used.
	SessionLifetime time.Duration `koanf:"session_lifetime"`
	// HelpContact is whom people should contact for help, shown on the
	// locked-out page ("the IT service desk, +1 555 0100"); "" says "your
	// administrator or help desk".
	HelpContact string `koanf:"help_contact"`
}

// Metrics says where GET /metrics is served. With neither set, it is not
// served at all (404), so that a zero-config start exposes nothing.
type Metrics struct {
	// Listen is a separate plain-HTTP address (such as 127.0.0.1:9090)
	// that serves /metrics, and then only it: the main port never does.
	Listen string `koanf:"listen"`
	// Token is a bearer token /metrics requires ("Authorization: Bearer
	// <token>"). Alone, it serves /metrics on the main port to holders of
	// the token; with Listen, the separate listener requires it too.
	Token Secret `koanf:"token"`
}

// TLS names the PEM certificate and key files; set both or neither. What
// neither means (such as a self-signed certificate for
// [Config.PublicHostnames]) is the caller's choice.
type TLS struct {
	Cert string `koanf:"cert"`
	Key  string `koanf:"key"`
}

// Log configures the slog handler.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn or error
	Format string `koanf:"format"` // text or json
}

// DB tunes the database pools.
type DB struct {
	// MaxOpenConns is the PostgreSQL pool size, or the SQLite read pool size
	// (SQLite always has exactly one writer connection).
	MaxOpenConns int `koanf:"max_open_conns"`
	// BusyTimeout is SQLite's busy_timeout.
	BusyTimeout time.Duration `koanf:"busy_timeout"`
}

// RateLimit sets the durable passcode attempt limits, counted in the
// database so that they hold across every node sharing it (each node also
// has fixed in-memory limits, the cheap first line). 0 turns one off. The
// server applies them on PostgreSQL only; the defaults are authflow's
// DefaultDurableUserLimit and DefaultDurableIPLimit.
type RateLimit struct {
	// UserPerMinute caps passcode attempts per user per minute.
	UserPerMinute int `koanf:"user_per_minute"`
	// IPPerMinute caps passcode attempts per client address (an IPv6
	// address by its /64) per minute.
	IPPerMinute int `koanf:"ip_per_minute"`
	// StatusPolls caps the auth_status long polls waiting at once per
	// integration on each node (the excess gets 429); it applies on every
	// database and cannot be turned off.
	StatusPolls int `koanf:"status_polls"`
}

// MaxStatusPolls bounds rate_limit.status_polls.
const MaxStatusPolls = 1000000

// MaxRateLimitPerMinute bounds the rate_limit settings.
const MaxRateLimitPerMinute = 100000

// MaxOrganizationLen bounds the organization name apps show.
const MaxOrganizationLen = 64

// Defaults returns the configuration used when no source sets a value.
func Defaults() Config {
	return Config{
		DataDir:         "./twostep-data",
		Listen:          "127.0.0.1:8443",
		PublicHostnames: []string{"localhost"},
		Log:             Log{Level: "info", Format: "text"},
		ClockSkew:       300 * time.Second,
		ShutdownTimeout: 15 * time.Second,
		DB:              DB{MaxOpenConns: 20, BusyTimeout: 5 * time.Second},
		RateLimit:       RateLimit{UserPerMinute: 60, IPPerMinute: 300, StatusPolls: 10000},
		Web:             Web{BrandColor: "#1d4ed8", SessionIdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour},
		Delivery:        Delivery{Carrier: CarrierOutbox, Timeout: 10 * time.Second, Retries: 2},
		Twilio:          Twilio{BaseURL: "https://api.twilio.com"},
		SMTP:            SMTP{TLS: SMTPStartTLS},
		FirstFactor: FirstFactor{OIDC: []string{SourcePassword}, Portal: []string{SourcePassword},
			Console: []string{SourcePassword}, Radius: []string{SourcePassword}, MinPasswordLength: 12},
		LDAP: LDAP{URLs: []string{}, TLS: "starttls", UserFilter: "(&(objectClass=person)(uid={username}))", UsernameAttribute: "uid",
			EmailAttribute: "mail", NameAttribute: "cn", GroupsAttribute: "memberOf", Timeout: 5 * time.Second},
		OIDC:    OIDC{KeyRotation: 30 * 24 * time.Hour, SessionLifetime: 8 * time.Hour},
		Console: Console{IdleTimeout: 15 * time.Minute, SessionLifetime: 8 * time.Hour},
	}
}

// Database kinds returned by [Config.DatabaseKind].
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DatabaseKind returns [SQLite] or [Postgres], or "" for a database setting
// that is not recognised (which [Config.Validate] reports).
func (c Config) DatabaseKind() string {
	kind, _ := splitDatabase(c.Database.Reveal())
	return kind
}

// SQLitePath returns the SQLite database file for a SQLite configuration
// (<data>/twostep.db by default), or "" for PostgreSQL.
func (c Config) SQLitePath() string {
	kind, rest := splitDatabase(c.Database.Reveal())
	if kind != SQLite {
		return ""
	}
	if c.Database == "" {
		return filepath.Join(c.DataDir, "twostep.db")
	}
	path, _, _ := strings.Cut(rest, "?")
	return path
}

// splitDatabase returns the kind of a database setting and, for SQLite, the
// part after the scheme.
func splitDatabase(dsn string) (kind, rest string) {
	if dsn == "" {
		return SQLite, ""
	}
	scheme, rest, _ := strings.Cut(dsn, ":")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if strings.HasPrefix(rest, "//") {
			return Postgres, ""
		}
	case "sqlite":
		if p, ok := strings.CutPrefix(rest, "//"); ok {
			return SQLite, p
		}
	case "file":
		return SQLite, rest
	}
	return "", ""
}

// DatabaseRedacted returns the database setting fit for printing: a
// PostgreSQL URL with its password (in the userinfo or in a password query
// parameter) replaced, user, host and database shown. A setting that cannot
// be parsed is fully redacted; a SQLite path is shown as it is.
func (c Config) DatabaseRedacted() string {
	dsn := c.Database.Reveal()
	switch c.DatabaseKind() {
	case SQLite:
		return dsn // a file path, nothing secret
	case "":
		return c.Database.String() // unrecognised: cannot tell where a password is
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return redacted
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return redacted
		}
		for k := range q {
			if lk := strings.ToLower(k); lk == "password" || lk == "sslpassword" {
				q[k] = []string{"xxxxx"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// APIHost returns the host[:port] clients are told to call: the first public
// hostname and the listen port, the port omitted when it is 443. It returns
// "" when there is no public hostname or the listen address has no port.
func (c Config) APIHost() string {
	if len(c.PublicHostnames) == 0 {
		return ""
	}
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "" {
		return ""
	}
	host := c.PublicHostnames[0]
	if port == "443" {
		if strings.Contains(host, ":") { // IPv6 literal
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// listenPort returns the numeric port of a host:port, or an error message.
func listenPort(listen string) (int, string) {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return 0, "is not host:port"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return 0, "port must be a number from 0 to 65535"
	}
	return n, ""
}

// MasterKeyValue parses the configured master key (the first one of a
// keyring); ok is false when none is configured (the caller then uses the
// data directory's generated key).
func (c Config) MasterKeyValue() (k seal.Key, ok bool, err error) {
	keys, err := c.MasterKeys()
	if err != nil || len(keys) == 0 {
		return seal.Key{}, false, err
	}
	return keys[0], true, nil
}

// MasterKeys parses the configured master keys: the first seals, the
// others only open. It returns none when no key is configured.
func (c Config) MasterKeys() ([]seal.Key, error) {
	if c.MasterKey == "" {
		return nil, nil
	}
	return seal.ParseKeys(c.MasterKey.Reveal())
}
