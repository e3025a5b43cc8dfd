package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/config"
)

// secretConfig returns a config whose secrets hold markers no output may show.
func secretConfig() config.Config {
	c := config.Defaults()
	c.MasterKey = "MASTERKEY-SENTINEL"
	c.Database = "postgres://twostep:DBPASS-SENTINEL@db.example:5432/twostep?sslmode=require"
	return c
}

func TestSecretNeverPrinted(t *testing.T) {
	c := secretConfig()
	outputs := map[string]func() string{
		"fmt config": func() string {
			return fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Database)
		},
		"fmt secret": func() string {
			s := c.MasterKey
			return fmt.Sprintf("%v %+v %#v %s %q %x %X %10s %-10v", s, s, s, s, s, s, s, s, s)
		},
		"fmt pointer": func() string { return fmt.Sprintf("%v %+v", &c, &c) },
		"Sprint": func() string {
			return fmt.Sprint(c, c.MasterKey) + fmt.Sprintln(c.Database) + c.MasterKey.String()
		},
		"slog text": func() string {
			var b bytes.Buffer
			slog.New(slog.NewTextHandler(&b, nil)).Info("m", "config", c, "key", c.MasterKey, slog.Any("db", c.Database))
			return b.String()
		},
		"slog json": func() string {
			var b bytes.Buffer
			slog.New(slog.NewJSONHandler(&b, nil)).Info("m", "config", c, "key", c.MasterKey, slog.Any("db", c.Database))
			return b.String()
		},
		"json.Marshal": func() string {
			b, err := json.Marshal(map[string]any{"config": c, "key": c.MasterKey, "ptr": &c.MasterKey})
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		},
		"WriteTOML": func() string {
			var b strings.Builder
			if err := c.WriteTOML(&b); err != nil {
				t.Fatal(err)
			}
			return b.String()
		},
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			got := out()
			if strings.Contains(got, "SENTINEL") {
				t.Errorf("%s output = %s, leaks a secret", name, got)
			}
			if !strings.Contains(got, "[redacted]") && !strings.Contains(got, "xxxxx") {
				t.Errorf("%s output = %s, want a redaction marker", name, got)
			}
		})
	}
}

func TestSecret(t *testing.T) {
	tests := []struct {
		give config.Secret
		want string // fmt.Sprintf("%v|%#v|%q", ...)
	}{
		{"", `|""|""`},
		{"s3cret", `[redacted]|"[redacted]"|"[redacted]"`},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf("%v|%#v|%q", tt.give, tt.give, tt.give); got != tt.want {
			t.Errorf("Sprintf(Secret) = %s, want %s", got, tt.want)
		}
		if got := tt.give.Reveal(); got != string(tt.give) {
			t.Errorf("Reveal() = %q, want %q", got, string(tt.give))
		}
	}
}
