package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	duoapi "github.com/duosecurity/duo_api_golang"

	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserConsoleUsers drives the console's user management against a
// real twostepd over real TLS in real headless Chromium: the bootstrap
// Owner adds a user, edits them, adds a landline and a mobile (whose
// activation link goes out by SMS and whose activation QR code is shown),
// assigns an imported h6 token whose passcode (computed by oathtool) then
// logs the user in through the Auth API (Duo's Go client), resyncs the
// token after it ran ahead, and deletes the user. axe-core runs on every
// new page; with TWOSTEP_UPDATE_SCREENSHOTS=1 they are written to
// docs/screenshots/console-user-*.png, console-phone-add.png and
// console-activation-qr.png.
func TestBrowserConsoleUsers(t *testing.T) {
	oathtool := needProgram(t, "oathtool", "oathtool")
	in := startServe(t, func(k string) string {
		return map[string]string{"TWOSTEP_ORGANIZATION": "Example Corp"}[k]
	})
	a := adminE2E{t, in}
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	tr := func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = pool }
	authAPI := duoapi.NewDuoApi(creds.AuthAPI.IKey, creds.AuthAPI.SKey, creds.APIHost, "twostep-e2e", duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(tr))
	calls := 0
	passcode := func(user, code string) string {
		t.Helper()
		calls++ // a different address each time: identical signed requests are replays
		_, body, err := authAPI.SignedCall("POST", "/auth/v2/auth", url.Values{"username": {user}, "factor": {"passcode"}, "passcode": {code},
			"ipaddr": {"192.0.2." + strconv.Itoa(calls)}})
		if err != nil {
			t.Fatalf("auth %s: %v", user, err)
		}
		var res struct {
			Stat     string `json:"stat"`
			Response struct {
				Result string `json:"result"`
			} `json:"response"`
		}
		json.Unmarshal(body, &res)
		if res.Stat != "OK" {
			t.Logf("auth %s: %s", user, body)
		}
		return res.Response.Result
	}

	// An unassigned h6 token, imported from a file.
	seed := make([]byte, 20)
	rand.Read(seed)
	file := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(file, []byte("serial,secret,counter\nHW-300,"+hex.EncodeToString(seed)+",0\n"), 0o600)
	a.ok("token", "import", file, "--type", "h6")

	conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	ctx := browsertest.New(t, browsertest.TrustCertificate(leaf), browsertest.WindowSize(1100, 900), browsertest.Timeout(3*time.Minute))
	base := "https://" + in.addr
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// check runs axe-core on the page, and writes its screenshot if named.
	check := func(shot string) {
		t.Helper()
		browsertest.CheckA11y(t, ctx)
		if shot != "" {
			browsertest.Screenshot(t, ctx, "console-"+shot)
		}
	}
	// success waits for the page after a change (?done=) and checks its
	// notice: the page before it may show a notice too.
	success := func(what, done, want string) {
		t.Helper()
		var ok bool
		var err error
		js := `location.search.includes("done=` + done + `") && !!document.querySelector(".alert-success")`
		for i := 0; i < 5 && !ok; i++ { // a poll interrupted by the navigation it waits for is repeated
			ok, err = chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second)))
		}
		if !ok {
			t.Fatalf("%s: waiting for done=%s: %v", what, done, err)
		}
		if got := text(".alert-success"); !strings.Contains(got, want) {
			t.Errorf("%s: notice %q, want %q", what, got, want)
		}
	}
	totp := func(key string) string {
		t.Helper()
		out, err := exec.Command(oathtool, "--totp", "-b", strings.ReplaceAll(key, " ", "")).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}

	// The bootstrap Owner signs in (authenticator set up, password changed).
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#f-email"),
		chromedp.SendKeys("#f-email", creds.Owner.Email), chromedp.SendKeys("#f-password", creds.Owner.Password),
		chromedp.Submit("#f-password"), chromedp.WaitVisible("#totp-key"))
	key := text("#totp-key")
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-code", totp(key)), chromedp.Submit("#f-code"), chromedp.WaitVisible("#f-new_password"))
	const newPassword = "the Owner's own passphrase"
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-new_password", newPassword), chromedp.SendKeys("#f-confirm_password", newPassword),
		chromedp.Submit("#f-confirm_password"), chromedp.WaitVisible(".stats"))

	// Add a user: a missing username first, then the whole form.
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/users"]`), chromedp.WaitVisible("#add-user"),
		chromedp.Click("#add-user"), chromedp.WaitVisible("#f-username"))
	check("user-add")
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-realname", "Dana Example"), chromedp.Click("#save-user"), chromedp.WaitVisible(".error-summary"))
	if got := text(".error-summary"); !strings.Contains(got, "Username: required") {
		t.Errorf("add without a username: %q", got)
	}
	check("")
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-username", "dana"), chromedp.SendKeys("#f-email", "dana@example.com"),
		chromedp.SendKeys("#f-alias1", "dexample"), chromedp.SendKeys("#f-notes", "Joined in December"), chromedp.Click("#save-user"))
	success("add", "created", "The user is added")
	if got := text("h1"); got != "dana" {
		t.Fatalf("after adding: h1 %q", got)
	}

	// Edit: the full name and the notes.
	browsertest.Do(t, ctx, chromedp.Click("#edit-user"), chromedp.WaitVisible("#f-realname"))
	check("user-edit")
	browsertest.Do(t, ctx, chromedp.SetValue("#f-realname", "Dana Q. Example"), chromedp.SetValue("#f-notes", "Desk 4.12"),
		chromedp.Click("#save-user"))
	success("edit", "saved", "The changes are saved")
	if out := a.ok("user", "show", "dexample"); !strings.Contains(out, "Dana Q. Example") {
		t.Errorf("user show after the edit:\n%s", out)
	}

	// A landline with an extension, then a mobile.
	browsertest.Do(t, ctx, chromedp.Click("#add-phone"), chromedp.WaitVisible("#f-number"),
		chromedp.Click("#f-type-landline"), chromedp.SendKeys("#f-number", "+1 555 555 0142"), chromedp.SendKeys("#f-extension", "412"),
		chromedp.SendKeys("#f-name", "Desk phone"))
	check("phone-add")
	browsertest.Do(t, ctx, chromedp.Click("#add-phone"))
	success("add landline", "phone-added", "The phone is added")
	if got := text(".devices"); !strings.Contains(got, "Desk phone") || !strings.Contains(got, "landline") {
		t.Errorf("devices after the landline: %q", got)
	}
	browsertest.Do(t, ctx, chromedp.Click("a#add-phone"), chromedp.WaitVisible("#f-number"),
		chromedp.SendKeys("#f-number", "+15555550177"), chromedp.SetValue("#f-platform", "google android"), chromedp.SendKeys("#f-name", "Work mobile"),
		chromedp.Click("button#add-phone"))
	success("add mobile", "mobile-added", "send an activation link")
	// The activation link by SMS (the outbox carrier), then the QR code.
	browsertest.Do(t, ctx, chromedp.Click(`button[id^="sms-"]`))
	success("activation SMS", "sms-sent", "sent by SMS")
	browsertest.Do(t, ctx, chromedp.Click(`button[id^="qr-"]`), chromedp.WaitVisible("#activation-qr"))
	check("activation-qr")
	if code, err := chromedp.Run(ctx, chromedp.Value("#activation-code")); err != nil || !strings.Contains(code, "-") {
		t.Errorf("activation code %q, %v", code, err)
	}

	// Assign the imported token; its passcode logs dana in.
	browsertest.Do(t, ctx, chromedp.Click("#back-to-user"), chromedp.WaitVisible("#assign-token"),
		chromedp.Click("#assign-token"), chromedp.WaitVisible("#f-token"))
	check("")
	opt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#f-token option")].find(o => o.text.startsWith("HW-300")).value`))
	if err != nil || opt == "" {
		t.Fatalf("HW-300 is not offered: %v", err)
	}
	browsertest.Do(t, ctx, chromedp.SetValue("#f-token", opt), chromedp.Click("#assign-token"))
	success("assign", "token-assigned", "The hardware token is assigned")
	if got := passcode("dana", oathHOTP(t, seed, 0)); got != "allow" {
		t.Fatalf("dana's token passcode = %q, want allow", got)
	}
	// The button was pressed many times: codes 20-22 resync it, and the
	// next one logs in.
	if got := passcode("dana", oathHOTP(t, seed, 40)); got == "allow" {
		t.Fatalf("a code far ahead = %q, want refused", got)
	}
	browsertest.Do(t, ctx, chromedp.Click(`a[id^="resync-"]`), chromedp.WaitVisible("#f-code1"))
	check("")
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-code1", oathHOTP(t, seed, 20)), chromedp.SendKeys("#f-code2", oathHOTP(t, seed, 21)),
		chromedp.SendKeys("#f-code3", oathHOTP(t, seed, 22)), chromedp.Click("#resync"))
	success("resync", "resynced", "resynchronized")
	check("user-devices")
	if got := passcode("dana", oathHOTP(t, seed, 23)); got != "allow" {
		t.Errorf("passcode after the resync = %q, want allow", got)
	}

	// Delete dana: the confirmation names the token; it is unassigned.
	browsertest.Do(t, ctx, chromedp.Click("#delete-user"), chromedp.WaitVisible("#confirm-delete"))
	if got := text("#delete-effects"); !strings.Contains(got, "HW-300") || !strings.Contains(got, "2 phones") {
		t.Errorf("delete confirmation: %q", got)
	}
	check("user-delete")
	browsertest.Do(t, ctx, chromedp.Click("#confirm-delete"))
	success("delete", "deleted", "The user is deleted")
	if _, _, err := a.run("user", "show", "dana"); err == nil {
		t.Error("dana still exists")
	}
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/tokens"), chromedp.WaitVisible("table.tokens"))
	if got := text("table.tokens tbody"); !strings.Contains(got, "HW-300") || !strings.Contains(got, "nobody") {
		t.Errorf("tokens after the delete: %q", got)
	}
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/logs/admin"), chromedp.WaitVisible("table.adminlog"))
	got := text("table.adminlog")
	for _, act := range []string{"user_create", "user_update", "phone_create", "user_phone_associate", "phone_send_sms_activation",
		"phone_activation_url", "token_attach", "token_resync", "user_delete"} {
		if !strings.Contains(got, act) {
			t.Errorf("the administrator log lacks %s", act)
		}
	}
}
