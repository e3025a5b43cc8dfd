package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/config"
)

func TestDatabase(t *testing.T) {
	tests := []struct {
		give         config.Secret
		wantKind     string
		wantPath     string
		wantRedacted string
	}{
		{"", "sqlite", filepath.Join("data", "twostep.db"), ""},
		{"sqlite:///var/lib/t.db", "sqlite", "/var/lib/t.db", "sqlite:///var/lib/t.db"},
		{"sqlite://rel/t.db", "sqlite", "rel/t.db", "sqlite://rel/t.db"},
		{"file:/srv/t.db", "sqlite", "/srv/t.db", "file:/srv/t.db"},
		{"file:t.db", "sqlite", "t.db", "file:t.db"},
		{"postgres://bob:pw@db.example:5432/twostep", "postgres", "", "postgres://bob:xxxxx@db.example:5432/twostep"},
		{"postgresql://bob@db.example/twostep", "postgres", "", "postgresql://bob@db.example/twostep"},
		{"POSTGRES://bob:pw@h/d", "postgres", "", "postgres://bob:xxxxx@h/d"},
		{"postgres://h/d?user=bob&password=pw&sslmode=require", "postgres", "", "postgres://h/d?password=xxxxx&sslmode=require&user=bob"},
		{"postgres://bob:p%23w@h/d?sslpassword=pw", "postgres", "", "postgres://bob:xxxxx@h/d?sslpassword=xxxxx"},
		{"postgres://bob:p#w@h/d", "postgres", "", "[redacted]"},
		{"mysql://bob:pw@h/d", "", "", "[redacted]"},
	}
	for _, tt := range tests {
		c := config.Defaults()
		c.DataDir = "data"
		c.Database = tt.give
		if got := c.DatabaseKind(); got != tt.wantKind {
			t.Errorf("DatabaseKind() for %q = %q, want %q", tt.give.Reveal(), got, tt.wantKind)
		}
		if got := c.SQLitePath(); got != tt.wantPath {
			t.Errorf("SQLitePath() for %q = %q, want %q", tt.give.Reveal(), got, tt.wantPath)
		}
		if got := c.DatabaseRedacted(); got != tt.wantRedacted {
			t.Errorf("DatabaseRedacted() for %q = %q, want %q", tt.give.Reveal(), got, tt.wantRedacted)
		}
	}
}

func TestAPIHost(t *testing.T) {
	tests := []struct {
		listen    string
		hostnames []string
		want      string
	}{
		{"127.0.0.1:8443", []string{"localhost"}, "localhost:8443"},
		{":443", []string{"mfa.example.com", "other.example.com"}, "mfa.example.com"},
		{"0.0.0.0:8443", []string{"mfa.example.com"}, "mfa.example.com:8443"},
		{"[::]:8443", []string{"2001:db8::1"}, "[2001:db8::1]:8443"},
		{"[::]:443", []string{"2001:db8::1"}, "[2001:db8::1]"},
		{"127.0.0.1:0", []string{"localhost"}, "localhost:0"},
		{"127.0.0.1:8443", nil, ""},
		{"abc", []string{"localhost"}, ""},
	}
	for _, tt := range tests {
		c := config.Defaults()
		c.Listen, c.PublicHostnames = tt.listen, tt.hostnames
		if got := c.APIHost(); got != tt.want {
			t.Errorf("APIHost() with listen %q, hostnames %q = %q, want %q", tt.listen, tt.hostnames, got, tt.want)
		}
	}
}

