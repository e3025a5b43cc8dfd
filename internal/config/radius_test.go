package config_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/config"
)

func TestLoadRadiusClients(t *testing.T) {
	dir, expand := setup(t, map[string]string{
		"nps-secret": "upstream-secret-0123456789\n",
		"vpn-secret": "vpn-shared-secret-0123456789\n",
		"c.toml": `
[radius]
listen = "0.0.0.0:1812"

[[radius.clients]]
name = "vpn"
networks = ["10.0.0.0/24", "192.0.2.7"]
secret_file = "$DIR/vpn-secret"

[[radius.clients]]
name = "wifi"
networks = ["10.1.0.0/16"]
secret = "wifi-shared-secret-0123456789"
first_factor = "proxy"
mode = "challenge"
failmode = "safe"
enroll_policy = "deny"
timeout = "30s"

[radius.clients.proxy]
address = "10.0.0.5:1812"
secret_file = "$DIR/nps-secret"
`,
	})
	c, err := config.Load(filepath.Join(dir, "c.toml"), getenv(map[string]string{"TWOSTEP_RADIUS_LISTEN": "127.0.0.1:1812"}))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	_ = expand
	want := config.Radius{
		Listen: "127.0.0.1:1812", // the environment wins
		Clients: []config.RadiusClient{
			{Name: "vpn", Networks: []string{"10.0.0.0/24", "192.0.2.7"}, Secret: "vpn-shared-secret-0123456789",
				FirstFactor: "none", Mode: "append", Failmode: "secure", EnrollPolicy: "enroll", Timeout: time.Minute,
				Proxy: config.RadiusProxy{Timeout: 10 * time.Second}},
			{Name: "wifi", Networks: []string{"10.1.0.0/16"}, Secret: "wifi-shared-secret-0123456789",
				FirstFactor: "proxy", Mode: "challenge", Failmode: "safe", EnrollPolicy: "deny", Timeout: 30 * time.Second,
				Proxy: config.RadiusProxy{Address: "10.0.0.5:1812", Secret: "upstream-secret-0123456789", Timeout: 10 * time.Second}},
		},
	}
	if diff := cmp.Diff(want, c.Radius); diff != "" {
		t.Errorf("Load() radius mismatch (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}

	var b strings.Builder
	if err := c.WriteTOML(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range []string{"vpn-shared-secret", "wifi-shared-secret", "upstream-secret"} {
		if strings.Contains(out, s) {
			t.Errorf("WriteTOML() output contains a RADIUS secret (%s...):\n%s", s, out)
		}
	}
	for _, s := range []string{"[[radius.clients]]", `name = "wifi"`, `secret = "[redacted]"`, "[radius.clients.proxy]", `address = "10.0.0.5:1812"`, `listen = "127.0.0.1:1812"  # TWOSTEP_RADIUS_LISTEN`} {
		if !strings.Contains(out, s) {
			t.Errorf("WriteTOML() output lacks %q:\n%s", s, out)
		}
	}
}

func TestLoadRadiusClientErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		want []string
	}{
		{"unknown key", "[[radius.clients]]\nname = \"a\"\nsecert = \"x\"\n", []string{"radius.clients[0].secert: unknown key"}},
		{"wrong type", "[[radius.clients]]\nname = 1\nnetworks = \"10.0.0.0/8\"\ntimeout = 5\n", []string{
			"radius.clients[0].name: want a string, got an integer",
			"radius.clients[0].networks: want an array of strings, got a string",
			`radius.clients[0].timeout: want a duration string such as "300s" or "5m", got an integer`}},
		{"table not array", "[radius.clients]\nname = \"a\"\n", []string{"write [[radius.clients]], not [radius.clients]"}},
		{"secret and file", "[[radius.clients]]\nsecret = \"a\"\nsecret_file = \"/nonexistent\"\n", []string{"radius.clients[0].secret_file: secret is also set"}},
		{"missing secret file", "[[radius.clients]]\nsecret_file = \"/nonexistent/x\"\n", []string{"radius.clients[0].secret_file: open /nonexistent/x"}},
		{"proxy unknown key", "[[radius.clients]]\n[radius.clients.proxy]\nadress = \"x\"\n", []string{"radius.clients[0].proxy.adress: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := setup(t, map[string]string{"c.toml": tt.give})
			_, err := config.Load(filepath.Join(dir, "c.toml"), getenv(nil))
			if err == nil {
				t.Fatalf("Load() error = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateRadius(t *testing.T) {
	good := func() config.RadiusClient {
		return config.RadiusClient{Name: "vpn", Networks: []string{"10.0.0.0/24"}, Secret: "0123456789abcdef",
			FirstFactor: "none", Mode: "append", Failmode: "secure", EnrollPolicy: "enroll", Timeout: time.Minute,
			Proxy: config.RadiusProxy{Timeout: 10 * time.Second}}
	}
	tests := []struct {
		name string
		give func(*config.Radius)
		want []string
	}{
		{"good", func(r *config.Radius) {}, nil},
		{"local first factor", func(r *config.Radius) { r.Clients[0].FirstFactor = "local" }, nil},
		{"local first factor with a proxy", func(r *config.Radius) {
			r.Clients[0].FirstFactor, r.Clients[0].Proxy.Address = "local", "10.0.0.5:1812"
		}, []string{`radius.clients[0].proxy: is set but first_factor is "local", not "proxy"`}},
		{"short secret", func(r *config.Radius) { r.Clients[0].Secret = "short" }, []string{
			"radius.clients[0].secret: must be 16 to 128 characters"}},
		{"no secret", func(r *config.Radius) { r.Clients[0].Secret = "" }, []string{"radius.clients[0].secret: must be set (or secret_file)"}},
		{"bad enums", func(r *config.Radius) {
			r.Clients[0].Mode, r.Clients[0].Failmode, r.Clients[0].EnrollPolicy, r.Clients[0].FirstFactor = "x", "open", "maybe", "ldap"
		}, []string{`.mode: "x" is not one of append, challenge, auto`, `.failmode: "open" is not one of secure, safe`,
			`.enroll_policy: "maybe" is not one of`, `.first_factor: "ldap" is not one of none, proxy, local`}},
		{"bad network", func(r *config.Radius) { r.Clients[0].Networks = []string{"10.0.0.0/33", "fe80::1%eth0"} }, []string{
			`"10.0.0.0/33" is not an address or a CIDR prefix`, `"fe80::1%eth0" is not an address`}},
		{"overlap and duplicate", func(r *config.Radius) {
			c := good()
			c.Networks = []string{"10.0.0.7"}
			r.Clients = append(r.Clients, c)
		}, []string{`radius.clients[1].name: "vpn" is also the name of radius.clients[0]`, `10.0.0.7/32 overlaps 10.0.0.0/24 of client "vpn"`}},
		{"proxy without address", func(r *config.Radius) { r.Clients[0].FirstFactor = "proxy" }, []string{
			`radius.clients[0].proxy.address: "" is not the upstream`, "radius.clients[0].proxy.secret: must be set"}},
		{"proxy table without proxy", func(r *config.Radius) { r.Clients[0].Proxy.Address = "10.0.0.5:1812" }, []string{
			`radius.clients[0].proxy: is set but first_factor is "none"`}},
		{"listen without clients", func(r *config.Radius) { r.Clients = nil }, []string{"radius.listen: is set but no [[radius.clients]]"}},
		{"bad listen", func(r *config.Radius) { r.Listen = "1812" }, []string{`radius.listen: "1812" is not host:port (TWOSTEP_RADIUS_LISTEN)`}},
		{"timeout", func(r *config.Radius) { r.Clients[0].Timeout = 0 }, []string{"radius.clients[0].timeout: 0s is not between 1s and 5m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Defaults()
			c.Radius = config.Radius{Listen: ":1812", Clients: []config.RadiusClient{good()}}
			tt.give(&c.Radius)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v\nwant it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("Validate() error contains the secret")
			}
		})
	}
}
