package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/otp"
)

const ghURI = "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub"

var ghKey = []byte("Hello!\xde\xad\xbe\xef")

func TestVaultLocation(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // relative to the temp dir
	}{
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "X"}, nil, "X/twostep/vault.age"},
		{"home", map[string]string{"XDG_CONFIG_HOME": ""}, nil, ".config/twostep/vault.age"},
		{"env", map[string]string{"TWOSTEP_VAULT": "env.age"}, nil, "env.age"},
		{"flag", map[string]string{"TWOSTEP_VAULT": "env.age"}, []string{"--vault", "flag.age"}, "flag.age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range tt.env {
				if v != "" {
					v = filepath.Join(h.dir, v)
				}
				h.setenv(k, v)
			}
			args := tt.args
			if len(args) == 2 {
				args = []string{args[0], filepath.Join(h.dir, args[1])}
			}
			h.ok("", append(args, "add", ghURI)...)
			path := filepath.Join(h.dir, tt.want)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatalf("vault not at %s: %v", path, err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("vault mode = %v, want 0600", st.Mode().Perm())
			}
			dir, _ := os.Stat(filepath.Dir(path))
			if tt.name != "env" && tt.name != "flag" && dir.Mode().Perm() != 0o700 {
				t.Errorf("vault directory mode = %v, want 0700", dir.Mode().Perm())
			}
		})
	}
}

func TestPassphrasePrompts(t *testing.T) {
	h := newHarness(t)
	h.setenv("TWOSTEP_PASSPHRASE", "")
	h.passwords = []string{"pw one", "pw one"}
	r := h.ok("", "add", ghURI)
	if diff := cmp.Diff([]string{"New passphrase: ", "Repeat the passphrase: "}, h.prompts); diff != "" {
		t.Errorf("prompts when creating (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stderr, "Creating a new vault at "+h.vault) {
		t.Errorf("create does not say where the vault is:\n%s", r)
	}
	raw, _ := os.ReadFile(h.vault)
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) || bytes.Contains(raw, []byte("GitHub")) {
		t.Errorf("vault is not age-encrypted:\n%.80q", raw)
	}

	h.prompts, h.passwords = nil, []string{"pw one"}
	h.ok("", "code")
	if len(h.prompts) != 1 || !strings.HasPrefix(h.prompts[0], "Passphrase for "+h.vault) {
		t.Errorf("prompts when opening = %q", h.prompts)
	}

	h.passwords = []string{"wrong"}
	h.fails(1, []string{"wrong passphrase", h.vault, "nothing was changed"}, "", "code", "--next")
	h.passwords = []string{"wrong"}
	h.fails(1, []string{"wrong passphrase"}, "", "add", "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP")
	after, _ := os.ReadFile(h.vault)
	if !bytes.Equal(raw, after) {
		t.Error("the vault changed after wrong passphrases")
	}
	h.passwords = nil
	h.fails(1, []string{"TWOSTEP_PASSPHRASE", "--passphrase-file"}, "", "code")
}

func TestPassphraseMismatchAndEmpty(t *testing.T) {
	h := newHarness(t)
	h.setenv("TWOSTEP_PASSPHRASE", "")
	h.passwords = []string{"a", "b"}
	h.fails(1, []string{"do not match"}, "", "add", ghURI)
	h.passwords = []string{""}
	h.fails(1, []string{"empty passphrase", "--no-passphrase"}, "", "add", ghURI)
	h.passwords = nil
	h.fails(1, []string{"TWOSTEP_PASSPHRASE"}, "", "add", ghURI)
	if _, err := os.Stat(h.vault); err == nil {
		t.Error("a vault was created without a passphrase")
	}
}

