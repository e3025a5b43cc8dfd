package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	duoapi "github.com/duosecurity/duo_api_golang"

	"github.com/twostep-auth/twostep/examples/webapp/demoapp"
	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserUniversalPrompt is issue 10's "Done when": Duo's Go Universal
// SDK v1.1.0 (inside the demo application) against a real twostepd over
// real TLS, with the prompt completed in real headless Chromium:
//   - a passcode computed independently (oathtool, from the token's seed)
//     after a wrong one, ending on the demo's welcome page with result
//     allow and factor hardware_token (the SDK has checked the id_token's
//     preferred_username and nonce, the page shows auth_result);
//   - "Send Me a Push": the page shows live status and the Verified Push
//     code; the twostep app (deviceclient) approves with the code while
//     the page waits, and the page continues by itself to the welcome;
//   - a user who fails three times sees the locked-out page.
//
// axe-core runs on every prompt state; with TWOSTEP_UPDATE_SCREENSHOTS=1
// the states are written to docs/screenshots/prompt-*.png.
func TestBrowserUniversalPrompt(t *testing.T) {
	needProgram(t, "oathtool", "oathtool")
	in := startServe(t, func(k string) string {
		return map[string]string{"TWOSTEP_ORGANIZATION": "Example Corp"}[k]
	})
	a := adminE2E{t, in}
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)

	// Verified Push on, lockout after 3 failures (Admin API, Duo's client).
	admin := duoapi.NewDuoApi(creds.AdminAPI.IKey, creds.AdminAPI.SKey, creds.APIHost, "twostep-e2e",
		duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = pool }))
	if _, body, err := admin.SignedCall("POST", "/admin/v1/settings",
		url.Values{"verified_push": {"true"}, "lockout_threshold": {"3"}}); err != nil || !strings.Contains(string(body), `"stat":"OK"`) {
		t.Fatalf("settings: %s, %v", body, err)
	}

	// alice: an h6 token with a random seed (codes by oathtool) and a
	// phone with the twostep app.
	secret := make([]byte, 20)
	rand.Read(secret)
	a.ok("user", "add", "alice")
	file := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(file, []byte("serial,secret,counter\nHW-1001,"+hex.EncodeToString(secret)+",0\n"), 0o600)
	a.ok("token", "import", file, "--type", "h6", "--assign", "alice")
	phone := jsonOf[map[string]any](t, a.ok("phone", "add", "alice", "+15555550142", "--json", "--name", "Alice's phone"))
	pid, _ := phone["phone_id"].(string)
	act := jsonOf[struct {
		URL string `json:"activation_url"`
	}](t, a.ok("phone", "activate", pid, "--json"))
	dev := activateDevice(t, act.URL, pool)
	// bob: a token only.
	a.ok("user", "add", "bob")
	os.WriteFile(file, []byte("serial,secret,counter\nHW-2002,"+hex.EncodeToString(secret)+",0\n"), 0o600)
	a.ok("token", "import", file, "--type", "h6", "--assign", "bob")

	// The demo application on a loopback listener, registered as a websdk
	// integration with its redirect URI through the Admin API.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	integ := jsonOf[struct {
		IKey string `json:"integration_key"`
		SKey string `json:"secret_key"`
	}](t, a.ok("integration", "add", "Demo app", "--type", "websdk", "--redirect-uri", appURL+"/duo-callback", "--json"))
	demo, err := demoapp.New(demoapp.Config{ClientID: integ.IKey, ClientSecret: integ.SKey, APIHost: creds.APIHost,
		RedirectURI: appURL + "/duo-callback", FailClosed: true, HTTPClient: httpsClient(pool)})
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewUnstartedServer(demo)
	app.Listener.Close()
	app.Listener = ln
	app.Start()
	t.Cleanup(app.Close)

	conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	ctx := browsertest.New(t, browsertest.TrustCertificate(leaf), browsertest.WindowSize(1024, 900), browsertest.Timeout(3*time.Minute))

	login := func(user string) {
		t.Helper()
		browsertest.Do(t, ctx,
			chromedp.Navigate(appURL+"/"),
			chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", user),
			chromedp.SendKeys("#password", "correct horse"),
			chromedp.Click(`main form button[type="submit"]`),
		)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	clickMethod := func(device, method string) {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const d = [...document.querySelectorAll(".prompt-device")].find(li => li.textContent.includes(`+"`"+device+"`"+`));
			const b = d && d.querySelector('button[data-method="`+method+`"]');
			if (!b) return false;
			b.click();
			return true;
		})()`))
		if err != nil || !ok {
			t.Fatalf("no %s button for %s: %v", method, device, err)
		}
	}

	t.Run("passcode", func(t *testing.T) {
		login("alice")
		browsertest.Do(t, ctx, chromedp.WaitVisible(".prompt-devices"))
		if h1 := text("h1"); h1 != "Choose how to log in" {
			t.Fatalf("h1 = %q", h1)
		}
		if got := text(".context"); !strings.Contains(got, "Demo app") || !strings.Contains(got, "alice") {
			t.Errorf("context = %q", got)
		}
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "prompt-devices")
		browsertest.Do(t, ctx, chromedp.EmulateViewport(390, 844))
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "prompt-devices-phone")
		browsertest.Do(t, ctx, chromedp.EmulateViewport(1024, 900))

		clickMethod("HW-1001", "passcode")
		browsertest.Do(t, ctx, chromedp.WaitVisible("#f-passcode"),
			chromedp.SendKeys("#f-passcode", "000000"), chromedp.Submit("#f-passcode"),
			chromedp.WaitVisible(".field-error"))
		if got := text(".field-error"); !strings.Contains(got, "Incorrect passcode") {
			t.Errorf("field error = %q", got)
		}
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "prompt-passcode-error")

		browsertest.Do(t, ctx, chromedp.SendKeys("#f-passcode", oathHOTP(t, secret, 0)), chromedp.Submit("#f-passcode"),
			chromedp.WaitVisible("#welcome"))
		if got := text("#welcome"); got != "Welcome, alice" {
			t.Errorf("welcome = %q", got)
		}
		if got := text("#result"); !strings.HasPrefix(got, "allow") {
			t.Errorf("result = %q, want allow", got)
		}
		if got := text("#factor"); got != "hardware_token" {
			t.Errorf("factor = %q, want hardware_token", got)
		}
		browsertest.Do(t, ctx, chromedp.Click("form[action='/logout'] button"), chromedp.WaitVisible("#username"))
	})

	t.Run("push", func(t *testing.T) {
		login("alice")
		browsertest.Do(t, ctx, chromedp.WaitVisible(".prompt-devices"))
		clickMethod("Alice's phone", "push")
		browsertest.Do(t, ctx, chromedp.WaitVisible("#verify-code"))
		code := text("#verify-code")
		// The script runs: it hid the no-script Continue button and keeps
		// the status region up to date.
		hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById("continue-button")).display === "none"`))
		if err != nil || !hidden {
			t.Errorf("continue button hidden = %v, %v; want the live status script running", hidden, err)
		}
		if got := text("#status-text"); got != "Waiting for you to approve the request in the twostep app." {
			t.Errorf("status = %q", got)
		}
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "prompt-push")

		actx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		txs, err := dev.Transactions(actx, 20*time.Second)
		if err != nil || len(txs) != 1 {
			t.Fatalf("app's pending requests = %+v, %v", txs, err)
		}
		if txs[0].Application != "Demo app" || txs[0].Username != "alice" {
			t.Errorf("push shows %q for %q", txs[0].Application, txs[0].Username)
		}
		if err := dev.Answer(actx, txs[0].ID(), deviceclient.Answer{Approve: true, StepUpCode: code}); err != nil {
			t.Fatal(err)
		}
		// The page continues by itself.
		browsertest.Do(t, ctx, chromedp.WaitVisible("#welcome"))
		if got := text("#factor"); got != "duo_push" {
			t.Errorf("factor = %q, want duo_push", got)
		}
		if got := text("#result"); !strings.HasPrefix(got, "allow") {
			t.Errorf("result = %q", got)
		}
		browsertest.Do(t, ctx, chromedp.Click("form[action='/logout'] button"), chromedp.WaitVisible("#username"))
	})

	t.Run("locked out", func(t *testing.T) {
		login("bob")
		browsertest.Do(t, ctx, chromedp.WaitVisible("#f-passcode, .prompt-devices"))
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector(".prompt-devices")`)); ok {
			clickMethod("HW-2002", "passcode")
		}
		for i := 0; i < 3; i++ {
			browsertest.Do(t, ctx, chromedp.WaitVisible("#f-passcode"), chromedp.SetValue("#f-passcode", "000000"))
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#f-passcode").form.submit(), true`)); err != nil {
				t.Fatal(err)
			}
			if i < 2 {
				browsertest.Do(t, ctx, chromedp.WaitVisible(".field-error"))
			}
		}
		// A 403 page: read it with script (chromedp's node queries hang on it).
		// (A poll interrupted by the navigation it waits for is repeated.)
		var h1 string
		for i := 0; i < 5 && h1 == ""; i++ {
			h1, err = chromedp.Run(ctx, chromedp.Poll[string](
				`(document.querySelector("h1") || {}).textContent === "Your account is locked" && document.querySelector("h1").textContent`,
				chromedp.WithPollingTimeout(20*time.Second)))
		}
		if err != nil || h1 != "Your account is locked" {
			t.Fatalf("h1 = %q, %v", h1, err)
		}
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, "prompt-locked-out")
	})

	// Every decision is in the authentication log, with the websdk
	// integration and the factor.
	out := a.ok("logs", "auth", "--since", "1h", "--json")
	for _, want := range []string{"hardware_token", "duo_push", "Demo app"} {
		if !strings.Contains(out, want) {
			t.Errorf("auth log lacks %q:\n%s", want, out)
		}
	}
}
