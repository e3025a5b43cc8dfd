package browsertest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is the browser the tests drive (Debian's package chromium).
const Chromium = "/usr/bin/chromium"

// UpdateEnv, set to 1, makes Screenshot write docs/screenshots/*.png.
const UpdateEnv = "TWOSTEP_UPDATE_SCREENSHOTS"

// axeSource is axe-core, vendored from npm (testdata/axe-core/README.md).
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// AxeSHA256 is the sha256 of the vendored axe.min.js, as its README records.
const AxeSHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

type options struct {
	width, height int
	spki          []string
	timeout       time.Duration
}

// Option configures New.
type Option func(*options)

// WindowSize sets the viewport in CSS pixels (default 1024x768).
func WindowSize(width, height int) Option {
	return func(o *options) { o.width, o.height = width, height }
}

// TrustCertificate makes the browser accept the TLS certificate cert (the
// test server's leaf) by pinning its public key, so that pages load over
// real https, where __Host- cookies work, without trusting anything else.
func TrustCertificate(cert *x509.Certificate) Option {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return func(o *options) { o.spki = append(o.spki, base64.StdEncoding.EncodeToString(sum[:])) }
}

// Timeout bounds the whole browser session (default 60 s).
func Timeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// New starts Chromium headless with a fresh profile and returns the
// context of one tab; the browser stops when the test ends. Without
// Chromium the test is skipped, or fails under CI=true.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI=true: .ci/run installs the chromium package): %v", Chromium, err)
		}
		t.Skipf("%s is missing: install Debian's chromium package to run the browser tests", Chromium)
	}
	o := options{width: 1024, height: 768, timeout: 60 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.width, o.height),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
	}
	if len(o.spki) > 0 {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(o.spki, ",")))
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), o.timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, flags...)
	tctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	// Start the browser now, so that a broken installation fails here.
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(int64(o.width), int64(o.height)), chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", Chromium, err)
	}
	return tctx
}

// Do runs actions in the tab, failing the test on an error.
func Do(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// String describes v readably, element by element.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s\n  %s\n", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "  - %v %s\n", n.Target, n.HTML)
		for _, line := range strings.Split(strings.TrimSpace(n.FailureSummary), "\n") {
			fmt.Fprintf(&b, "      %s\n", line)
		}
	}
	return b.String()
}

// Axe injects axe-core into the page in ctx and returns its violations
// (every impact).
func Axe(ctx context.Context) ([]Violation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";\ntrue")); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	const run = `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		return nil, fmt.Errorf("axe-core result: %w", err)
	}
	return vs, nil
}

// CheckA11y runs axe-core on the page in ctx and fails the test on every
// serious or critical violation, printing each; minor and moderate ones
// are logged.
func CheckA11y(t testing.TB, ctx context.Context) {
	t.Helper()
	vs, err := Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url, _ := chromedp.Run(ctx, chromedp.Location())
	for _, v := range vs {
		switch v.Impact {
		case "serious", "critical":
			t.Errorf("accessibility of %s: %s", url, v)
		default:
			t.Logf("accessibility of %s (not failing): %s", url, v)
		}
	}
}

// Screenshot writes the whole page in ctx to docs/screenshots/<name>.png
// when TWOSTEP_UPDATE_SCREENSHOTS=1, and otherwise does nothing.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv(UpdateEnv) != "1" {
		return
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(root, "docs", "screenshots", name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
