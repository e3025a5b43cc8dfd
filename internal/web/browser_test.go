package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserForm drives the card layout's form in real Chromium over
// TLS: the __Host- session cookie is accepted, the CSRF token travels in
// the form, a missing field comes back with the error summary focused, and
// a good post goes through. Every page is axe-clean.
func TestBrowserForm(t *testing.T) {
	f := newStackFixture(t)
	ctx := browsertest.New(t, browsertest.TrustCertificate(f.srv.Certificate()), browsertest.WindowSize(1024, 800))
	browsertest.Do(t, ctx, chromedp.Navigate(f.url("/t/form")), chromedp.WaitVisible("#f-name"))
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if focused != "f-name" {
		t.Errorf("focused element = %q, want the first field (autofocus)", focused)
	}
	browsertest.CheckA11y(t, ctx)
	browsertest.Do(t, ctx, chromedp.Click(`button[type="submit"]`), chromedp.WaitVisible(".error-summary"))
	focused, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
	if focused != "error-summary" {
		t.Errorf("focused element class = %q, want the error summary", focused)
	}
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "form-error")
	loaded := chromedp.Events(ctx, page.LoadEventFired) // subscribed before the click
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-name", "Alice"), chromedp.Click(`button[type="submit"]`))
	for _, err := range loaded {
		if err != nil {
			t.Fatal(err)
		}
		break // the redirect's target has loaded
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + " " + document.body.innerText`))
	if err != nil || !strings.Contains(body, "/t/whoami user= name=Alice") {
		t.Errorf("after a good post the page says %q, %v; want name=Alice", body, err)
	}
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || cookies != "" {
		t.Errorf("document.cookie = %q, %v; want the session cookie hidden from script (HttpOnly)", cookies, err)
	}
}

// TestBrowserComponents renders every shared component in the wide layout
// at desktop and phone sizes: axe-clean, and docs/screenshots shows them.
func TestBrowserComponents(t *testing.T) {
	f := newStackFixture(t)
	for _, size := range []struct {
		name          string
		width, height int
	}{{"components", 1280, 900}, {"components-phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			ctx := browsertest.New(t, browsertest.TrustCertificate(f.srv.Certificate()), browsertest.WindowSize(size.width, size.height))
			browsertest.Do(t, ctx, chromedp.Navigate(f.url("/t/components")), chromedp.WaitVisible(`[data-copy]`))
			browsertest.CheckA11y(t, ctx)
			browsertest.Screenshot(t, ctx, size.name)
		})
	}
	// The error pages too.
	for _, kind := range []string{"lockedout", "ratelimited"} {
		ctx := browsertest.New(t, browsertest.TrustCertificate(f.srv.Certificate()))
		browsertest.Do(t, ctx, chromedp.Navigate(f.url("/t/error/"+url.PathEscape(kind))))
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "error-"+kind)
	}
}
