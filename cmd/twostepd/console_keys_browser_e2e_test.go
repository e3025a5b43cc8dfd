package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserConsoleKeys drives the real twostepd in headless Chromium
// through the console's full settings form, a token import large enough
// to run in the background (the progress page, then the report), and an
// administrator's security key: registered on My security keys with a
// DevTools virtual authenticator, then, after signing out, a sign-in with
// the password and the key. axe-core runs on each page; with
// TWOSTEP_UPDATE_SCREENSHOTS=1 they are written to
// docs/screenshots/console-{settings,tokens-progress,account-keys,code-key}.png.
func TestBrowserConsoleKeys(t *testing.T) {
	oathtool := needProgram(t, "oathtool", "oathtool")
	in := startServe(t, func(k string) string {
		return map[string]string{"TWOSTEP_ORGANIZATION": "Example Corp"}[k]
	})
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	ctx := browsertest.New(t, browsertest.TrustCertificate(leaf), browsertest.WindowSize(1100, 900), browsertest.Timeout(4*time.Minute))
	// Security keys need the relying party's name: localhost, not the address.
	_, port, _ := strings.Cut(in.addr, ":")
	base := "https://localhost:" + port
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	check := func(name string) {
		t.Helper()
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "console-"+name)
	}
	totp := func(key string) string {
		t.Helper()
		out, err := exec.Command(oathtool, "--totp", "-b", strings.ReplaceAll(key, " ", "")).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}

	// The bootstrap Owner's first sign-in: the authenticator app first.
	const newPassword = "the Owner's own passphrase"
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#f-email"),
		chromedp.SendKeys("#f-email", creds.Owner.Email), chromedp.SendKeys("#f-password", creds.Owner.Password),
		chromedp.Submit("#f-password"), chromedp.WaitVisible("#totp-key"))
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-code", totp(text("#totp-key"))), chromedp.Submit("#f-code"), chromedp.WaitVisible("#f-new_password"),
		chromedp.SendKeys("#f-new_password", newPassword), chromedp.SendKeys("#f-confirm_password", newPassword),
		chromedp.Submit("#f-confirm_password"), chromedp.WaitVisible(".stats"))

	// Settings: every field; a text message setting saved and shown back.
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/settings"), chromedp.WaitVisible("#save"))
	check("settings")
	browsertest.Do(t, ctx, chromedp.SetValue("#f-sms_batch", "5"), chromedp.SetValue("#f-telephony_daily_limit", "500"),
		chromedp.Click("#save"), chromedp.WaitVisible(".alert-success"))
	batch, _ := chromedp.Run(ctx, chromedp.Value("#f-sms_batch"))
	limit, _ := chromedp.Run(ctx, chromedp.Value("#f-telephony_daily_limit"))
	if batch != "5" || limit != "500" {
		t.Errorf("after saving: sms_batch %q, telephony_daily_limit %q", batch, limit)
	}

	// A large token file: the progress page, then the report.
	const rows = 5000
	var sb strings.Builder
	seed := make([]byte, 20)
	for i := 1; i <= rows; i++ {
		rand.Read(seed)
		fmt.Fprintf(&sb, "BIG-%05d,%s,0\n", i, hex.EncodeToString(seed))
	}
	upload := filepath.Join(t.TempDir(), "big.csv")
	os.WriteFile(upload, []byte(sb.String()), 0o600)
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/tokens"), chromedp.WaitVisible("#f-file"),
		chromedp.SetUploadFiles("#f-file", []string{upload}), chromedp.Click("#import"), chromedp.WaitVisible("#import-progress"))
	if got := text("#import-count"); !strings.HasSuffix(got, fmt.Sprintf("of %d rows", rows)) {
		t.Errorf("progress = %q", got)
	}
	check("tokens-progress")
	// The page follows the import until the report.
	var done bool
	for i := 0; i < 10 && !done; i++ { // a poll interrupted by the navigation to the report is repeated
		done, _ = chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector("#import-summary")`, chromedp.WithPollingTimeout(60*time.Second)))
	}
	if !done {
		t.Fatal("the import report never came")
	}
	if got := text("#import-summary"); got != fmt.Sprintf("%d tokens imported, 0 lines rejected.", rows) {
		t.Errorf("import summary = %q", got)
	}

	// My security keys: a virtual security key registered.
	browsertest.Do(t, ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, tg, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, tg, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Transport: cdpwebauthn.AuthenticatorTransportUsb,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return chromedp.Void{}, err
	})
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/account/keys"]`), chromedp.WaitVisible("#f-name"),
		chromedp.SendKeys("#f-name", "Blue YubiKey"), chromedp.Submit("#f-name"), chromedp.WaitVisible(".account-keys"))
	if got := text(".account-keys"); !strings.Contains(got, "Blue YubiKey") {
		t.Fatalf("keys = %q", got)
	}
	check("account-keys")

	// Sign out; sign in with the password and the key.
	browsertest.Do(t, ctx, chromedp.Click(".signout button"), chromedp.WaitVisible("#f-email"),
		chromedp.SendKeys("#f-email", creds.Owner.Email), chromedp.SendKeys("#f-password", newPassword),
		chromedp.Submit("#f-password"), chromedp.WaitVisible("#use-key"))
	check("code-key")
	browsertest.Do(t, ctx, chromedp.Click("#use-key"), chromedp.WaitVisible(".stats"))
	if h1 := text("h1"); h1 != "Dashboard" {
		t.Errorf("after the key: h1 %q", h1)
	}
}