func TestPassphraseFile(t *testing.T) {
	h := newHarness(t)
	h.setenv("TWOSTEP_PASSPHRASE", "")
	key := writeFile(t, "key", "from a file\n")
	h.ok("", "--passphrase-file", key, "add", ghURI)
	h.setenv("TWOSTEP_PASSPHRASE_FILE", key)
	h.ok("", "code")
	h.setenv("TWOSTEP_PASSPHRASE_FILE", "")
	h.setenv("TWOSTEP_PASSPHRASE", "from a file")
	h.ok("", "code")
	h.fails(1, []string{"passphrase file", "empty"}, "", "--passphrase-file", writeFile(t, "empty", "\n"), "code")
}

func TestNoPassphraseVault(t *testing.T) {
	h := newHarness(t)
	h.setenv("TWOSTEP_PASSPHRASE", "")
	r := h.ok("", "--no-passphrase", "add", ghURI)
	if !strings.Contains(r.stderr, "unencrypted vault") {
		t.Errorf("--no-passphrase does not say the vault is unencrypted:\n%s", r)
	}
	raw, _ := os.ReadFile(h.vault)
	if !bytes.Contains(raw, []byte(`"encrypted": false`)) {
		t.Errorf("vault is not marked unencrypted:\n%s", raw)
	}
	// Later commands need no flag and no passphrase.
	h.ok("", "add", "otpauth://hotp/Other:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	h.ok("", "code")
}

func TestDamagedVaultIsReportedAndKept(t *testing.T) {
	tests := []struct {
		name    string
		content func(good []byte) []byte
		want    string
	}{
		{"garbage", func([]byte) []byte { return []byte("\x00\x01garbage") }, "not a twostep vault"},
		{"truncated", func(good []byte) []byte { return good[:len(good)-30] }, "corrupt or truncated"},
		{"empty", func([]byte) []byte { return nil }, "corrupt or truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.ok("", "add", ghURI)
			good, _ := os.ReadFile(h.vault)
			bad := tt.content(good)
			if err := os.WriteFile(h.vault, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"code"}, {"refresh"}, {"add", "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP"}, {"rename", "GitHub:alice", "x"}} {
				h.fails(1, []string{tt.want, h.vault, "left untouched"}, "", args...)
			}
			if after, _ := os.ReadFile(h.vault); !bytes.Equal(after, bad) {
				t.Error("a damaged vault was overwritten")
			}
		})
	}
}

func TestNoVaultYet(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{{"code"}, {"refresh"}, {"accounts"}, {"watch"}, {"rename", "a", "b"}, {"remove", "a"}} {
		h.fails(1, []string{"no vault yet", "twostep activate"}, "", args...)
	}
	if _, err := os.Stat(h.vault); err == nil {
		t.Error("a read-only command created the vault")
	}
}

func TestAddThirdParty(t *testing.T) {
	h := newHarness(t)
	now := time.Unix(1795299940, 0)
	h.now = func() time.Time { return now }
	h.transport = noNetwork{t}
	r := h.ok("", "add", ghURI)
	if !strings.Contains(r.stdout, `Added "GitHub:alice" (time-based, 6 digits every 30 s)`) ||
		!strings.Contains(r.stdout, "Passcode: "+groupCode(otp.TOTP(ghKey, now, 30, 6))) {
		t.Errorf("add output:\n%s", r)
	}
	h.ok("otpauth://hotp/ACME:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=5&digits=8\n", "add", "-")
	h.ok("", "add", "--qr", qrFile(t, "otpauth://totp/Big?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&period=60"))

	r = h.ok("", "code")
	hotpKey := []byte("12345678901234567890")
	bigKey := []byte("1234567890123456789012345678901234567890")
	want := "GitHub:alice  " + groupCode(otp.TOTP(ghKey, now, 30, 6)) + "  20 s left\n" +
		"ACME:bob      " + groupCode(otp.HOTP(hotpKey, 5, 8)) + "\n" +
		"Big           " + groupCode(sha256TOTP(bigKey, now, 60)) + "  20 s left\n"
	if r.stdout != want {
		t.Errorf("code =\n%s\nwant\n%s", r.stdout, want)
	}
	r = h.ok("", "refresh", "acme:bob")
	if !strings.Contains(r.stdout, groupCode(otp.HOTP(hotpKey, 6, 8))) {
		t.Errorf("refresh = %s", r.stdout)
	}
	// Several counter-based accounts would make a bare refresh ambiguous;
	// one is not.
	h.ok("", "refresh")

	h.fails(1, []string{"already in the vault", "GitHub:alice"}, "", "add", ghURI)
	h.fails(1, []string{"already exists", "--name"}, "", "add", "otpauth://totp/GitHub:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJR")
	h.ok("", "add", "--name", "GitHub (work)", "otpauth://totp/GitHub:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJR")
	for _, tt := range []struct{ give, want string }{
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=5", `digits "5"`},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", `algorithm "MD5"`},
		{"otpauth://totp/x", "secret: missing"},
		{"otpauth://sms/x?secret=JBSWY3DPEHPK3PXP", `type "sms"`},
		{"http://example.com", `scheme "http"`},
	} {
		h.fails(1, []string{"bad otpauth URI", tt.want}, "", "add", tt.give)
	}
	h.fails(2, []string{"either a key URI or --qr"}, "", "add")
	h.fails(1, []string{"no QR code"}, "", "add", "--qr", qrBlank(t))
}

