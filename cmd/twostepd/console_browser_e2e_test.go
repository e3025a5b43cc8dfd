package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/csv"
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

// TestBrowserConsole is issue 13's "Done when" for what the console does
// today, against a real twostepd over real TLS in real headless Chromium:
//   - the bootstrap Owner's first sign-in: password from the credentials
//     file, the authenticator set up from the page's key with a code
//     computed independently (oathtool --totp), the generated password
//     replaced, then the dashboard;
//   - user search; unlocking a user locked out through the Auth API;
//   - bypass codes generated in the console log in through the Auth API
//     (Duo's Go client);
//   - a hardware token removed as lost: its next passcode is refused.
//
// axe-core runs on every page; with TWOSTEP_UPDATE_SCREENSHOTS=1 each page
// is written to docs/screenshots/console-*.png.
func TestBrowserConsole(t *testing.T) {
	oathtool := needProgram(t, "oathtool", "oathtool")
	in := startServe(t, func(k string) string {
		return map[string]string{"TWOSTEP_ORGANIZATION": "Example Corp"}[k]
	})
	a := adminE2E{t, in}
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	tr := func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = pool }
	adminAPI := duoapi.NewDuoApi(creds.AdminAPI.IKey, creds.AdminAPI.SKey, creds.APIHost, "twostep-e2e", duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(tr))
	authAPI := duoapi.NewDuoApi(creds.AuthAPI.IKey, creds.AuthAPI.SKey, creds.APIHost, "twostep-e2e", duoapi.SetTimeout(10*time.Second), duoapi.SetTransport(tr))
	if _, body, err := adminAPI.SignedCall("POST", "/admin/v1/settings", url.Values{"lockout_threshold": {"3"}}); err != nil ||
		!strings.Contains(string(body), `"stat":"OK"`) {
		t.Fatalf("settings: %s, %v", body, err)
	}
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

	// alice and bob, each with an h6 token (codes by oathtool).
	seed := make([]byte, 20)
	rand.Read(seed)
	file := filepath.Join(t.TempDir(), "tokens.csv")
	for i, u := range []string{"alice", "bob"} {
		a.ok("user", "add", u, "--realname", strings.ToUpper(u[:1])+u[1:]+" Example", "--email", u+"@example.com")
		os.WriteFile(file, []byte("serial,secret,counter\nHW-10"+string(rune('0'+i))+","+hex.EncodeToString(seed)+",0\n"), 0o600)
		a.ok("token", "import", file, "--type", "h6", "--assign", u)
	}
	if got := passcode("alice", oathHOTP(t, seed, 0)); got != "allow" {
		t.Fatalf("alice's first token passcode = %q, want allow", got)
	}
	for i := range 3 {
		if got := passcode("bob", "000000"); got != "deny" {
			t.Fatalf("bob's wrong passcode %d = %q, want deny", i, got)
		}
	}
	if out := a.ok("user", "show", "bob"); !strings.Contains(out, "locked") {
		t.Fatalf("bob after 3 wrong passcodes:\n%s", out)
	}

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
	waitFor := func(js string) {
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

	// First sign-in of the bootstrap Owner.
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible("#f-email"))
	check("login")
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-email", creds.Owner.Email), chromedp.SendKeys("#f-password", creds.Owner.Password),
		chromedp.Submit("#f-password"), chromedp.WaitVisible("#totp-key"))
	if h1 := text("h1"); h1 != "Set up your authenticator app" {
		t.Fatalf("after the password: h1 %q", h1)
	}
	check("enroll")
	key := text("#totp-key")
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-code", totp(key)), chromedp.Submit("#f-code"), chromedp.WaitVisible("#f-new_password"))
	check("password")
	const newPassword = "the Owner's own passphrase"
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-new_password", newPassword), chromedp.SendKeys("#f-confirm_password", newPassword),
		chromedp.Submit("#f-confirm_password"), chromedp.WaitVisible(".stats"))
	if h1 := text("h1"); h1 != "Dashboard" {
		t.Fatalf("after the new password: h1 %q", h1)
	}
	if got := text(".stats"); !strings.Contains(got, "2 users") && !strings.Contains(got, "2\nusers") && !strings.Contains(got, "2 users") {
		t.Logf("stats: %q", got)
	}
	check("dashboard")

	// Search, then unlock bob.
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/users"]`), chromedp.WaitVisible("#f-q"),
		chromedp.SendKeys("#f-q", "BOB@example"), chromedp.Submit("#f-q"))
	waitFor(`location.search.includes("q=") && !!document.querySelector("table.users")`)
	if got := text("table.users tbody"); !strings.Contains(got, "bob") || strings.Contains(got, "alice") {
		t.Fatalf("search results = %q", got)
	}
	check("users")
	browsertest.Do(t, ctx, chromedp.Click(`table.users tbody a`), chromedp.WaitVisible("#user-status"))
	if got := text("#user-status"); !strings.Contains(got, "locked") {
		t.Fatalf("bob's status = %q", got)
	}
	check("user-locked")
	browsertest.Do(t, ctx, chromedp.Click("#unlock"), chromedp.WaitVisible(".alert-success"))
	if got := text("#user-status"); !strings.Contains(got, "active") {
		t.Errorf("after unlock: status %q", got)
	}
	if got := passcode("bob", oathHOTP(t, seed, 0)); got != "allow" {
		t.Errorf("bob after unlock = %q, want allow", got)
	}

	// Bypass codes for alice, used through the Auth API.
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/users?q=alice"), chromedp.WaitVisible("table.users"),
		chromedp.Click(`table.users tbody a`), chromedp.WaitVisible("#bypass"))
	check("user")
	browsertest.Do(t, ctx, chromedp.Click("#bypass"), chromedp.WaitVisible("#f-count"))
	check("bypass")
	browsertest.Do(t, ctx, chromedp.SetValue("#f-count", "2"), chromedp.Click("#generate"), chromedp.WaitVisible("#bypass-codes"))
	check("bypass-codes")
	codes := strings.Fields(strings.ReplaceAll(text("#bypass-codes"), "·", " "))
	if len(codes) != 2 {
		t.Fatalf("codes shown = %q", codes)
	}
	if got := passcode("alice", codes[0]); got != "allow" {
		t.Errorf("bypass code = %q, want allow", got)
	}
	if got := passcode("alice", codes[0]); got != "deny" {
		t.Errorf("bypass code used twice (one use) = %q, want deny", got)
	}

	// Alice's token is lost: removed, its next passcode is refused.
	browsertest.Do(t, ctx, chromedp.Navigate(base+"/console/users?q=alice"), chromedp.WaitVisible("table.users"),
		chromedp.Click(`table.users tbody a`), chromedp.WaitVisible(".device"),
		chromedp.Click(`.device a[href*="/tokens/"]`), chromedp.WaitVisible("#confirm-remove"))
	check("remove-device")
	browsertest.Do(t, ctx, chromedp.Click("#confirm-remove"), chromedp.WaitVisible(".alert-success"))
	if got := passcode("alice", oathHOTP(t, seed, 1)); got == "allow" {
		t.Errorf("passcode of the removed token = %q, want refused", got)
	}

	// The authentication log, filtered, and its CSV export fetched by the
	// page's own session and parsed.
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/logs/auth"]`), chromedp.WaitVisible("#f-user"),
		chromedp.SendKeys("#f-user", "alice"), chromedp.Submit("#f-user"))
	waitFor(`location.search.includes("user=alice") && !!document.querySelector("#csv")`)
	check("authlog")
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const x = new XMLHttpRequest();
		x.open("GET", document.querySelector("#csv").href, false);
		x.send();
		return x.status + "\n" + x.responseText;
	})()`))
	if err != nil || !strings.HasPrefix(raw, "200\n") {
		t.Fatalf("CSV export: %.200q, %v", raw, err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "200\n"))).ReadAll()
	if err != nil || len(rows) < 4 || rows[0][4] != "username" {
		t.Fatalf("CSV: %q, %v", rows, err)
	}
	factors := map[string]int{}
	for _, r := range rows[1:] {
		if r[4] != "alice" {
			t.Errorf("CSV filtered by alice has a row of %q", r[4])
		}
		factors[r[7]+"/"+r[8]]++
	}
	if factors["bypass_code/success"] != 1 || factors["hardware_token/success"] != 1 {
		t.Errorf("CSV factors/results = %v", factors)
	}
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/logs/admin"]`), chromedp.WaitVisible("table.adminlog"))
	if got := text("table.adminlog"); !strings.Contains(got, "bypass") || !strings.Contains(got, "admin_password_change") {
		t.Errorf("administrator log = %q", got)
	}
	check("adminlog")

	// Import a CSV with one bad line: the report names it.
	upload := filepath.Join(t.TempDir(), "upload.csv")
	os.WriteFile(upload, []byte("HW-201,"+hex.EncodeToString(seed)+",0\nHW-202,not-a-hex-seed,0\nHW-203,"+hex.EncodeToString(seed)+",0\n"), 0o600)
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/tokens"]`), chromedp.WaitVisible("#f-file"))
	check("tokens")
	browsertest.Do(t, ctx, chromedp.SetUploadFiles("#f-file", []string{upload}), chromedp.Click("#import"), chromedp.WaitVisible("#import-summary"))
	if got := text("#import-summary"); got != "2 tokens imported, 1 line rejected." {
		t.Errorf("import summary = %q", got)
	}
	if got := text("table.rejected tbody"); !strings.HasPrefix(got, "2") || !strings.Contains(got, "HW-202") {
		t.Errorf("rejected lines = %q", got)
	}
	check("tokens-import")

	// The Owner's administrators page; sign out.
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/admins"]`), chromedp.WaitVisible("table"))
	if got := text("table"); !strings.Contains(got, creds.Owner.Email) {
		t.Errorf("administrators = %q", got)
	}
	check("admins")
	// Invite an administrator: the link shown once, then pending.
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-email", "new.admin@example.com"), chromedp.SetValue("#f-admin_role", "Help Desk"),
		chromedp.Click("#invite-submit"), chromedp.WaitVisible("#invite-link"))
	if got := text("#invite-link"); !strings.Contains(got, "/console/activate/") {
		t.Errorf("invitation link = %q", got)
	}
	check("admin-invite")
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/admins"]`), chromedp.WaitVisible("table.invitations"))
	if got := text("table.invitations"); !strings.Contains(got, "new.admin@example.com") || !strings.Contains(got, "Help Desk") {
		t.Errorf("pending invitations = %q", got)
	}
	// Settings: change the push timeout; the telephony log.
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/settings"]`), chromedp.WaitVisible("#save"))
	check("settings")
	browsertest.Do(t, ctx, chromedp.SetValue("#f-push_timeout_seconds", "45"), chromedp.Click("#save"), chromedp.WaitVisible(".alert-success"))
	if _, body, err := adminAPI.SignedCall("GET", "/admin/v1/settings", nil); err != nil || !strings.Contains(string(body), `"push_timeout_seconds":45`) {
		t.Errorf("settings after saving: %s, %v", body, err)
	}
	browsertest.Do(t, ctx, chromedp.Click(`nav a[href="/console/logs/telephony"]`), chromedp.WaitVisible(".signout button"))
	check("telephonylog")
	browsertest.Do(t, ctx, chromedp.Click(".signout button"), chromedp.WaitVisible("#f-email"))
	if got := text(".alert"); !strings.Contains(got, "signed out") {
		t.Errorf("after sign-out: %q", got)
	}
	// The next sign-in asks for the code, never the set-up again.
	browsertest.Do(t, ctx, chromedp.SendKeys("#f-email", creds.Owner.Email), chromedp.SendKeys("#f-password", newPassword),
		chromedp.Submit("#f-password"), chromedp.WaitVisible("#f-code"))
	if h1 := text("h1"); h1 != "Enter your code" {
		t.Errorf("second sign-in: h1 %q", h1)
	}
	check("code")
}
