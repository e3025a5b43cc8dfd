package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserSelfServiceBypass is issue 12's self-service bypass "Done
// when": against a real twostepd over real TLS, in real headless
// Chromium, /portal/bypass says it is not available while the setting is
// off; an administrator turns it on (Admin API, Duo's client) and sets
// alice's PIN (CLI); alice gives her password, a wrong PIN (one message),
// then the right one, and gets one bypass code, which logs her in once
// through the Auth API (Duo's Go client) and is refused the second time.
// axe-core runs on every page; with TWOSTEP_UPDATE_SCREENSHOTS=1 they are
// written to docs/screenshots/portal-bypass-*.png.
func TestBrowserSelfServiceBypass(t *testing.T) {
	in := startServe(t, func(k string) string {
		return map[string]string{"TWOSTEP_ORGANIZATION": "Example Corp"}[k]
	})
	a := adminE2E{t, in}
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	dir := t.TempDir()

	// alice: a hardware token (a bypass code needs an enrolled device), a
	// twostep password and a PIN.
	a.ok("user", "add", "alice")
	file := filepath.Join(dir, "tokens.csv")
	os.WriteFile(file, []byte("serial,secret,counter\nHW-3003,3132333435363738393031323334353637383930,0\n"), 0o600)
	a.ok("token", "import", file, "--type", "h6", "--assign", "alice")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600)
	a.ok("user", "set-password", "alice", "--password-file", pw)
	pin := filepath.Join(dir, "pin")
	os.WriteFile(pin, []byte("482913\n"), 0o600)
	if out := a.ok("user", "identity", "alice", "--pin-file", pin); !strings.Contains(out, "PIN:                      set") ||
		strings.Contains(out, "482913") {
		t.Fatalf("user identity = %q", out)
	}

	conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	ctx := browsertest.New(t, browsertest.TrustCertificate(leaf), browsertest.WindowSize(1024, 900), browsertest.Timeout(3*time.Minute))
	page := "https://" + creds.APIHost + "/portal/bypass"
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	// Off (the default): no form.
	browsertest.Do(t, ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("main h1")))
	forms, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("form").length`))
	if h1 := text("main h1"); err != nil || forms != 0 || !strings.Contains(h1, "not available") {
		t.Fatalf("off: h1 %q, %d forms, %v", h1, forms, err)
	}
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-bypass-off")

	admin := duoapi.NewDuoApi(creds.AdminAPI.IKey, creds.AdminAPI.SKey, creds.APIHost, "twostep-e2e",
		duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = pool }))
	if _, body, err := admin.SignedCall("POST", "/admin/v1/settings",
		url.Values{"self_service_bypass": {"true"}, "self_service_bypass_check": {"pin"}}); err != nil || !strings.Contains(string(body), `"self_service_bypass":true`) {
		t.Fatalf("settings: %s, %v", body, err)
	}

	browsertest.Do(t, ctx, chromedp.Navigate(page), chromedp.WaitVisible("#f-username"))
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-bypass")
	browsertest.Do(t, ctx, chromedp.EmulateViewport(390, 844))
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-bypass-phone")
	browsertest.Do(t, ctx, chromedp.EmulateViewport(1024, 900))

	browsertest.Do(t, ctx,
		chromedp.SendKeys("#f-username", "alice"),
		chromedp.SendKeys("#f-password", "correct horse battery staple"),
		chromedp.Submit("#f-password"),
		chromedp.WaitVisible("#f-pin"))
	if h1 := text("main h1"); h1 != "Confirm who you are" {
		t.Errorf("identity check h1 = %q", h1)
	}
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-bypass-verify")

	// A wrong PIN: the form again, one message. The page it leaves is
	// marked stale, so that the wait matches only the next page.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.body.dataset.stale = "1", true)`)); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-pin", "482914"), chromedp.Submit("#f-pin"))
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible("body:not([data-stale]) .error-summary")); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text("body"))
		t.Fatalf("waiting for the wrong PIN's message: %v\n%s", err, body)
	}
	if summary := text(".error-summary"); !strings.Contains(summary, "Those details do not match what we have") {
		t.Fatalf("wrong PIN: summary %q", summary)
	}
	browsertest.CheckA11y(t, ctx)
	browsertest.Screenshot(t, ctx, "portal-bypass-wrong")

	browsertest.Do(t, ctx, chromedp.SendKeys("#f-pin", "482913"), chromedp.Submit("#f-pin"), chromedp.WaitVisible("#bypass-code"))
	code := text("#bypass-code")
	if !regexp.MustCompile(`^[0-9]{9}$`).MatchString(code) {
		t.Fatalf("bypass code = %q", code)
	}
	if body := text("main"); !strings.Contains(body, "add or reactivate a device") {
		t.Errorf("the code page does not say what it is for: %q", body)
	}
	browsertest.CheckA11y(t, ctx)
	// The screenshot shows a code that expires in minutes and was used below.
	browsertest.Screenshot(t, ctx, "portal-bypass-code")

	client := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool)
	for i, want := range []string{"allow", "deny"} {
		res, err := client.Auth("passcode", authapi.AuthUsername("alice"), authapi.AuthPasscode(code),
			authapi.AuthIpAddr([]string{"198.51.100.31", "198.51.100.32"}[i]))
		if err != nil || res.Stat != "OK" || res.Response.Result != want {
			t.Errorf("Auth(self-service bypass code, use %d) = %+v, %v; want %s", i+1, res, err, want)
		}
	}
	// The admin log has the failure and the creation, with the address.
	out := a.ok("logs", "admin", "--since", "1h")
	for _, want := range []string{"self_bypass_failure", "bypass_create", "127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("admin log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, code) || strings.Contains(out, "482913") {
		t.Error("the admin log shows the code or the PIN")
	}
}
