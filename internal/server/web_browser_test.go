package server_test

import (
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserActivatePage opens the activation page in real Chromium
// against the real handler over real TLS: the QR code loads, the page has
// no serious accessibility violation at desktop and phone sizes, and
// docs/screenshots/activate.png shows it.
func TestBrowserActivatePage(t *testing.T) {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	h := server.New(server.Deps{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
		Organization: "Example Corp"})
	ts := certstest.StartTLS(t, h)
	const code = "AbCdEfGhIjKlMnOpQr12-bG9jYWxob3N0Ojg0NDM"
	base := "https://" + ts.Host

	for _, size := range []struct {
		name          string
		width, height int
	}{
		{"activate", 1024, 900},
		{"activate-phone", 390, 844},
	} {
		t.Run(size.name, func(t *testing.T) {
			ctx := browsertest.New(t, browsertest.TrustCertificate(ts.Certificate()),
				browsertest.WindowSize(size.width, size.height))
			browsertest.Do(t, ctx,
				chromedp.Navigate(base+"/activate/"+url.PathEscape(code)),
				chromedp.WaitVisible("img.qr"),
			)
			// The QR image loaded (the CSP allows it; the route answers).
			loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`(() => { const i = document.querySelector("img.qr"); return i.complete && i.naturalWidth > 0 })()`))
			if err != nil || !loaded {
				t.Errorf("QR image loaded = %v, %v; want true", loaded, err)
			}
			value, err := chromedp.Run(ctx, chromedp.Value("#code"))
			if err != nil || value != code {
				t.Errorf("code field = %q, %v; want %q", value, err, code)
			}
			// The stylesheet applied (the card layout is centred and narrow).
			width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector(".card").getBoundingClientRect().width`))
			if err != nil || width > 28*16+1 {
				t.Errorf(".card width = %v, %v; want at most 28rem", width, err)
			}
			browsertest.CheckA11y(t, ctx)
			browsertest.Screenshot(t, ctx, size.name)
		})
	}
	t.Run("not-found", func(t *testing.T) {
		ctx := browsertest.New(t, browsertest.TrustCertificate(ts.Certificate()))
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/no/such/page"))
		// (chromedp's node queries wait forever on a page answered 404:
		// read it with script instead.)
		if h1, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("h1").textContent`)); err != nil || h1 != "Page not found" {
			t.Errorf("h1 = %q, %v; want Page not found", h1, err)
		}
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "not-found")
	})
}
