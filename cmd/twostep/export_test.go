package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/deviceclient"
)

func TestExportImport(t *testing.T) {
	// One fixed clock for both devices, so that the TOTP account shows the
	// same code and the same seconds left on each (a real clock can tick
	// across a second, or a step, between the two "code" runs).
	now := time.Now().Truncate(30 * time.Second).Add(10 * time.Second)
	clock := func() time.Time { return now }
	old := newHarness(t)
	old.now = clock
	s := old.server()
	pkey := old.activate(s, activation)
	old.ok("", "add", ghURI)
	old.ok("", "refresh", "Example Corp (alice)")
	var before []accountJSON
	old.jsonOut(&before, "accounts", "--json")
	codes := old.ok("", "code").stdout

	bundle := filepath.Join(t.TempDir(), "move.age")
	old.fails(1, []string{"TWOSTEP_EXPORT_PASSPHRASE"}, "", "export", bundle)
	old.setenv("TWOSTEP_EXPORT_PASSPHRASE", "bundle secret")
	r := old.ok("", "export", bundle)
	if !strings.Contains(r.stdout, "Exported 2 account(s) to "+bundle) {
		t.Errorf("export:\n%s", r)
	}
	raw, _ := os.ReadFile(bundle)
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) || bytes.Contains(raw, []byte("alice")) {
		t.Errorf("the bundle is not encrypted: %.60q", raw)
	}
	if st, _ := os.Stat(bundle); st.Mode().Perm() != 0o600 {
		t.Errorf("bundle mode = %v, want 0600", st.Mode().Perm())
	}
	old.fails(1, []string{"exists", "--force"}, "", "export", bundle)
	old.ok("", "export", "--force", "--account", "GitHub:alice", bundle+".gh")

	// The new device: its own vault, its own passphrase, no CA flag.
	nu := newHarness(t)
	nu.now = clock
	nu.setenv("TWOSTEP_PASSPHRASE", "another passphrase")
	nu.setenv("TWOSTEP_EXPORT_PASSPHRASE", "wrong")
	nu.fails(1, []string{"export bundle", "wrong passphrase"}, "", "import", bundle)
	nu.fails(1, []string{"not a twostep export bundle"}, "", "import", writeFile(t, "junk", "junk"))
	nu.setenv("TWOSTEP_EXPORT_PASSPHRASE", "")
	nu.passwords = []string{"bundle secret"}
	r = nu.ok("", "import", bundle)
	if !strings.Contains(r.stdout, "Imported 2 account(s).") {
		t.Errorf("import:\n%s", r)
	}
	var after []accountJSON
	nu.jsonOut(&after, "accounts", "--json")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("accounts after import (-old device +new device):\n%s", diff)
	}
	if got := nu.ok("", "code").stdout; got != codes {
		t.Errorf("codes on the new device = %q, want %q", got, codes)
	}
	// The install works from the new device, trusting the saved CA.
	tx := s.Push(pkey, loginTx, "")
	nu.ok("", "approve", tx.URGID)

	nu.setenv("TWOSTEP_EXPORT_PASSPHRASE", "bundle secret")
	nu.fails(1, []string{"already on this device", `"Example Corp (alice)"`, `"GitHub:alice"`, "--replace"}, "", "import", bundle)
	nu.ok("", "rename", "GitHub:alice", "renamed")
	// Same key under another name is still the same account.
	nu.fails(1, []string{`"renamed"`}, "", "import", bundle+".gh")
	r = nu.ok("", "import", "--replace", bundle)
	if !strings.Contains(r.stdout, "Imported 2 account(s), replacing 2.") {
		t.Errorf("import --replace:\n%s", r)
	}
	nu.jsonOut(&after, "accounts", "--json")
	if len(after) != 2 {
		t.Errorf("accounts after import --replace = %d, want 2", len(after))
	}
}

func TestExportQR(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	h.activate(s, activation)
	h.ok("", "add", ghURI)
	r := h.ok("", "export", "--qr", "GitHub:alice")
	if !strings.Contains(r.stdout, "█") || !strings.Contains(r.stderr, "Anyone who sees it") {
		t.Errorf("export --qr:\n%s", r)
	}
	h.fails(1, []string{"twostep install", "export bundle"}, "", "export", "--qr", "Example Corp (alice)")
	h.fails(2, []string{"either a bundle FILE or --qr"}, "", "export")
}

// The app's QR output must decode to the key URI: rendered to an image
// through the decoder the app itself uses for --qr.
func TestExportQRDecodes(t *testing.T) {
	h := newHarness(t)
	h.ok("", "add", ghURI)
	r := h.ok("", "export", "--qr", "GitHub:alice")
	img := terminalQRToPNG(t, r.stdout)
	got, err := deviceclient.DecodeQR(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("the terminal QR does not decode: %v\n%s", err, r.stdout)
	}
	if !strings.HasPrefix(got, "otpauth://totp/GitHub:alice?") || !strings.Contains(got, "secret=JBSWY3DPEHPK3PXP") {
		t.Errorf("the terminal QR holds %q", got)
	}
}

// terminalQRToPNG turns qrterminal's half-block rendering back into an
// image: "█" is two light modules, " " two dark ones, "▀" light over dark
// and "▄" dark over light.
func terminalQRToPNG(t *testing.T, text string) []byte {
	t.Helper()
	var rows [][]bool // true: light
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		var top, bottom []bool
		for _, r := range line {
			switch r {
			case '█':
				top, bottom = append(top, true), append(bottom, true)
			case ' ':
				top, bottom = append(top, false), append(bottom, false)
			case '▀':
				top, bottom = append(top, true), append(bottom, false)
			case '▄':
				top, bottom = append(top, false), append(bottom, true)
			}
		}
		if len(top) > 0 {
			rows = append(rows, top, bottom)
		}
	}
	if len(rows) == 0 {
		t.Fatal("no QR in the output")
	}
	const scale = 8
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*scale, len(rows)*scale))
	for y, row := range rows {
		for x, light := range row {
			c := color.Gray{}
			if light {
				c = color.Gray{Y: 0xff}
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray(x*scale+dx, y*scale+dy, c)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
