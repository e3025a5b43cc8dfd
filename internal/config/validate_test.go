package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/config"
)

func TestValidate(t *testing.T) {
	key := testKey('k')
	tests := []struct {
		name string
		give func(*config.Config) // applied to Defaults()
		want string               // "" for valid
	}{
		{"defaults", func(*config.Config) {}, ""},
		{"full valid", func(c *config.Config) {
			c.Listen = "[::1]:0"
			c.Database = "postgres://u:p@db.example:5432/twostep?sslmode=require"
			c.PublicHostnames = []string{"mfa.example.com", "192.0.2.1", "2001:db8::1", "x-1.example"}
			c.TLS = config.TLS{Cert: "c.pem", Key: "k.pem"}
			c.MasterKey = config.Secret("2026-01:" + key)
			c.Log = config.Log{Level: "error", Format: "json"}
			c.ClockSkew, c.ShutdownTimeout = 30*time.Second, 5*time.Minute
			c.DB = config.DB{MaxOpenConns: 1000, BusyTimeout: time.Minute}
		}, ""},
		{"listen on all interfaces", func(c *config.Config) { c.Listen = ":8443" }, ""},
		{"raw URL master key", func(c *config.Config) {
			c.MasterKey = config.Secret(strings.Repeat("-_", 21) + "8") // 32 bytes 0xfb 0xef 0xbf ...
		}, ""},
		{"master keyring, one per line", func(c *config.Config) {
			c.MasterKey = config.Secret("k2:" + key + "\nk1:" + key + "\n")
		}, ""},
		{"master keyring with a repeated id", func(c *config.Config) {
			c.MasterKey = config.Secret("k1:" + key + ",k1:" + key)
		}, `master_key: key id "k1" given twice (TWOSTEP_MASTER_KEY or TWOSTEP_MASTER_KEY_FILE)`},
		{"metrics listener and token", func(c *config.Config) {
			c.Metrics = config.Metrics{Listen: "127.0.0.1:9090", Token: "0123456789abcdef"}
		}, ""},
		{"metrics listen not host:port", func(c *config.Config) { c.Metrics.Listen = "9090" },
			`metrics.listen: "9090" is not host:port (TWOSTEP_METRICS_LISTEN)`},
		{"metrics token short", func(c *config.Config) { c.Metrics.Token = "short" },
			"metrics.token: must be at least 16 printable ASCII characters without spaces (TWOSTEP_METRICS_TOKEN or TWOSTEP_METRICS_TOKEN_FILE)"},
		{"twilio carrier", func(c *config.Config) {
			c.Delivery.Carrier = "twilio"
			c.Twilio.AccountSID, c.Twilio.AuthToken, c.Twilio.MessagingServiceSID = "AC1", "token", "MG1"
		}, ""},
		{"twilio carrier incomplete", func(c *config.Config) {
			c.Delivery.Carrier, c.Twilio.BaseURL, c.Twilio.APIKeySID = "twilio", "api.twilio.com", "SK1"
		}, `twilio.base_url: "api.twilio.com" is not an http(s) URL (TWOSTEP_TWILIO_BASE_URL)
twilio.account_sid: is required with delivery.carrier = "twilio" (TWOSTEP_TWILIO_ACCOUNT_SID)
twilio.auth_token: is required with delivery.carrier = "twilio" (it checks X-Twilio-Signature on callbacks, even with an API key) (TWOSTEP_TWILIO_AUTH_TOKEN or TWOSTEP_TWILIO_AUTH_TOKEN_FILE)
twilio.api_key_secret: twilio.api_key_sid and twilio.api_key_secret go together (TWOSTEP_TWILIO_API_KEY_SECRET or TWOSTEP_TWILIO_API_KEY_SECRET_FILE)
twilio.from: a from number (or, for SMS only, twilio.messaging_service_sid) is required (TWOSTEP_TWILIO_FROM)`},
		{"webhook carrier", func(c *config.Config) {
			c.Delivery.Carrier, c.Webhook = "webhook", config.Webhook{URL: "https://sms.example/hook", Secret: "0123456789abcdef"}
		}, ""},
		{"webhook carrier incomplete", func(c *config.Config) { c.Delivery.Carrier, c.Webhook.Secret = "webhook", "short" },
			`webhook.url: "" is not an http(s) URL (TWOSTEP_WEBHOOK_URL)
webhook.secret: must be at least 16 characters (TWOSTEP_WEBHOOK_SECRET or TWOSTEP_WEBHOOK_SECRET_FILE)`},
		{"delivery limits", func(c *config.Config) {
			c.Delivery = config.Delivery{Carrier: "fax", PublicURL: "twostep.example", Timeout: time.Hour, Retries: 9}
			c.Twilio.ExtensionPostDelay = time.Minute
		}, `delivery.carrier: "fax" is not outbox, twilio or webhook (TWOSTEP_DELIVERY_CARRIER)
delivery.public_url: "twostep.example" is not an http(s) URL (TWOSTEP_DELIVERY_PUBLIC_URL)
delivery.timeout: 1h is not between 1s and 1m (TWOSTEP_DELIVERY_TIMEOUT)
delivery.retries: 9 is not between 0 and 5 (TWOSTEP_DELIVERY_RETRIES)
twilio.extension_post_delay: 1m is not between 0s and 30s (TWOSTEP_TWILIO_EXTENSION_POST_DELAY)`},
		{"smtp", func(c *config.Config) {
			c.SMTP = config.SMTP{Host: "mail.example.com", TLS: "implicit", Username: "u", Password: "p", From: "twostep@example.com"}
		}, ""},
		{"smtp plaintext to loopback", func(c *config.Config) {
			c.SMTP = config.SMTP{Host: "127.0.0.1", Port: 25, TLS: "none", From: "twostep@example.com"}
		}, ""},
		{"smtp plaintext to another host", func(c *config.Config) {
			c.SMTP = config.SMTP{Host: "mail.example.com", TLS: "none", From: "twostep@example.com"}
		}, `smtp.tls: "none" is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not "mail.example.com": use starttls or implicit (TWOSTEP_SMTP_TLS)`},
		{"smtp incomplete", func(c *config.Config) {
			c.SMTP = config.SMTP{Host: "mail.example.com:587", TLS: "ssl", Port: -1, Username: "u", From: "Twostep <t@example.com>"}
		}, `smtp.tls: "ssl" is not starttls, implicit or none (TWOSTEP_SMTP_TLS)
smtp.port: -1 is not between 0 and 65535 (TWOSTEP_SMTP_PORT)
smtp.password: smtp.username and smtp.password go together (TWOSTEP_SMTP_PASSWORD or TWOSTEP_SMTP_PASSWORD_FILE)
smtp.host: "mail.example.com:587" is not a host name (give the port in smtp.port) (TWOSTEP_SMTP_HOST)
smtp.from: "Twostep <t@example.com>" is not a plain email address (required with smtp.host) (TWOSTEP_SMTP_FROM)`},
		{"ldap for oidc", func(c *config.Config) {
			c.FirstFactor.OIDC = []string{"password", "ldap"}
			c.LDAP.URLs, c.LDAP.BaseDN = []string{"ldap://dc1.example.com", "ldap://dc2.example.com:389"}, "dc=example,dc=com"
			c.LDAP.BindDN, c.LDAP.BindPassword = "cn=svc,dc=example,dc=com", "secret"
		}, ""},
		{"ldaps", func(c *config.Config) {
			c.FirstFactor.Portal = []string{"ldap"}
			c.LDAP.URLs, c.LDAP.TLS, c.LDAP.UserDNTemplate = []string{"ldaps://dc1.example.com"}, "ldaps", "uid={username},dc=example,dc=com"
		}, ""},
		{"ldap incomplete", func(c *config.Config) {
			c.FirstFactor.OIDC = []string{"ldap", "ldap", "kerberos"}
			c.FirstFactor.MinPasswordLength = 4
			c.LDAP.BindDN, c.LDAP.Timeout = "cn=svc", time.Hour
		}, `first_factor.oidc: "ldap" is listed twice (TWOSTEP_FIRST_FACTOR_OIDC)
first_factor.oidc: "kerberos" is not password or ldap (TWOSTEP_FIRST_FACTOR_OIDC)
first_factor.min_password_length: 4 is not between 8 and 128 (TWOSTEP_FIRST_FACTOR_MIN_PASSWORD_LENGTH)
ldap.urls: must list the directory's servers when a first_factor surface uses ldap (TWOSTEP_LDAP_URLS)
ldap.base_dn: must be set (or ldap.user_dn_template for direct bind) (TWOSTEP_LDAP_BASE_DN)
ldap.bind_password: ldap.bind_dn and ldap.bind_password go together (TWOSTEP_LDAP_BIND_PASSWORD or TWOSTEP_LDAP_BIND_PASSWORD_FILE)
ldap.timeout: 1h is not between 100ms and 1m (TWOSTEP_LDAP_TIMEOUT)`},
		{"ldap for the console", func(c *config.Config) {
			c.FirstFactor.Console = []string{"password", "ldap"}
			c.LDAP.URLs, c.LDAP.BaseDN = []string{"ldap://dc1.example.com"}, "dc=example,dc=com"
		}, `first_factor.console: "ldap" is not supported: administrators sign in with their twostep administrator password; use ["password"] (TWOSTEP_FIRST_FACTOR_CONSOLE)`},
		{"ldap in the clear over a network", func(c *config.Config) {
			c.FirstFactor.OIDC = []string{"ldap"}
			c.LDAP.URLs, c.LDAP.TLS, c.LDAP.BaseDN = []string{"ldap://dc1.example.com", "ldaps://x"}, "none", "dc=x"
		}, `ldap.tls: none sends passwords in the clear: allowed only for loopback URLs, not "ldap://dc1.example.com" (TWOSTEP_LDAP_TLS)
ldap.tls: none sends passwords in the clear: allowed only for loopback URLs, not "ldaps://x" (TWOSTEP_LDAP_TLS)`},
		{"ldap scheme and tls disagree", func(c *config.Config) {
			c.FirstFactor.OIDC = []string{"ldap"}
			c.LDAP.URLs, c.LDAP.BaseDN = []string{"ldaps://dc1.example.com", "http://x"}, "dc=x"
		}, `ldap.urls: "ldaps://dc1.example.com" must be ldap:// with tls = "starttls" (use tls = "ldaps" for ldaps://) (TWOSTEP_LDAP_URLS)
ldap.urls: "http://x" is not ldap://host[:port] or ldaps://host[:port] (TWOSTEP_LDAP_URLS)`},
		{"sqlite DSNs", func(c *config.Config) { c.Database = "sqlite:///var/lib/t.db" }, ""},
		{"file DSN", func(c *config.Config) { c.Database = "file:t.db" }, ""},

		{"empty data", func(c *config.Config) { c.DataDir = "" },
			"data: must not be empty (TWOSTEP_DATA)"},
		{"listen not host:port", func(c *config.Config) { c.Listen = "abc" },
			`listen: "abc" is not host:port (TWOSTEP_LISTEN)`},
		{"listen port too big", func(c *config.Config) { c.Listen = "localhost:65536" },
			`listen: "localhost:65536" port must be a number from 0 to 65535 (TWOSTEP_LISTEN)`},
		{"listen port by name", func(c *config.Config) { c.Listen = "localhost:https" },
			`listen: "localhost:https" port must be a number from 0 to 65535 (TWOSTEP_LISTEN)`},
		{"unknown database scheme", func(c *config.Config) { c.Database = "mysql://u:hunter2@h/d" },
			`database: want "" (SQLite in the data dir), a postgres:// or postgresql:// URL, sqlite:///path or file:path (TWOSTEP_DATABASE or TWOSTEP_DATABASE_FILE)`},
		{"postgres without //", func(c *config.Config) { c.Database = "postgres:u@h" },
			`database: want "" (SQLite in the data dir), a postgres:// or postgresql:// URL, sqlite:///path or file:path (TWOSTEP_DATABASE or TWOSTEP_DATABASE_FILE)`},
		{"malformed postgres URL", func(c *config.Config) { c.Database = "postgres://u:hun#ter2@h/d" },
			"database: is not a valid URL (percent-encode special characters in the user and password) (TWOSTEP_DATABASE or TWOSTEP_DATABASE_FILE)"},
		{"sqlite without path", func(c *config.Config) { c.Database = "sqlite://" },
			"database: has no SQLite file path (TWOSTEP_DATABASE or TWOSTEP_DATABASE_FILE)"},
		{"sqlite options", func(c *config.Config) { c.Database = "file:t.db?_pragma=busy_timeout(1)" },
			"database: takes no ?options: twostep sets its own SQLite pragmas (see db.busy_timeout) (TWOSTEP_DATABASE or TWOSTEP_DATABASE_FILE)"},
		{"sqlite in memory", func(c *config.Config) { c.Database = "file::memory:" },
			"database: in-memory SQLite is not supported: the read and write pools must share one file (TWOSTEP_DATABASE or TWOSTEP_DATABASE_FILE)"},
		{"no public hostnames", func(c *config.Config) { c.PublicHostnames = nil },
			"public_hostnames: must list at least one hostname (TWOSTEP_PUBLIC_HOSTNAMES)"},
		{"bad public hostnames", func(c *config.Config) {
			c.PublicHostnames = []string{"ok.example", "bad_name.example", "-x.example", "*.example", "1.2.3", "fe80::1%eth0", strings.Repeat("a", 64) + ".example"}
		}, strings.Join([]string{
			`public_hostnames: "bad_name.example" is not a DNS name or IP address (TWOSTEP_PUBLIC_HOSTNAMES)`,
			`public_hostnames: "-x.example" is not a DNS name or IP address (TWOSTEP_PUBLIC_HOSTNAMES)`,
			`public_hostnames: "*.example" is not a DNS name or IP address (TWOSTEP_PUBLIC_HOSTNAMES)`,
			`public_hostnames: "1.2.3" is not a DNS name or IP address (TWOSTEP_PUBLIC_HOSTNAMES)`,
			`public_hostnames: "fe80::1%eth0" is not a DNS name or IP address (TWOSTEP_PUBLIC_HOSTNAMES)`,
			`public_hostnames: "` + strings.Repeat("a", 64) + `.example" is not a DNS name or IP address (TWOSTEP_PUBLIC_HOSTNAMES)`,
		}, "\n")},
		{"tls cert without key", func(c *config.Config) { c.TLS.Cert = "c.pem" },
			"tls.key: must be set when tls.cert is (TWOSTEP_TLS_KEY)"},
		{"tls key without cert", func(c *config.Config) { c.TLS.Key = "k.pem" },
			"tls.cert: must be set when tls.key is (TWOSTEP_TLS_CERT)"},
		{"master key not base64", func(c *config.Config) { c.MasterKey = "hunter2!" },
			"master_key: not valid base64 (TWOSTEP_MASTER_KEY or TWOSTEP_MASTER_KEY_FILE)"},
		{"master key too short", func(c *config.Config) { c.MasterKey = "aHVudGVyMg==" },
			"master_key: decodes to 7 bytes, want 32 (TWOSTEP_MASTER_KEY or TWOSTEP_MASTER_KEY_FILE)"},
		{"master key bad id", func(c *config.Config) { c.MasterKey = config.Secret("Key_1:" + key) },
			"master_key: the key id before ':' must be 1-32 of a-z, 0-9 and - (TWOSTEP_MASTER_KEY or TWOSTEP_MASTER_KEY_FILE)"},
		{"log level", func(c *config.Config) { c.Log.Level = "INFO" },
			`log.level: "INFO" is not one of debug, info, warn, error (TWOSTEP_LOG_LEVEL)`},
		{"log format", func(c *config.Config) { c.Log.Format = "logfmt" },
			`log.format: "logfmt" is not one of text, json (TWOSTEP_LOG_FORMAT)`},
		{"clock skew too small", func(c *config.Config) { c.ClockSkew = 10 * time.Second },
			"clock_skew: 10s is not between 30s and 1h (TWOSTEP_CLOCK_SKEW)"},
		{"clock skew too big", func(c *config.Config) { c.ClockSkew = 90 * time.Minute },
			"clock_skew: 1h30m is not between 30s and 1h (TWOSTEP_CLOCK_SKEW)"},
		{"shutdown timeout", func(c *config.Config) { c.ShutdownTimeout = 0 },
			"shutdown_timeout: 0s is not between 1s and 5m (TWOSTEP_SHUTDOWN_TIMEOUT)"},
		{"max open conns", func(c *config.Config) { c.DB.MaxOpenConns = 0 },
			"db.max_open_conns: 0 is not between 1 and 1000 (TWOSTEP_DB_MAX_OPEN_CONNS)"},
		{"busy timeout", func(c *config.Config) { c.DB.BusyTimeout = -time.Second },
			"db.busy_timeout: -1s is not between 1ms and 1m (TWOSTEP_DB_BUSY_TIMEOUT)"},
		{"rate limits off", func(c *config.Config) { c.RateLimit = config.RateLimit{StatusPolls: 1} }, ""},
		{"status polls off", func(c *config.Config) { c.RateLimit.StatusPolls = 0 },
			"rate_limit.status_polls: 0 is not between 1 and 1000000 (TWOSTEP_RATE_LIMIT_STATUS_POLLS)"},
		{"user rate limit negative", func(c *config.Config) { c.RateLimit.UserPerMinute = -1 },
			"rate_limit.user_per_minute: -1 is not between 0 (off) and 100000 (TWOSTEP_RATE_LIMIT_USER_PER_MINUTE)"},
		{"ip rate limit too big", func(c *config.Config) { c.RateLimit.IPPerMinute = 100001 },
			"rate_limit.ip_per_minute: 100001 is not between 0 (off) and 100000 (TWOSTEP_RATE_LIMIT_IP_PER_MINUTE)"},
		{"brand colour", func(c *config.Config) { c.Web.BrandColor = "#0A7f3c" }, ""},
		{"brand colour by name", func(c *config.Config) { c.Web.BrandColor = "red" },
			`web.brand_color: "red" is not a colour written #rrggbb (TWOSTEP_WEB_BRAND_COLOR)`},
		{"brand colour injecting CSS", func(c *config.Config) { c.Web.BrandColor = "#fff;}*{" },
			`web.brand_color: "#fff;}*{" is not a colour written #rrggbb (TWOSTEP_WEB_BRAND_COLOR)`},
		{"help contact", func(c *config.Config) { c.Web.HelpContact = "the IT service desk, +1 555 0100" }, ""},
		{"help contact on two lines", func(c *config.Config) { c.Web.HelpContact = "the desk\n+1 555 0100" },
			"web.help_contact: holds a control character (a line break?); write it on one line (TWOSTEP_WEB_HELP_CONTACT)"},
		{"help contact too long", func(c *config.Config) { c.Web.HelpContact = strings.Repeat("x", 201) },
			"web.help_contact: is longer than 200 characters (TWOSTEP_WEB_HELP_CONTACT)"},
		{"session idle too short", func(c *config.Config) { c.Web.SessionIdleTimeout = time.Second },
			"web.session_idle_timeout: 1s is not between 1m and 24h (TWOSTEP_WEB_SESSION_IDLE_TIMEOUT)"},
		{"session lifetime too long", func(c *config.Config) { c.Web.SessionLifetime = 1000 * time.Hour },
			"web.session_lifetime: 1000h is not between 5m and 720h (TWOSTEP_WEB_SESSION_LIFETIME)"},
		{"session idle beyond lifetime", func(c *config.Config) { c.Web.SessionIdleTimeout, c.Web.SessionLifetime = 2*time.Hour, time.Hour },
			"web.session_idle_timeout: 2h is longer than web.session_lifetime (1h) (TWOSTEP_WEB_SESSION_IDLE_TIMEOUT)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Defaults()
			tt.give(&c)
			got := ""
			if err := c.Validate(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("Validate() = %q, leaks a secret", got)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := config.Defaults()
	c.Listen = "abc"
	c.TLS.Cert = "c.pem"
	c.Log.Level = "loud"
	c.DB.MaxOpenConns = 5000

	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate() = %v, want joined errors", err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		got = append(got, e.Error())
	}
	want := []string{
		`listen: "abc" is not host:port (TWOSTEP_LISTEN)`,
		"tls.key: must be set when tls.cert is (TWOSTEP_TLS_KEY)",
		`log.level: "loud" is not one of debug, info, warn, error (TWOSTEP_LOG_LEVEL)`,
		"db.max_open_conns: 5000 is not between 1 and 1000 (TWOSTEP_DB_MAX_OPEN_CONNS)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate() errors mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadThenValidateHidesSecretFileContent(t *testing.T) {
	_, expand := setup(t, map[string]string{"mk": "SENTINEL-not-a-key\n"})
	c, err := config.Load("", getenv(map[string]string{"TWOSTEP_MASTER_KEY_FILE": expand("$DIR/mk")}))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	err = c.Validate()
	if err == nil || strings.Contains(err.Error(), "SENTINEL") {
		t.Errorf("Validate() = %v, want an error without the key", err)
	}
}

func TestValidateOrganization(t *testing.T) {
	tests := []struct {
		give string
		want string // "" = valid
	}{
		{"", ""},
		{"Example Corp", ""},
		{"Université de Montréal", ""},
		{strings.Repeat("x", config.MaxOrganizationLen), ""},
		{strings.Repeat("x", config.MaxOrganizationLen+1), "organization: 65 bytes is longer than 64"},
		{"Evil\nCorp", "organization: must be printable UTF-8 text"},
		{"bad\xffutf8", "organization: must be printable UTF-8 text"},
	}
	for _, tt := range tests {
		c := config.Defaults()
		c.Organization = tt.give
		err := c.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if (tt.want == "") != (got == "") || (tt.want != "" && !strings.HasPrefix(got, tt.want)) {
			t.Errorf("Validate() with organization %q = %q, want %q", tt.give, got, tt.want)
		}
	}
}