func qrBlank(t *testing.T) string {
	t.Helper()
	// A QR image whose content is not a QR code at all: a plain white PNG.
	return writeFile(t, "blank.png", string(whitePNG()))
}

func TestAccountsRenameRemove(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	h.activate(s, activation)
	h.ok("", "add", ghURI)
	r := h.ok("", "accounts")
	want := "NAME                  KIND     CODES               WHERE\n" +
		"Example Corp (alice)  twostep  HOTP 6 digits       " + s.Host + " as alice\n" +
		"GitHub:alice          otpauth  TOTP 6 digits/30 s  GitHub\n"
	if r.stdout != want {
		t.Errorf("accounts =\n%s\nwant\n%s", r.stdout, want)
	}
	r = h.ok("", "accounts", "--json")
	for _, secret := range []string{activation.HOTPSecret, "JBSWY3DP", "PRIVATE KEY", "MDEyMzQ1"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("accounts --json reveals a secret (%s):\n%s", secret, r.stdout)
		}
	}

	h.ok("", "rename", "github:alice", "GH")
	h.fails(1, []string{"already exists"}, "", "rename", "GH", "Example Corp (alice)")
	h.fails(1, []string{"no such account"}, "", "rename", "nope", "x")

	h.fails(1, []string{"nothing removed"}, "n\n", "remove", "GH")
	h.fails(1, []string{"standard input is closed"}, "", "remove", "GH")
	r = h.ok("maybe\ny\n", "remove", "GH")
	if !strings.Contains(r.stdout, `Remove "GH"?`) || !strings.Contains(r.stdout, `Removed "GH".`) {
		t.Errorf("remove:\n%s", r)
	}
	r = h.ok("", "remove", "--yes", "Example Corp (alice)")
	if !strings.Contains(r.stdout, "Deregistered this device from "+s.Host) {
		t.Errorf("remove of an install:\n%s", r)
	}
	r = h.ok("", "accounts")
	if !strings.Contains(r.stdout, "No accounts yet") {
		t.Errorf("accounts after removing all:\n%s", r)
	}
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{{}, {"frobnicate"}, {"code", "--bogus"}, {"rename", "only-one"}} {
		r := h.run("", args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "twostep --help") {
			t.Errorf("twostep %v: %s; want exit 2 pointing at --help", args, r)
		}
	}
	if r := h.run("", "--help"); r.code != 0 || !strings.Contains(r.stdout, "activate") {
		t.Errorf("--help: %s", r)
	}
	if r := h.run("", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "twostep ") {
		t.Errorf("version: %s", r)
	}
}

// sha256TOTP is RFC 6238 TOTP with HMAC-SHA256 and 6 digits, written out
// here as an independent reference.
func sha256TOTP(key []byte, now time.Time, period int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(now.Unix()/period))
	m := hmac.New(sha256.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000)
}
