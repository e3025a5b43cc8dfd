package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/config"
)

func TestLogoFile(t *testing.T) {
	dir := t.TempDir()
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("logo.png", png)
	atLimit := write("limit.png", append(png[:8:8], make([]byte, config.MaxLogoBytes-8)...))
	big := write("big.png", append(png[:8:8], make([]byte, config.MaxLogoBytes-7)...))
	jpeg := write("logo.jpg", []byte("\xff\xd8\xff\xe0 not a png"))
	missing := filepath.Join(dir, "missing.png")

	tests := []struct {
		give string
		want string // the Validate and Logo error; "" for valid
	}{
		{"", ""},
		{good, ""},
		{atLimit, ""},
		{missing, `logo_file: "` + missing + `" does not exist (TWOSTEP_LOGO_FILE)`},
		{dir, `logo_file: "` + dir + `" is not a regular file (TWOSTEP_LOGO_FILE)`},
		{jpeg, `logo_file: "` + jpeg + `" is not a PNG image (TWOSTEP_LOGO_FILE)`},
		{big, `logo_file: "` + big + `" is larger than 200 KiB (TWOSTEP_LOGO_FILE)`},
	}
	for _, tt := range tests {
		c := config.Defaults()
		c.LogoFile = tt.give
		err := c.Validate()
		if got := errString(err); got != tt.want {
			t.Errorf("Validate() with logo_file %q = %q, want %q", tt.give, got, tt.want)
		}
		b, err := c.Logo()
		if got := errString(err); got != tt.want {
			t.Errorf("Logo() with logo_file %q error = %q, want %q", tt.give, got, tt.want)
		}
		switch {
		case tt.want == "" && tt.give == "" && b != nil:
			t.Errorf("Logo() without logo_file = %d bytes, want nil", len(b))
		case tt.want == "" && tt.give != "" && !bytes.HasPrefix(b, []byte("\x89PNG")):
			t.Errorf("Logo() with logo_file %q = %d bytes, want the file", tt.give, len(b))
		}
	}
}

// TestLogoFileEnv pins the environment variable.
func TestLogoFileEnv(t *testing.T) {
	c, err := config.Load("", func(k string) string {
		if k == "TWOSTEP_LOGO_FILE" {
			return "/etc/twostep/logo.png"
		}
		return ""
	})
	if err != nil || c.LogoFile != "/etc/twostep/logo.png" {
		t.Errorf("Load() with TWOSTEP_LOGO_FILE = %q, %v", c.LogoFile, err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimSpace(err.Error())
}
