package selfbypass_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserPINPage opens the signed-in PIN page (mounted here with a
// fake signed-in user) in real Chromium: axe-core on the empty form, a
// policy error and the saved state, at desktop and phone sizes;
// screenshots docs/screenshots/portal-pin*.png.
func TestBrowserPINPage(t *testing.T) {
	f := newFixture(t)
	base := "https://" + f.host
	ctx := browsertest.New(t, browsertest.TrustCertificate(f.cert), browsertest.WindowSize(1024, 800))
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/bypass"), chromedp.WaitVisible("#f-username"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.cookie = "test_user=`+f.alice.ID+`; path=/; secure", true)`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/pin"), chromedp.WaitVisible("#f-pin"))
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#pin-status")))
	if err != nil || status == "" {
		t.Fatalf("PIN status = %q, %v", status, err)
	}
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-pin")

	stale(t, ctx)
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-pin", "123456"), chromedp.SendKeys("#f-confirm", "123456"), chromedp.Submit("#f-pin"),
		chromedp.WaitVisible(chromedp.CSS("body:not([data-stale]) .error-summary")))
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-pin-error")

	stale(t, ctx)
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-pin", "739105"), chromedp.SendKeys("#f-confirm", "739105"), chromedp.Submit("#f-pin"),
		chromedp.WaitVisible(chromedp.CSS("body:not([data-stale]) .alert-success")))
	browsertest.Do(t, ctx, chromedp.EmulateViewport(390, 844))
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-pin-saved-phone")
}

// stale marks the page, so that a wait matches only the next one.
func stale(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.body.dataset.stale = "1", true)`)); err != nil {
		t.Fatal(err)
	}
}
