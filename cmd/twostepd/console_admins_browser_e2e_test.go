package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	duoapi "github.com/duosecurity/duo_api_golang"

	"github.com/twostep-auth/twostep/internal/web/browsertest"
)

// TestBrowserConsoleAdmins is issue 13's administrators' lifecycle,
// integrations and outbox pages, against a real twostepd (outbox
// carrier) over real TLS in real headless Chromium, with two browser
// profiles (the Owner, the invitee):
//   - the Owner invites an administrator (link shown, and emailed to the
//     outbox); the invitee activates the link, signs in and sets up an
//     authenticator;
//   - the Owner changes their role (the invitee's navigation follows),
//     resets their lost authenticator (the invitee's session ends and
//     their next sign-in sets up a new one), disables them (sign-in
//     refused) and deletes them after a confirmation;
//   - the Owner creates an integration, sees its secret once and uses it
//     with Duo's Go client for a signed /auth/v2/check; deleted, its keys
//     stop working;
//   - the outbox page shows the SMS an Auth API login sent.
//
// axe-core runs on every new page; with TWOSTEP_UPDATE_SCREENSHOTS=1 the
// administrator, integrations, secret and outbox pages are written to
// docs/screenshots/console-*.png.
func TestBrowserConsoleAdmins(t *testing.T) {
	oathtool := needProgram(t, "oathtool", "oathtool")
	in := startServe(t, func(k string) string {
		return map[string]string{"TWOSTEP_ORGANIZATION": "Example Corp"}[k]
	})
	a := adminE2E{t, in}
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	tr := func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = pool }
	authAPI := duoapi.NewDuoApi(creds.AuthAPI.IKey, creds.AuthAPI.SKey, creds.APIHost, "twostep-e2e", duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(tr))

	conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	owner := browsertest.New(t, browsertest.TrustCertificate(leaf), browsertest.WindowSize(1100, 900), browsertest.Timeout(4*time.Minute))
	// The invitee: another profile (own cookies) of the same browser.
	invitee, cancel := chromedp.NewContext(owner, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	base := "https://" + in.addr
	textOf := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	waitFor := func(ctx context.Context, js string) {
		t.Helper()
		var ok bool
		var err error
		for i := 0; i < 5 && !ok; i++ { // a poll interrupted by the navigation it waits for is repeated
			ok, err = chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second)))
		}
		if !ok {
			t.Fatalf("waiting for %s: %v", js, err)
		}
	}
	check := func(name string) {
		t.Helper()
		browsertest.CheckA11y(t, owner)
		if name != "" {
			browsertest.Screenshot(t, owner, "console-"+name)
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
	// enrol signs ctx in with a password whose next step is setting up
	// the authenticator, and sets it up.
	enrol := func(ctx context.Context, email, password string) {
		t.Helper()
		browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible("#f-email"),
			chromedp.SendKeys("#f-email", email), chromedp.SendKeys("#f-password", password),
			chromedp.Submit("#f-password"), chromedp.WaitVisible("#totp-key"))
		browsertest.Do(t, ctx, chromedp.SendKeys("#f-code", totp(textOf(ctx, "#totp-key"))), chromedp.Submit("#f-code"))
	}

	// The bootstrap Owner's first sign-in.
	enrol(owner, creds.Owner.Email, creds.Owner.Password)
	const ownerPassword = "the Owner's own passphrase"
	browsertest.Do(t, owner, chromedp.WaitVisible("#f-new_password"), chromedp.SendKeys("#f-new_password", ownerPassword),
		chromedp.SendKeys("#f-confirm_password", ownerPassword), chromedp.Submit("#f-confirm_password"), chromedp.WaitVisible(".stats"))

	// Invite an administrator, by link and email.
	const email, password = "invitee@example.com", "the invitee's passphrase"
	browsertest.Do(t, owner, chromedp.Click(`nav a[href="/console/admins"]`), chromedp.WaitVisible("#invite-submit"),
		chromedp.SendKeys("#f-email", email), chromedp.SetValue("#f-admin_role", "Help Desk"), chromedp.Click("#f-send_email"),
		chromedp.Click("#invite-submit"), chromedp.WaitVisible("#invite-link"))
	link := textOf(owner, "#invite-link")
	if !strings.Contains(link, "/console/activate/") || !strings.Contains(textOf(owner, "#invite-emailed"), "emailed to "+email) {
		t.Fatalf("invitation: link %q, %q", link, textOf(owner, "#invite-emailed"))
	}
	// The invitee activates it, signs in and sets up their authenticator.
	browsertest.Do(t, invitee, chromedp.Navigate(link), chromedp.WaitVisible("#f-name"), chromedp.SendKeys("#f-name", "Ivy Invitee"),
		chromedp.SendKeys("#f-password", password), chromedp.SendKeys("#f-password2", password), chromedp.Submit("#f-password2"))
	waitFor(invitee, `!document.querySelector("#f-password2")`)
	enrol(invitee, email, password)
	browsertest.Do(t, invitee, chromedp.WaitVisible(".stats"))
	if !consoleNavHasLink(t, invitee, "/console/logs/auth") {
		t.Error("the Help Desk invitee has no link to the logs")
	}

	// The Owner opens the invitee's page and makes them a User Manager.
	browsertest.Do(t, owner, chromedp.Click(`nav a[href="/console/admins"]`), chromedp.WaitVisible("table"))
	browsertest.Do(t, owner, chromedp.Click(`//table//a[text()="`+email+`"]`), chromedp.WaitVisible("#save-admin"))
	if got := textOf(owner, "#authenticator"); got != "set up" {
		t.Errorf("invitee's authenticator = %q", got)
	}
	check("admin-edit")
	browsertest.Do(t, owner, chromedp.SetValue("#f-role", "User Manager"), chromedp.Click("#save-admin"), chromedp.WaitVisible(".alert-success"))
	browsertest.Do(t, invitee, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(".stats"))
	if consoleNavHasLink(t, invitee, "/console/logs/auth") {
		t.Error("the invitee, now a User Manager, still has the logs link")
	}

	// Their authenticator is lost: reset; their session ends; the next
	// sign-in sets up a new one.
	browsertest.Do(t, owner, chromedp.Click("#reset-authenticator"))
	waitFor(owner, `location.search.includes("done=authenticator") && !!document.querySelector(".alert-success")`)
	if got := textOf(owner, "#authenticator"); got != "not set up" {
		t.Errorf("after the reset: authenticator %q", got)
	}
	browsertest.Do(t, invitee, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#f-email"))
	if got := textOf(invitee, ".alert"); !strings.Contains(got, "session ended") {
		t.Errorf("the invitee's session after the reset: %q", got)
	}
	enrol(invitee, email, password)
	browsertest.Do(t, invitee, chromedp.WaitVisible(".stats"))

	// Disabled: sign-in refused.
	browsertest.Do(t, owner, chromedp.Click("#f-status-disabled"), chromedp.Click("#save-admin"))
	waitFor(owner, `location.search.includes("done=saved") && !!document.querySelector(".alert-success")`)
	browsertest.Do(t, invitee, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#f-email"),
		chromedp.SendKeys("#f-email", email), chromedp.SendKeys("#f-password", password), chromedp.Submit("#f-password"))
	waitFor(invitee, `!document.querySelector("#f-password") && document.readyState === "complete"`)
	if got := textOf(invitee, "main"); !strings.Contains(got, "disabled") {
		t.Errorf("a disabled administrator's sign-in: %q", got)
	}

	// Deleted after a confirmation.
	browsertest.Do(t, owner, chromedp.Click("#delete-admin"), chromedp.WaitVisible("#confirm-delete"))
	check("")
	browsertest.Do(t, owner, chromedp.Click("#confirm-delete"), chromedp.WaitVisible(".alert-success"))
	if got := textOf(owner, "main table"); strings.Contains(got, email) {
		t.Errorf("administrators after delete: %q", got)
	}
	if out := a.ok("admin", "list"); strings.Contains(out, email) {
		t.Errorf("twostepd admin list after delete:\n%s", out)
	}

	// An integration: its secret shown once, used for a signed check.
	browsertest.Do(t, owner, chromedp.Click(`nav a[href="/console/integrations"]`), chromedp.WaitVisible("#create-integration"),
		chromedp.SendKeys("#f-name", "Intranet"), chromedp.SetValue("#f-type", "authapi"), chromedp.Click("#create-integration"),
		chromedp.WaitVisible("#integration-secret"))
	ikey, skey, host := textOf(owner, "#integration-key"), textOf(owner, "#integration-secret"), textOf(owner, "#api-host")
	check("integration-secret")
	checkKeys := func(what string, want int) {
		t.Helper()
		c := duoapi.NewDuoApi(ikey, skey, host, "twostep-e2e", duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(tr))
		resp, body, err := c.SignedCall("GET", "/auth/v2/check", nil)
		if err != nil || resp.StatusCode != want {
			t.Errorf("%s: /auth/v2/check = %v %s, %v; want %d", what, resp, body, err, want)
		}
	}
	checkKeys("new integration", http.StatusOK)
	browsertest.Do(t, owner, chromedp.Click(`a[href="/console/integrations"]`), chromedp.WaitVisible("table.integrations"))
	if got := textOf(owner, "main"); !strings.Contains(got, ikey) || strings.Contains(got, skey) {
		t.Errorf("integrations list: key shown %v, secret shown %v", strings.Contains(got, ikey), strings.Contains(got, skey))
	}
	browsertest.CheckA11y(t, owner)
	browsertest.Screenshot(t, owner, "console-integrations")
	browsertest.Do(t, owner, chromedp.Click(`a[href="/console/integrations/`+ikey+`"]`), chromedp.WaitVisible("#save-integration"))
	browsertest.CheckA11y(t, owner)
	browsertest.Do(t, owner, chromedp.SetValue("#f-greeting", "Welcome to the intranet"), chromedp.Click("#save-integration"),
		chromedp.WaitVisible(".alert-success"), chromedp.Click("#delete-integration"), chromedp.WaitVisible("#confirm-delete"))
	browsertest.CheckA11y(t, owner)
	browsertest.Do(t, owner, chromedp.Click("#confirm-delete"), chromedp.WaitVisible(".alert-success"))
	checkKeys("deleted integration", http.StatusUnauthorized)

	// The outbox page: the SMS a login sent, and the invitation email.
	a.ok("user", "add", "dave")
	a.ok("phone", "add", "dave", "+15555550177")
	_, body, err := authAPI.SignedCall("POST", "/auth/v2/auth", url.Values{"username": {"dave"}, "factor": {"sms"}, "device": {"auto"}})
	var res struct {
		Stat     string `json:"stat"`
		Response struct {
			Status string `json:"status"`
		} `json:"response"`
	}
	if err != nil || json.Unmarshal(body, &res) != nil || res.Response.Status != "sent" {
		t.Fatalf("auth sms: %s, %v", body, err)
	}
	browsertest.Do(t, owner, chromedp.Click(`nav a[href="/console/outbox"]`), chromedp.WaitVisible("table.outbox"))
	first := textOf(owner, "table.outbox tbody tr:first-child")
	if !strings.Contains(first, "SMS") || !strings.Contains(first, "+15555550177") {
		t.Errorf("the newest outbox message = %q", first)
	}
	if got := textOf(owner, "table.outbox"); !strings.Contains(got, email) || !strings.Contains(got, link) {
		t.Errorf("the outbox lacks the invitation email")
	}
	browsertest.CheckA11y(t, owner)
	browsertest.Screenshot(t, owner, "console-outbox")
}

// consoleNavHasLink reports whether the page has a navigation link to path.
func consoleNavHasLink(t *testing.T, ctx context.Context, path string) bool {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="`+path+`"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}
