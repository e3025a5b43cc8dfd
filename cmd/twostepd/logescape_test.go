package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/config"
)

// TestLogEscapesDeviceText: twostepd's logger, in both formats, writes
// control characters in values (device text, paths) escaped, so a log
// read on a terminal cannot be driven by them. slog's text handler quotes
// such values with strconv.Quote and its JSON handler escapes them; this
// pins that for the handlers twostepd configures.
func TestLogEscapesDeviceText(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := config.Defaults()
			cfg.Log.Format = format
			log := (&env{stderr: &buf}).logger(cfg)
			log.Info("authenticator activated", "model", "Pixel\x1b]0;pwn\x07\u202e\u0085", "path", "/x\x1b[2J", "err", errors.New("bad \u0085\u202e"))
			out := buf.String()
			if strings.ContainsAny(out, "\x1b\x07\u202e\u0085") {
				t.Errorf("log line holds raw control characters: %q", out)
			}
			if !strings.Contains(out, "Pixel") || !strings.Contains(out, `\u001b`) && !strings.Contains(out, `\x1b`) {
				t.Errorf("log line = %q, want the value with ESC escaped", out)
			}
		})
	}
}
