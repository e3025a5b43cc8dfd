package config_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/config"
)

// getenv returns a getenv over m: tests never touch the real environment.
func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testKey returns a valid master key setting (base64 of 32 bytes of b).
func testKey(b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32)))
}

// setup writes files (name -> content) into a temp dir; every "$DIR" in
// their content, in env values and in the returned replacer is the dir.
func setup(t *testing.T, files map[string]string) (dir string, expand func(string) string) {
	t.Helper()
	dir = t.TempDir()
	expand = func(s string) string { return strings.ReplaceAll(s, "$DIR", dir) }
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(expand(content)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, expand
}

func TestDefaults(t *testing.T) {
	want := config.Config{
		DataDir:         "./twostep-data",
		Listen:          "127.0.0.1:8443",
		PublicHostnames: []string{"localhost"},
		Log:             config.Log{Level: "info", Format: "text"},
		ClockSkew:       300 * time.Second,
		ShutdownTimeout: 15 * time.Second,
		DB:              config.DB{MaxOpenConns: 20, BusyTimeout: 5 * time.Second},
		RateLimit:       config.RateLimit{UserPerMinute: 60, IPPerMinute: 300, StatusPolls: 10000},
		Web:             config.Web{BrandColor: "#1d4ed8", SessionIdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour},
		Delivery:        config.Delivery{Carrier: "outbox", Timeout: 10 * time.Second, Retries: 2},
		Twilio:          config.Twilio{BaseURL: "https://api.twilio.com"},
		SMTP:            config.SMTP{TLS: "starttls"},
		FirstFactor: config.FirstFactor{OIDC: []string{"password"}, Portal: []string{"password"}, Console: []string{"password"}, Radius: []string{"password"},
			MinPasswordLength: 12},
		LDAP: config.LDAP{URLs: []string{}, TLS: "starttls", UserFilter: "(&(objectClass=person)(uid={username}))",
			UsernameAttribute: "uid", EmailAttribute: "mail", NameAttribute: "cn", GroupsAttribute: "memberOf", Timeout: 5 * time.Second},
		OIDC:    config.OIDC{KeyRotation: 30 * 24 * time.Hour, SessionLifetime: 8 * time.Hour},
		Console: config.Console{IdleTimeout: 15 * time.Minute, SessionLifetime: 8 * time.Hour},
	}
	got := config.Defaults()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Defaults() mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Defaults().Validate() = %v, want nil", err)
	}
	got.PublicHostnames[0] = "changed"
	if h := config.Defaults().PublicHostnames[0]; h != "localhost" {
		t.Errorf("Defaults() shares its slice: PublicHostnames[0] = %q after a change to another copy", h)
	}
}

