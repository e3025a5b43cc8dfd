package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserPortal is issue 12's "Done when" for the self-service portal,
// in real headless Chromium against a real twostepd:
//   - login with the password and a push approved by the twostep app;
//   - adding a twostep app device: the QR PNG on the page is decoded
//     (gozxing, as the app does) and the app activates with it; the page
//     notices by itself and says so;
//   - adding a standard authenticator app: the otpauth secret read from the
//     page, the code computed by oathtool; then a login with a later code;
//   - adding a phone checked with the code from the outbox;
//   - "Text me new codes", then a login with a code from the outbox;
//   - recent activity and "I didn't do this";
//   - removing devices, with the warning before the last one.
//
// axe-core runs on every page; with TWOSTEP_UPDATE_SCREENSHOTS=1 each page
// is written to docs/screenshots/portal-*.png.
func TestBrowserPortal(t *testing.T) {
	oathtool := needProgram(t, "oathtool", "oathtool")
	in := startServe(t, func(k string) string {
		return map[string]string{"TWOSTEP_ORGANIZATION": "Example Corp"}[k]
	})
	a := adminE2E{t, in}
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)

	a.ok("user", "add", "alice", "--email", "alice@example.com")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600)
	a.ok("user", "set-password", "alice", "--password-file", pwFile)
	phone := jsonOf[map[string]any](t, a.ok("phone", "add", "alice", "+15555550142", "--json", "--name", "Alice's phone"))
	pid, _ := phone["phone_id"].(string)
	act := jsonOf[struct {
		URL string `json:"activation_url"`
	}](t, a.ok("phone", "activate", pid, "--json"))
	dev := activateDevice(t, act.URL, pool)

	conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	base := "https://" + creds.APIHost
	ctx := browsertest.New(t, browsertest.TrustCertificate(leaf), browsertest.WindowSize(1024, 900), browsertest.Timeout(4*time.Minute))

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	check := func(shot string) {
		t.Helper()
		browsertest.CheckA11y(t, ctx)
		browsertest.Screenshot(t, ctx, shot)
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
	password := func(shot string) {
		t.Helper()
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible("#f-username"))
		if shot != "" {
			check(shot)
		}
		browsertest.Do(t, ctx,
			chromedp.SendKeys("#f-username", "alice"),
			chromedp.SendKeys("#f-password", "correct horse battery staple"),
			chromedp.Submit("#f-password"),
			chromedp.WaitVisible(".prompt-devices"))
	}
	passcodeLogin := func(device, code string) {
		t.Helper()
		password("")
		clickMethod(device, "passcode")
		browsertest.Do(t, ctx, chromedp.WaitVisible("#f-passcode"), chromedp.SendKeys("#f-passcode", code),
			chromedp.Submit("#f-passcode"), chromedp.WaitVisible("#devices"))
	}
	logout := func() {
		t.Helper()
		browsertest.Do(t, ctx, chromedp.Click("form.logout button"), chromedp.WaitVisible("a[href='/portal/login']"))
	}
	outboxSMS := func(to string, n int) string {
		t.Helper()
		var sms []string
		for _, m := range outboxList(t, in) {
			if m.Kind == "sms" && m.To == to {
				sms = append(sms, m.Text)
			}
		}
		if len(sms) < n {
			t.Fatalf("outbox has %d messages to %s, want %d", len(sms), to, n)
		}
		return sms[n-1]
	}

	t.Run("login with push", func(t *testing.T) {
		password("portal-login")
		clickMethod("Alice's phone", "push")
		browsertest.Do(t, ctx, chromedp.WaitVisible("#status-text"))
		var code string
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.getElementById("verify-code")`)); ok {
			code = text("#verify-code")
		}
		actx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		txs, err := dev.Transactions(actx, 20*time.Second)
		if err != nil || len(txs) != 1 {
			t.Fatalf("app's pending requests = %+v, %v", txs, err)
		}
		if txs[0].Application != "Self-service portal" || txs[0].Username != "alice" {
			t.Errorf("push shows %q for %q", txs[0].Application, txs[0].Username)
		}
		if err := dev.Answer(actx, txs[0].ID(), deviceclient.Answer{Approve: true, StepUpCode: code}); err != nil {
			t.Fatal(err)
		}
		browsertest.Do(t, ctx, chromedp.WaitVisible("#devices"))
		if got := text("h1"); got != "My Settings & Devices" {
			t.Errorf("h1 = %q", got)
		}
		if got := text("#devices"); !strings.Contains(got, "Alice's phone") || !strings.Contains(got, "Push") {
			t.Errorf("devices = %q", got)
		}
		check("portal-devices")
		browsertest.Do(t, ctx, chromedp.EmulateViewport(390, 844))
		check("portal-devices-phone")
		browsertest.Do(t, ctx, chromedp.EmulateViewport(1024, 900))
	})

	t.Run("add the twostep app", func(t *testing.T) {
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/devices/add"), chromedp.WaitVisible("#add-options"))
		check("portal-add")
		browsertest.Do(t, ctx, chromedp.Click(`#add-options [data-option="app"] a`), chromedp.WaitVisible("#get-code"))
		check("portal-add-app-start")
		browsertest.Do(t, ctx, chromedp.Click("#get-code"), chromedp.WaitVisible("#activation-qr"))
		check("portal-add-app")
		src := eval(`document.getElementById("activation-qr").src`)
		png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
		if err != nil {
			t.Fatalf("QR src %.40s: %v", src, err)
		}
		value, err := deviceclient.DecodeQR(bytes.NewReader(png))
		if err != nil {
			t.Fatalf("decode the page's QR: %v", err)
		}
		code, err := deviceclient.ParseActivation(value)
		if err != nil {
			t.Fatalf("ParseActivation(%q): %v", value, err)
		}
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		c, err := deviceclient.New(deviceclient.Config{Host: code.Host, RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Activate(t.Context(), code, key, deviceclient.DeviceInfo{Model: "Tablet"}); err != nil {
			t.Fatalf("Activate = %v", err)
		}
		// The page notices by itself.
		status, err := chromedp.Run(ctx, chromedp.Poll[string](
			`(document.getElementById("activation-status").textContent.includes("is active")) && document.getElementById("activation-status").textContent`,
			chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil || !strings.Contains(status, "twostep app is active") {
			t.Fatalf("activation status = %q, %v", status, err)
		}
		check("portal-add-app-active")
		browsertest.Do(t, ctx, chromedp.Click("#activation-continue"), chromedp.WaitVisible("#devices"))
		if got := text(".alert-success"); !strings.Contains(got, "active") {
			t.Errorf("notice = %q", got)
		}
		if n := eval(`String(document.querySelectorAll("#devices .badge-active").length)`); n != "2" {
			t.Errorf("%s active app devices, want 2", n)
		}
	})

	var secret string
	t.Run("add an authenticator app", func(t *testing.T) {
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/devices/add/totp"), chromedp.WaitVisible("#totp-secret"))
		check("portal-add-totp")
		secret = strings.ReplaceAll(text("#totp-secret"), " ", "")
		code := oathTOTP(t, oathtool, secret, "now")
		browsertest.Do(t, ctx, chromedp.SendKeys("#f-name", "Aegis"), chromedp.SendKeys("#f-code", code),
			chromedp.Submit("#f-code"), chromedp.WaitVisible("#devices"))
		if got := text("#devices"); !strings.Contains(got, "Aegis") || !strings.Contains(got, "Authenticator app") {
			t.Errorf("devices = %q", got)
		}
		logout()
		check("portal-logged-out")
		// A later code (the next time step) logs in.
		passcodeLogin("Aegis", oathTOTP(t, oathtool, secret, "now + 30 seconds"))
	})

	t.Run("add a phone", func(t *testing.T) {
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/devices/add/phone"), chromedp.WaitVisible("#f-number"))
		check("portal-add-phone")
		browsertest.Do(t, ctx, chromedp.SendKeys("#f-number", "555 555 0177"), chromedp.SendKeys("#f-name", "Travel phone"),
			chromedp.Submit("#f-number"), chromedp.WaitVisible("#f-code"))
		check("portal-add-phone-check")
		code := regexp.MustCompile(`\d{6}`).FindString(outboxSMS("+15555550177", 1))
		browsertest.Do(t, ctx, chromedp.SendKeys("#f-code", code), chromedp.Submit("#f-code"), chromedp.WaitVisible("#devices"))
		if got := text("#devices"); !strings.Contains(got, "Travel phone") {
			t.Errorf("devices = %q", got)
		}
	})

	t.Run("text me new codes", func(t *testing.T) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const d = [...document.querySelectorAll("#devices .device")].find(li => li.textContent.includes("Travel phone"));
			const b = d && d.querySelector('button[name="sms"]');
			if (!b) return false;
			b.click();
			return true;
		})()`))
		if err != nil || !ok {
			t.Fatalf("no Text me new codes button: %v", err)
		}
		browsertest.Do(t, ctx, chromedp.WaitVisible(".next-code"))
		if got := text(".alert-success"); !strings.Contains(got, "starts with 1") {
			t.Errorf("notice = %q", got)
		}
		check("portal-sms-sent")
		body := outboxSMS("+15555550177", 2)
		var first string
		for _, c := range regexp.MustCompile(`\b\d{6,9}\b`).FindAllString(body, -1) {
			if strings.HasPrefix(c, "1") {
				first = c
				break
			}
		}
		if first == "" {
			t.Fatalf("no passcode starting with 1 in %q", body)
		}
		logout()
		passcodeLogin("Travel phone", first)
	})

	t.Run("activity", func(t *testing.T) {
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/activity"), chromedp.WaitVisible("#activity"))
		if got := text("#activity"); !strings.Contains(got, "Self-service portal") || !strings.Contains(got, "Push") {
			t.Errorf("activity = %q", got)
		}
		check("portal-activity")
		browsertest.Do(t, ctx, chromedp.Click("#activity tbody tr:last-child a"), chromedp.WaitVisible("#confirm-report"))
		check("portal-report")
		browsertest.Do(t, ctx, chromedp.Click("#confirm-report"), chromedp.WaitVisible("#activity"))
		if got := text(".alert-success"); !strings.Contains(got, "fraudulent") {
			t.Errorf("notice = %q", got)
		}
	})

	t.Run("rename and remove", func(t *testing.T) {
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible("#devices"))
		browsertest.Do(t, ctx, chromedp.Click(`#devices .device:first-child a[href$="/rename"]`), chromedp.WaitVisible("#f-name"))
		check("portal-rename")
		eval(`document.getElementById("f-name").value = ""`)
		browsertest.Do(t, ctx, chromedp.SendKeys("#f-name", "Old phone"), chromedp.Submit("#f-name"),
			chromedp.WaitVisible("#devices"))
		if got := text("#devices"); !strings.Contains(got, "Old phone") {
			t.Errorf("devices after rename = %q", got)
		}
		for {
			n := eval(`String(document.querySelectorAll("#devices .device").length)`)
			browsertest.Do(t, ctx, chromedp.Click(`#devices .device:first-child a[href$="/remove"]`), chromedp.WaitVisible("#confirm-remove"))
			last := eval(`document.getElementById("last-device") ? "yes" : "no"`)
			if (n == "1") != (last == "yes") {
				t.Fatalf("with %s devices the last-device warning shown: %s", n, last)
			}
			if n == "1" {
				check("portal-remove-last")
				browsertest.Do(t, ctx, chromedp.Click("#confirm-remove"), chromedp.WaitVisible(".empty"))
				break
			}
			if n == "4" {
				check("portal-remove")
			}
			browsertest.Do(t, ctx, chromedp.Click("#confirm-remove"), chromedp.WaitVisible("#devices"))
		}
		if got := text(".alert-success"); !strings.Contains(got, "removed") {
			t.Errorf("notice = %q", got)
		}
	})

	out := a.ok("logs", "admin", "--since", "1h", "--json")
	for _, want := range []string{"token_create", "phone_create", "phone_delete", "phone_send_sms_passcodes", "source_ip"} {
		if !strings.Contains(out, want) {
			t.Errorf("admin log lacks %q", want)
		}
	}
}

// oathTOTP computes a TOTP code of a base32 secret with oathtool at when
// ("now", "now + 30 seconds"), independently of our otp package.
func oathTOTP(t *testing.T, bin, secret, when string) string {
	t.Helper()
	out, err := exec.Command(bin, "--totp", "-b", "-d", "6", "-N", when, secret).Output()
	if err != nil {
		t.Fatalf("oathtool --totp -N %q: %v", when, err)
	}
	return strings.TrimSpace(string(out))
}