func TestWriteTOML(t *testing.T) {
	c := config.Defaults()
	c.Database = "postgres://twostep:hunter2@db.example/twostep?sslmode=verify-full"
	c.MasterKey = config.Secret("k1:" + testKey('m'))
	c.PublicHostnames = []string{"mfa.example.com", "quote\"back\\slash"}
	c.TLS = config.TLS{Cert: "/etc/t/cert.pem", Key: "/etc/t/key.pem"}
	c.Metrics = config.Metrics{Listen: "127.0.0.1:9090", Token: "metrics-token-0123456789"}
	c.Delivery.Carrier = "twilio"
	c.Twilio.AccountSID, c.Twilio.AuthToken, c.Twilio.From = "AC01", "twilio-token-0123456789", "+15005550006"
	c.Twilio.APIKeySID, c.Twilio.APIKeySecret = "SK01", "twilio-key-secret-0123"
	c.Webhook = config.Webhook{URL: "https://sms.example/hook", Secret: "webhook-secret-0123456"}
	c.SMTP = config.SMTP{Host: "mail.example.com", TLS: "starttls", Username: "mailer", Password: "smtp-password-0123",
		From: "twostep@example.com", CAFile: "/etc/t/mail-ca.pem"}

	var b strings.Builder
	if err := c.WriteTOML(&b); err != nil {
		t.Fatalf("WriteTOML() error = %v", err)
	}
	want := `# twostepd effective configuration. Secrets are redacted.
# database: PostgreSQL
# api_host: "mfa.example.com:8443"
data = "./twostep-data"  # TWOSTEP_DATA
listen = "127.0.0.1:8443"  # TWOSTEP_LISTEN
database = "postgres://twostep:xxxxx@db.example/twostep?sslmode=verify-full"  # TWOSTEP_DATABASE or TWOSTEP_DATABASE_FILE
public_hostnames = ["mfa.example.com", "quote\"back\\slash"]  # TWOSTEP_PUBLIC_HOSTNAMES
master_key = "[redacted]"  # TWOSTEP_MASTER_KEY or TWOSTEP_MASTER_KEY_FILE
clock_skew = "5m"  # TWOSTEP_CLOCK_SKEW
shutdown_timeout = "15s"  # TWOSTEP_SHUTDOWN_TIMEOUT
logo_file = ""  # TWOSTEP_LOGO_FILE
organization = ""  # TWOSTEP_ORGANIZATION

[tls]
cert = "/etc/t/cert.pem"  # TWOSTEP_TLS_CERT
key = "/etc/t/key.pem"  # TWOSTEP_TLS_KEY

[log]
level = "info"  # TWOSTEP_LOG_LEVEL
format = "text"  # TWOSTEP_LOG_FORMAT

[db]
max_open_conns = 20  # TWOSTEP_DB_MAX_OPEN_CONNS
busy_timeout = "5s"  # TWOSTEP_DB_BUSY_TIMEOUT

[rate_limit]
user_per_minute = 60  # TWOSTEP_RATE_LIMIT_USER_PER_MINUTE
ip_per_minute = 300  # TWOSTEP_RATE_LIMIT_IP_PER_MINUTE
status_polls = 10000  # TWOSTEP_RATE_LIMIT_STATUS_POLLS

[metrics]
listen = "127.0.0.1:9090"  # TWOSTEP_METRICS_LISTEN
token = "[redacted]"  # TWOSTEP_METRICS_TOKEN or TWOSTEP_METRICS_TOKEN_FILE

[web]
brand_color = "#1d4ed8"  # TWOSTEP_WEB_BRAND_COLOR
session_idle_timeout = "30m"  # TWOSTEP_WEB_SESSION_IDLE_TIMEOUT
session_lifetime = "12h"  # TWOSTEP_WEB_SESSION_LIFETIME
help_contact = ""  # TWOSTEP_WEB_HELP_CONTACT

[radius]
listen = ""  # TWOSTEP_RADIUS_LISTEN

[delivery]
carrier = "twilio"  # TWOSTEP_DELIVERY_CARRIER
public_url = ""  # TWOSTEP_DELIVERY_PUBLIC_URL
call_prompt = ""  # TWOSTEP_DELIVERY_CALL_PROMPT
timeout = "10s"  # TWOSTEP_DELIVERY_TIMEOUT
retries = 2  # TWOSTEP_DELIVERY_RETRIES

[twilio]
base_url = "https://api.twilio.com"  # TWOSTEP_TWILIO_BASE_URL
account_sid = "AC01"  # TWOSTEP_TWILIO_ACCOUNT_SID
auth_token = "[redacted]"  # TWOSTEP_TWILIO_AUTH_TOKEN or TWOSTEP_TWILIO_AUTH_TOKEN_FILE
api_key_sid = "SK01"  # TWOSTEP_TWILIO_API_KEY_SID
api_key_secret = "[redacted]"  # TWOSTEP_TWILIO_API_KEY_SECRET or TWOSTEP_TWILIO_API_KEY_SECRET_FILE
from = "+15005550006"  # TWOSTEP_TWILIO_FROM
messaging_service_sid = ""  # TWOSTEP_TWILIO_MESSAGING_SERVICE_SID
extension_pre_delay = "0s"  # TWOSTEP_TWILIO_EXTENSION_PRE_DELAY
extension_post_delay = "0s"  # TWOSTEP_TWILIO_EXTENSION_POST_DELAY

[webhook]
url = "https://sms.example/hook"  # TWOSTEP_WEBHOOK_URL
secret = "[redacted]"  # TWOSTEP_WEBHOOK_SECRET or TWOSTEP_WEBHOOK_SECRET_FILE

[smtp]
host = "mail.example.com"  # TWOSTEP_SMTP_HOST
port = 0  # TWOSTEP_SMTP_PORT
tls = "starttls"  # TWOSTEP_SMTP_TLS
username = "mailer"  # TWOSTEP_SMTP_USERNAME
password = "[redacted]"  # TWOSTEP_SMTP_PASSWORD or TWOSTEP_SMTP_PASSWORD_FILE
from = "twostep@example.com"  # TWOSTEP_SMTP_FROM
ca_file = "/etc/t/mail-ca.pem"  # TWOSTEP_SMTP_CA_FILE

[first_factor]
oidc = ["password"]  # TWOSTEP_FIRST_FACTOR_OIDC
portal = ["password"]  # TWOSTEP_FIRST_FACTOR_PORTAL
console = ["password"]  # TWOSTEP_FIRST_FACTOR_CONSOLE
radius = ["password"]  # TWOSTEP_FIRST_FACTOR_RADIUS
min_password_length = 12  # TWOSTEP_FIRST_FACTOR_MIN_PASSWORD_LENGTH

[ldap]
urls = []  # TWOSTEP_LDAP_URLS
tls = "starttls"  # TWOSTEP_LDAP_TLS
ca_file = ""  # TWOSTEP_LDAP_CA_FILE
server_name = ""  # TWOSTEP_LDAP_SERVER_NAME
bind_dn = ""  # TWOSTEP_LDAP_BIND_DN
bind_password = ""  # TWOSTEP_LDAP_BIND_PASSWORD or TWOSTEP_LDAP_BIND_PASSWORD_FILE
user_dn_template = ""  # TWOSTEP_LDAP_USER_DN_TEMPLATE
base_dn = ""  # TWOSTEP_LDAP_BASE_DN
user_filter = "(&(objectClass=person)(uid={username}))"  # TWOSTEP_LDAP_USER_FILTER
username_attribute = "uid"  # TWOSTEP_LDAP_USERNAME_ATTRIBUTE
email_attribute = "mail"  # TWOSTEP_LDAP_EMAIL_ATTRIBUTE
name_attribute = "cn"  # TWOSTEP_LDAP_NAME_ATTRIBUTE
groups_attribute = "memberOf"  # TWOSTEP_LDAP_GROUPS_ATTRIBUTE
timeout = "5s"  # TWOSTEP_LDAP_TIMEOUT

[oidc]
key_rotation = "720h"  # TWOSTEP_OIDC_KEY_ROTATION
session_lifetime = "8h"  # TWOSTEP_OIDC_SESSION_LIFETIME

[console]
idle_timeout = "15m"  # TWOSTEP_CONSOLE_IDLE_TIMEOUT
session_lifetime = "8h"  # TWOSTEP_CONSOLE_SESSION_LIFETIME
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteTOML() mismatch (-want +got):\n%s", diff)
	}
}

// TestWriteTOMLRoundTrip loads what WriteTOML wrote: the output is valid
// TOML, uses only known keys and, secrets aside, gives back the same config.
func TestWriteTOMLRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		give func(*config.Config)
	}{
		{"defaults", func(*config.Config) {}},
		{"everything set", func(c *config.Config) {
			c.DataDir = "/var/lib/tw\u00f6step\ttab"
			c.Listen = "[::1]:0"
			c.Database = "sqlite:///srv/t.db"
			c.PublicHostnames = []string{"a.example", "192.0.2.1"}
			c.TLS = config.TLS{Cert: "c\x01.pem", Key: "k\n.pem"}
			c.Log = config.Log{Level: "debug", Format: "json"}
			c.ClockSkew = 90 * 1e9
			c.ShutdownTimeout = 61 * 1e9
			c.DB = config.DB{MaxOpenConns: 7, BusyTimeout: 1500 * 1e6}
			c.Delivery = config.Delivery{Carrier: "outbox", PublicURL: "https://mfa.example", CallPrompt: "Press 1, {username}.",
				Timeout: 5 * 1e9, Retries: 0}
			c.Twilio.ExtensionPreDelay = 2 * 1e9
			c.Webhook.URL = "https://sms.example/hook"
			c.SMTP = config.SMTP{Host: "127.0.0.1", Port: 2525, TLS: "none", From: "t@example.com", CAFile: "/ca.pem"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := config.Defaults()
			tt.give(&want)
			path := filepath.Join(t.TempDir(), "out.toml")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := want.WriteTOML(f); err != nil {
				t.Fatalf("WriteTOML() error = %v", err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := config.Load(path, getenv(nil))
			if err != nil {
				out, _ := os.ReadFile(path)
				t.Fatalf("Load(WriteTOML output) error = %v\noutput:\n%s", err, out)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load(WriteTOML output) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteTOMLCommentsStayComments(t *testing.T) {
	c := config.Defaults()
	c.DataDir = "evil\nlisten = \"0.0.0.0:1\""
	var b strings.Builder
	if err := c.WriteTOML(&b); err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(b.String()) {
		if strings.HasPrefix(line, "[") {
			break // the tables ([metrics] has a listen key of its own)
		}
		if strings.HasPrefix(line, "listen") && !strings.HasPrefix(line, `listen = "127.0.0.1:8443"`) {
			t.Errorf("WriteTOML() wrote line %q, want values kept inside their quotes", line)
		}
	}
}