func TestLoad(t *testing.T) {
	keyA, keyB := testKey('a'), testKey('b')
	fullTOML := `
data = "/var/lib/twostep"
listen = "0.0.0.0:443"
database = "postgres://twostep:pw@db.internal/twostep"
public_hostnames = ["mfa.example.com", "10.0.0.5"]
master_key = "k1:` + keyA + `"
clock_skew = "1m"
shutdown_timeout = "30s"

[tls]
cert = "/etc/twostep/cert.pem"
key = "/etc/twostep/key.pem"

[log]
level = "debug"
format = "json"

[db]
max_open_conns = 50
busy_timeout = "2s"

[rate_limit]
user_per_minute = 0
ip_per_minute = 1000
status_polls = 20000
`
	full := func(c *config.Config) {
		c.DataDir = "/var/lib/twostep"
		c.Listen = "0.0.0.0:443"
		c.Database = "postgres://twostep:pw@db.internal/twostep"
		c.PublicHostnames = []string{"mfa.example.com", "10.0.0.5"}
		c.TLS = config.TLS{Cert: "/etc/twostep/cert.pem", Key: "/etc/twostep/key.pem"}
		c.MasterKey = config.Secret("k1:" + keyA)
		c.Log = config.Log{Level: "debug", Format: "json"}
		c.ClockSkew = time.Minute
		c.ShutdownTimeout = 30 * time.Second
		c.DB = config.DB{MaxOpenConns: 50, BusyTimeout: 2 * time.Second}
		c.RateLimit = config.RateLimit{UserPerMinute: 0, IPPerMinute: 1000, StatusPolls: 20000}
	}

	tests := []struct {
		name  string
		files map[string]string // written to $DIR
		path  string            // config file; "" for none
		env   map[string]string
		want  func(*config.Config) // applied to Defaults()
	}{
		{
			name: "defaults",
			want: func(*config.Config) {},
		},
		{
			name:  "file only",
			files: map[string]string{"c.toml": fullTOML},
			path:  "$DIR/c.toml",
			want:  full,
		},
		{
			name: "env only",
			env: map[string]string{
				"TWOSTEP_DATA":                       "/var/lib/twostep",
				"TWOSTEP_LISTEN":                     "0.0.0.0:443",
				"TWOSTEP_DATABASE":                   "postgres://twostep:pw@db.internal/twostep",
				"TWOSTEP_PUBLIC_HOSTNAMES":           " mfa.example.com, 10.0.0.5 ,",
				"TWOSTEP_TLS_CERT":                   "/etc/twostep/cert.pem",
				"TWOSTEP_TLS_KEY":                    "/etc/twostep/key.pem",
				"TWOSTEP_MASTER_KEY":                 "k1:" + keyA,
				"TWOSTEP_LOG_LEVEL":                  "debug",
				"TWOSTEP_LOG_FORMAT":                 "json",
				"TWOSTEP_CLOCK_SKEW":                 "60s",
				"TWOSTEP_SHUTDOWN_TIMEOUT":           "30s",
				"TWOSTEP_DB_MAX_OPEN_CONNS":          "50",
				"TWOSTEP_DB_BUSY_TIMEOUT":            "2000ms",
				"TWOSTEP_RATE_LIMIT_USER_PER_MINUTE": "0",
				"TWOSTEP_RATE_LIMIT_IP_PER_MINUTE":   "1000",
				"TWOSTEP_RATE_LIMIT_STATUS_POLLS":    "20000",
			},
			want: full,
		},
		{
			name:  "env overrides file",
			files: map[string]string{"c.toml": "listen = \":9000\"\n[log]\nlevel = \"warn\"\nformat = \"json\"\n"},
			path:  "$DIR/c.toml",
			env:   map[string]string{"TWOSTEP_LISTEN": ":9443", "TWOSTEP_LOG_FORMAT": "text"},
			want: func(c *config.Config) {
				c.Listen = ":9443"
				c.Log = config.Log{Level: "warn", Format: "text"}
			},
		},
		{
			name:  "empty env var counts as unset",
			files: map[string]string{"c.toml": `listen = ":9000"`},
			path:  "$DIR/c.toml",
			env:   map[string]string{"TWOSTEP_LISTEN": ""},
			want:  func(c *config.Config) { c.Listen = ":9000" },
		},
		{
			name: "unknown TWOSTEP_ vars are ignored",
			env: map[string]string{
				"TWOSTEP_TEST_POSTGRES": "postgres://x",
				"TWOSTEP_TLS":           "yes",
				"TWOSTEP_DATA_FILE":     "/nonexistent",
			},
			want: func(*config.Config) {},
		},
		{
			name:  "empty table",
			files: map[string]string{"c.toml": "[tls]\n[db]\nmax_open_conns = 3\n"},
			path:  "$DIR/c.toml",
			want:  func(c *config.Config) { c.DB.MaxOpenConns = 3 },
		},
		{
			name:  "secret files from env, trimmed",
			files: map[string]string{"mk": keyB + "\n", "dsn": "  postgresql://u:p@h/d\r\n"},
			env: map[string]string{
				"TWOSTEP_MASTER_KEY_FILE": "$DIR/mk",
				"TWOSTEP_DATABASE_FILE":   "$DIR/dsn",
			},
			want: func(c *config.Config) {
				c.MasterKey = config.Secret(keyB)
				c.Database = "postgresql://u:p@h/d"
			},
		},
		{
			name: "secret files from TOML",
			files: map[string]string{
				"mk":     keyB + "\n",
				"c.toml": "master_key_file = \"$DIR/mk\"\ndatabase_file = \"$DIR/dsn\"\n",
				"dsn":    "sqlite:///srv/t.db",
			},
			path: "$DIR/c.toml",
			want: func(c *config.Config) {
				c.MasterKey = config.Secret(keyB)
				c.Database = "sqlite:///srv/t.db"
			},
		},
		{
			name:  "env secret file overrides TOML secret",
			files: map[string]string{"mk": keyB, "c.toml": `master_key = "` + keyA + `"`},
			path:  "$DIR/c.toml",
			env:   map[string]string{"TWOSTEP_MASTER_KEY_FILE": "$DIR/mk"},
			want:  func(c *config.Config) { c.MasterKey = config.Secret(keyB) },
		},
		{
			name:  "env secret overrides TOML secret file",
			files: map[string]string{"mk": keyB, "c.toml": `master_key_file = "$DIR/mk"`},
			path:  "$DIR/c.toml",
			env:   map[string]string{"TWOSTEP_MASTER_KEY": keyA},
			want:  func(c *config.Config) { c.MasterKey = config.Secret(keyA) },
		},
		{
			name:  "env list replaces file list",
			files: map[string]string{"c.toml": `public_hostnames = ["a.example", "b.example"]`},
			path:  "$DIR/c.toml",
			env:   map[string]string{"TWOSTEP_PUBLIC_HOSTNAMES": "c.example"},
			want:  func(c *config.Config) { c.PublicHostnames = []string{"c.example"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, expand := setup(t, tt.files)
			env := make(map[string]string)
			for k, v := range tt.env {
				env[k] = expand(v)
			}
			want := config.Defaults()
			tt.want(&want)

			got, err := config.Load(expand(tt.path), getenv(env))
			if err != nil {
				t.Fatalf("Load(%q, %v) error = %v, want nil", tt.path, tt.env, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load(%q, %v) mismatch (-want +got):\n%s", tt.path, tt.env, diff)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		path  string
		env   map[string]string
		want  []string // every error, in order; "$DIR" expanded
	}{
		{
			name: "missing config file",
			path: "$DIR/nope.toml",
			want: []string{"config file: open $DIR/nope.toml: no such file or directory"},
		},
		{
			name:  "unknown key with suggestion",
			files: map[string]string{"c.toml": `lisen = ":1"`},
			path:  "$DIR/c.toml",
			want:  []string{`lisen: unknown key; did you mean "listen"? (in $DIR/c.toml)`},
		},
		{
			name:  "unknown nested key",
			files: map[string]string{"c.toml": "[tls]\ncrt = \"a.pem\"\n"},
			path:  "$DIR/c.toml",
			want:  []string{`tls.crt: unknown key; did you mean "tls.cert"? (in $DIR/c.toml)`},
		},
		{
			name:  "unknown key without suggestion",
			files: map[string]string{"c.toml": "colour = \"red\"\n[sendmail]\nhost = \"x\"\n"},
			path:  "$DIR/c.toml",
			want: []string{
				"colour: unknown key (in $DIR/c.toml)",
				"sendmail.host: unknown key (in $DIR/c.toml)",
			},
		},
		{
			name:  "table given as value",
			files: map[string]string{"c.toml": `log = "debug"`},
			path:  "$DIR/c.toml",
			want:  []string{"log: want a table [log], got a string (in $DIR/c.toml)"},
		},
		{
			name: "TOML type errors",
			files: map[string]string{"c.toml": `
clock_skew = "5 minutes"
shutdown_timeout = 15
public_hostnames = "a.example"
master_key = 12
[db]
max_open_conns = "20"
`},
			path: "$DIR/c.toml",
			want: []string{
				`clock_skew: "5 minutes" is not a duration such as "300s" or "5m" (in $DIR/c.toml)`,
				`db.max_open_conns: want an integer, got a string (in $DIR/c.toml)`,
				`master_key: want a string, got an integer (in $DIR/c.toml)`,
				`public_hostnames: want an array of strings, got a string (in $DIR/c.toml)`,
				`shutdown_timeout: want a duration string such as "300s" or "5m", got an integer (in $DIR/c.toml)`,
			},
		},
		{
			name: "env type errors",
			env: map[string]string{
				"TWOSTEP_DB_MAX_OPEN_CONNS": "abc",
				"TWOSTEP_CLOCK_SKEW":        "5 minutes",
			},
			want: []string{
				`clock_skew: "5 minutes" is not a duration such as "300s" or "5m" (TWOSTEP_CLOCK_SKEW)`,
				`db.max_open_conns: "abc" is not an integer (TWOSTEP_DB_MAX_OPEN_CONNS)`,
			},
		},
		{
			name:  "secret and its file both set in env",
			files: map[string]string{"mk": "x"},
			env:   map[string]string{"TWOSTEP_MASTER_KEY": "x", "TWOSTEP_MASTER_KEY_FILE": "$DIR/mk"},
			want:  []string{"master_key: both TWOSTEP_MASTER_KEY and TWOSTEP_MASTER_KEY_FILE are set; use one of them"},
		},
		{
			name:  "secret and its file both set in TOML",
			files: map[string]string{"mk": "x", "c.toml": "database = \"\"\ndatabase_file = \"$DIR/mk\"\n"},
			path:  "$DIR/c.toml",
			want:  []string{"database_file: database is also set; use one of them (in $DIR/c.toml)"},
		},
		{
			name: "missing secret file",
			env:  map[string]string{"TWOSTEP_DATABASE_FILE": "$DIR/missing"},
			want: []string{"database: open $DIR/missing: no such file or directory (TWOSTEP_DATABASE_FILE)"},
		},
		{
			name:  "empty secret file",
			files: map[string]string{"mk": "\n", "c.toml": "master_key_file = \"$DIR/mk\""},
			path:  "$DIR/c.toml",
			want:  []string{"master_key_file: $DIR/mk is empty (in $DIR/c.toml)"},
		},
		{
			name:  "oversized secret file",
			files: map[string]string{"big": strings.Repeat("SENTINEL", 10000)},
			env:   map[string]string{"TWOSTEP_MASTER_KEY_FILE": "$DIR/big"},
			want:  []string{"master_key: $DIR/big is larger than 64 KiB (TWOSTEP_MASTER_KEY_FILE)"},
		},
		{
			name:  "file and env problems together",
			files: map[string]string{"c.toml": `listn = ":1"`},
			path:  "$DIR/c.toml",
			env:   map[string]string{"TWOSTEP_SHUTDOWN_TIMEOUT": "soon"},
			want: []string{
				`listn: unknown key; did you mean "listen"? (in $DIR/c.toml)`,
				`shutdown_timeout: "soon" is not a duration such as "300s" or "5m" (TWOSTEP_SHUTDOWN_TIMEOUT)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, expand := setup(t, tt.files)
			env := make(map[string]string)
			for k, v := range tt.env {
				env[k] = expand(v)
			}
			got, err := config.Load(expand(tt.path), getenv(env))
			if err == nil {
				t.Fatalf("Load(%q, %v) = %+v, want error", tt.path, tt.env, got)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, expand(w))
			}
			if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("Load(%q, %v) error mismatch (-want +got):\n%s", tt.path, tt.env, diff)
			}
			if strings.Contains(err.Error(), "SENTINEL") {
				t.Errorf("Load(%q, %v) error = %q, leaks the secret file's content", tt.path, tt.env, err)
			}
			if diff := cmp.Diff(config.Config{}, got); diff != "" {
				t.Errorf("Load(%q, %v) with an error returned a config (-want +got):\n%s", tt.path, tt.env, diff)
			}
		})
	}
}

func TestLoadSyntaxErrorNamesFileAndLine(t *testing.T) {
	_, expand := setup(t, map[string]string{"c.toml": "data = \"x\"\nlisten = \n"})
	path := expand("$DIR/c.toml")
	_, err := config.Load(path, getenv(nil))
	if want := path + ":2:"; err == nil || !strings.HasPrefix(err.Error(), "config file "+want) {
		t.Errorf("Load(%q) error = %v, want it to start with %q", path, err, "config file "+want)
	}
}
