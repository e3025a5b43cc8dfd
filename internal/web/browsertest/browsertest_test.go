package browsertest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestVendoredAxe proves the embedded axe-core is the one its README
// records.
func TestVendoredAxe(t *testing.T) {
	sum := sha256.Sum256([]byte(axeSource))
	if got := hex.EncodeToString(sum[:]); got != AxeSHA256 {
		t.Errorf("sha256(axe.min.js) = %s, want %s", got, AxeSHA256)
	}
	readme, err := os.ReadFile("testdata/axe-core/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), AxeSHA256) {
		t.Errorf("testdata/axe-core/README.md does not record %s", AxeSHA256)
	}
	if _, err := os.Stat("testdata/axe-core/LICENSE"); err != nil {
		t.Errorf("axe-core's licence is missing: %v", err)
	}
}

// TestAxeFindsViolations proves CheckA11y's check can fail: a page with an
// unlabelled field and an image without alt text has serious violations.
func TestAxeFindsViolations(t *testing.T) {
	ctx := New(t)
	page := `data:text/html,<!doctype html><html><head><title>bad</title></head><body><main>` +
		`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>`
	Do(t, ctx, chromedp.Navigate(page))
	vs, err := Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, v := range vs {
		found[v.ID] = v.Impact
	}
	for _, id := range []string{"label", "image-alt", "html-has-lang"} {
		if imp := found[id]; imp != "serious" && imp != "critical" {
			t.Errorf("axe violations = %v; want %s as serious or critical", found, id)
		}
	}
}
