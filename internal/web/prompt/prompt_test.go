package prompt_test

import (
	"github.com/PuerkitoBio/goquery"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web/prompt"
)

// TestPasscodeLogin: one device (a token) shows its methods; an incorrect
// passcode and a used one say what to do; the right one completes the
// login, and the id_token's auth_context is the auth-log record of that
// decision (websdk integration, hardware_token).
func TestPasscodeLogin(t *testing.T) {
	f := newFixture(t, nil)
	u := f.user("alice", mfa.StatusActive)
	f.token(u)
	b := f.browser().start("alice")

	resp, doc := b.get(b.prompt)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET prompt = %d: %s", resp.StatusCode, text(doc))
	}
	for sel, want := range map[string]string{
		"h1": "Choose how to log in", ".org": "Example Corp", ".context strong:first-child": "Intranet", ".context span + span strong": "alice",
		".device-label": "Hardware token RFC4226-alice", `button[data-method="passcode"]`: "Enter a Passcode",
	} {
		if got := strings.Join(strings.Fields(doc.Find(sel).First().Text()), " "); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if n := doc.Find(`button[data-method="push"], button[data-method="sms"], #f-remember`).Length(); n != 0 {
		t.Errorf("a token offers push, SMS or remember me (%d elements)", n)
	}
	if h := resp.Header; !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "form-action 'self' https://app.example.com") ||
		h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v", h)
	}
	tokenID := doc.Find(`button[data-method="passcode"]`).AttrOr("value", "")
	resp, doc = b.submit(doc, b.prompt, url.Values{"choice": {tokenID}})
	_, doc = b.follow(resp)
	if got := doc.Find("h1").Text(); got != "Enter a passcode" {
		t.Fatalf("h1 = %q, want the passcode form: %s", got, text(doc))
	}
	if doc.Find("#f-passcode[autofocus][inputmode=numeric][autocomplete=one-time-code]").Length() != 1 {
		t.Errorf("passcode field is not focused, numeric, one-time-code")
	}

	pc := b.prompt + "/passcode"
	formDoc := doc
	_, doc = b.submit(doc, pc, url.Values{"passcode": {"000000"}})
	if got := doc.Find(".field-error").Text(); !strings.Contains(got, "Incorrect passcode. Check it and try again.") {
		t.Errorf("wrong passcode: field error = %q", got)
	}
	if doc.Find(".error-summary[role=alert]").Length() != 1 {
		t.Errorf("no error summary")
	}
	// 755224 is counter 0; 287082 (counter 1) logs in below, after which
	// 755224 is behind the counter: "already used".
	resp, _ = b.submit(doc, pc, url.Values{"passcode": {"359152"}}) // counter 2: allow
	tok := b.finish(resp, "alice")
	if tok.AuthResult.Result != "allow" || tok.PreferredUsername != "alice" || tok.AuthContext.Factor != authflow.LogFactorHardwareToken {
		t.Errorf("token = %+v, want allow for alice with hardware_token", tok)
	}
	logs := f.logs(u.ID)
	if len(logs) != 2 {
		t.Fatalf("auth log has %d records, want 2 (incorrect, allow): %+v", len(logs), logs)
	}
	last := logs[len(logs)-1]
	if last.TxID != tok.AuthContext.Txid || last.IKey != f.In.IKey || last.Result != mfa.ResultSuccess || last.Factor != "hardware_token" {
		t.Errorf("auth log = %+v; auth_context txid %s", last, tok.AuthContext.Txid)
	}

	// A second login in the same browser: a replayed passcode is "already used", with seed 000's hint.
	b2 := f.browser().start("alice")
	_, doc = b2.get(b2.prompt + "/passcode")
	_, doc = b2.submit(doc, b2.prompt+"/passcode", url.Values{"passcode": {"287082"}}) // counter 1: behind now
	if got := doc.Find(".field-error").Text(); !strings.Contains(got, "already used. Open the twostep app and tap refresh") {
		t.Errorf("used passcode: field error = %q", got)
	}
	if n := len(f.logs(u.ID)); n != 3 {
		t.Errorf("auth log has %d records, want 3", n)
	}
	// The completed login replayed: its binding cookie was cleared when
	// the application got its code, so its pages refuse, and nothing
	// reaches the engine.
	resp, _ = b.get(b.prompt)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("completed login's prompt = %d, want 403", resp.StatusCode)
	}
	resp, _ = b.submit(formDoc, pc, url.Values{"passcode": {"969429"}})
	if resp.StatusCode != http.StatusForbidden || len(f.logs(u.ID)) != 3 {
		t.Errorf("passcode on a completed login = %d, log %d records; want 403 and no new record", resp.StatusCode, len(f.logs(u.ID)))
	}
}

// TestLockout: passcode guesses through the prompt count toward the
// lockout exactly as through the Auth API; the attempt that locks the
// account shows the locked-out page, completes the login with deny and
// the application gets access_denied.
func TestLockout(t *testing.T) {
	f := newFixture(t, nil)
	u := f.user("bob", mfa.StatusActive)
	f.token(u)
	b := f.browser().start("bob")
	_, doc := b.get(b.prompt + "/passcode")
	formDoc := doc
	var resp *http.Response
	for i := 0; i < 10; i++ {
		resp, doc = b.submit(doc, b.prompt+"/passcode", url.Values{"passcode": {"000000"}})
		if resp.StatusCode == http.StatusForbidden {
			break
		}
	}
	if resp.StatusCode != http.StatusForbidden || doc.Find("h1").Text() != "Your account is locked" {
		t.Fatalf("after 10 wrong passcodes: %d %s", resp.StatusCode, text(doc))
	}
	if !strings.Contains(text(doc), "contact the service desk, extension 4357") { // web.help_contact
		t.Errorf("locked page does not say whom to contact: %s", text(doc))
	}
	if got, _ := f.Store.GetUser(t.Context(), u.ID); got.Status != mfa.StatusLockedOut {
		t.Errorf("user status = %s, want locked_out", got.Status)
	}
	if n := len(f.logs(u.ID)); n != 10 {
		t.Errorf("auth log has %d records, want 10", n)
	}
	// Completed (deny) but not yet returned: the prompt and its forms send
	// the browser back, and nothing reaches the engine.
	resp, _ = b.get(b.prompt)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Path != "/oauth/v1/authorize/return" {
		t.Errorf("completed login's prompt = %d %v, want 303 to the return path", resp.StatusCode, loc)
	}
	resp, _ = b.submit(formDoc, b.prompt+"/passcode", url.Values{"passcode": {"755224"}})
	if resp.StatusCode != http.StatusSeeOther || len(f.logs(u.ID)) != 10 {
		t.Errorf("passcode on a completed login = %d, %d records; want 303 and none new", resp.StatusCode, len(f.logs(u.ID)))
	}
	ret := doc.Find(`a.button[href^="/oauth/v1/authorize/return"]`).AttrOr("href", "")
	resp, _ = b.get(ret)
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc.Query().Get("error") != "access_denied" {
		t.Errorf("return = %d %v, want access_denied", resp.StatusCode, loc)
	}
	// A new login of the locked-out user: the locked-out page at once.
	b2 := f.browser().start("bob")
	resp, doc = b2.get(b2.prompt)
	if resp.StatusCode != http.StatusForbidden || doc.Find("h1").Text() != "Your account is locked" {
		t.Errorf("locked user's prompt = %d %s", resp.StatusCode, text(doc))
	}
}

// TestPush: several devices, push with live status, cancel back to the
// choice (one user_cancelled record), push approved in the app (one
// duo_push record, the id_token's auth_context).
func TestPush(t *testing.T) {
	f := newFixture(t, func(in *mfa.Integration) { in.TrustedDeviceDays = 7 })
	u := f.user("carol", mfa.StatusActive)
	f.token(u)
	phone, au := f.app(u)
	b := f.browser().start("carol")
	_, doc := b.get(b.prompt)
	if got := doc.Find(".prompt-device").Length(); got != 2 {
		t.Fatalf("%d devices shown, want 2: %s", got, text(doc))
	}
	if !strings.Contains(text(doc), "You have 2 devices") || doc.Find(`label[for=f-remember]`).Text() != "Remember me for 7 days" {
		t.Errorf("device choice: %s", text(doc))
	}
	dev := doc.Find("#device-" + phone.ID)
	for _, m := range []string{"Send Me a Push", "Call Me", "Enter a Passcode", "Text me new codes"} {
		if !strings.Contains(dev.Text(), m) {
			t.Errorf("phone lacks %q: %s", m, dev.Text())
		}
	}
	start := func() string {
		resp, _ := b.submit(doc, b.prompt, url.Values{"choice": {"push " + phone.ID}})
		resp, wdoc := b.follow(resp)
		if resp.StatusCode != http.StatusOK || wdoc.Find("h1").Text() != "Check your phone" ||
			wdoc.Find("#status-text[role=status]").Length() != 1 || wdoc.Find(`script[src="/static/prompt.js"]`).Length() != 1 {
			t.Fatalf("waiting page = %d %s", resp.StatusCode, text(wdoc))
		}
		txs, err := f.Flow.PendingRequests(t.Context(), au, 0)
		if err != nil || len(txs) != 1 {
			t.Fatalf("pending = %+v, %v", txs, err)
		}
		doc = wdoc
		return txs[0].Transaction.ID
	}
	tx := start()
	// Live status: the first poll answers at once.
	resp, _ := b.get(prompt.StatusPath + "?id=" + b.id())
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, _ = b.submit(doc, b.prompt+"/cancel", nil)
	resp, doc = b.follow(resp)
	if got := doc.Find(".alert").Text(); !strings.Contains(got, "You cancelled the login request") {
		t.Errorf("after cancel: %s", text(doc))
	}
	if logs := f.logs(u.ID); len(logs) != 1 || logs[0].Reason != authflow.ReasonUserCancelled || logs[0].TxID != tx {
		t.Errorf("auth log after cancel = %+v", logs)
	}

	tx = start()
	if err := f.Flow.AnswerRequest(t.Context(), au, tx, authflow.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	resp, doc = b.get(prompt.StatusPath + "?id=" + b.id())
	if !strings.Contains(doc.Text(), `"result":"allow"`) {
		t.Errorf("status after approval = %s", doc.Text())
	}
	resp, _ = b.submit(doc0(b), b.prompt+"/check", nil)
	tok := b.finish(resp, "carol")
	if tok.AuthContext.Txid != tx || tok.AuthContext.Factor != authflow.LogFactorPush || tok.AuthResult.Result != "allow" {
		t.Errorf("auth_context = %+v, want txid %s duo_push", tok.AuthContext, tx)
	}
	if logs := f.logs(u.ID); len(logs) != 2 {
		t.Errorf("auth log = %d records, want 2", len(logs))
	}
	// Remember me was not ticked: no cookie, so the next login asks again.
	b.prompt = ""
	b.start("carol")
	if resp, doc := b.get(b.prompt); resp.StatusCode != http.StatusOK || doc.Find("h1").Text() != "Choose how to log in" {
		t.Errorf("second login = %d %s, want the choice again", resp.StatusCode, text(doc))
	}
}

// doc0 is a page of b's login with every form's hidden fields (the
// CSRF token): forms are found by action, which every page shares.
func doc0(b *browser) *goquery.Document {
	b.f.t.Helper()
	csrf := ""
	for _, c := range []string{"/wait", "/passcode", ""} {
		_, doc := b.get(b.prompt + c)
		if v, ok := doc.Find("input[name=csrf_token]").Attr("value"); ok {
			csrf = v
			break
		}
	}
	html := `<main>`
	for _, a := range []string{"", "/passcode", "/check", "/cancel", "/sms", "/leave"} {
		html += `<form action="` + b.prompt + a + `"><input type="hidden" name="csrf_token" value="` + csrf + `"></form>`
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html + `</main>`))
	if err != nil {
		b.f.t.Fatal(err)
	}
	return doc
}

// TestRememberMe: ticking "Remember me for 7 days" sets the cookie, and the
// next login completes at once as remembered_device.
func TestRememberMe(t *testing.T) {
	f := newFixture(t, func(in *mfa.Integration) { in.TrustedDeviceDays = 7 })
	u := f.user("dave", mfa.StatusActive)
	f.token(u)
	b := f.browser().start("dave")
	_, doc := b.get(b.prompt + "/passcode")
	resp, _ := b.submit(doc, b.prompt+"/passcode", url.Values{"passcode": {"755224"}, "remember": {"yes"}})
	var remembered bool
	for _, c := range resp.Cookies() {
		if c.Name == prompt.RememberCookie(f.In.IKey) && c.Secure && c.HttpOnly && c.MaxAge == 7*24*3600 {
			remembered = true
		}
	}
	if !remembered {
		t.Fatalf("no remember cookie: %v", resp.Cookies())
	}
	b.finish(resp, "dave")
	b.start("dave")
	resp, _ = b.get(b.prompt)
	tok := b.finish(resp, "dave")
	if tok.AuthContext.Factor != authflow.LogFactorRemembered || tok.AuthResult.Result != "allow" {
		t.Errorf("remembered login = %+v", tok.AuthContext)
	}
}

// TestRememberMeCapped: an integration remembering devices for 60 days
// under trusted_device_max_days = 14 offers, and sets a cookie for, 14.
func TestRememberMeCapped(t *testing.T) {
	f := newFixture(t, func(in *mfa.Integration) { in.TrustedDeviceDays = 60 })
	if _, err := f.Store.UpdateSettings(t.Context(), func(s *mfa.Settings) error { s.TrustedDeviceMaxDays = 14; return nil }); err != nil {
		t.Fatal(err)
	}
	u := f.user("dave", mfa.StatusActive)
	f.token(u)
	b := f.browser().start("dave")
	_, doc := b.get(b.prompt + "/passcode")
	if got := doc.Find("label[for=f-remember]").Text(); got != "Remember me for 14 days" {
		t.Errorf("remember label = %q, want 14 days", got)
	}
	resp, _ := b.submit(doc, b.prompt+"/passcode", url.Values{"passcode": {"755224"}, "remember": {"yes"}})
	var maxAge int
	for _, c := range resp.Cookies() {
		if c.Name == prompt.RememberCookie(f.In.IKey) {
			maxAge = c.MaxAge
		}
	}
	if maxAge != 14*24*3600 {
		t.Errorf("remember cookie Max-Age = %d, want 14 days (%d)", maxAge, 14*24*3600)
	}
}

// TestNoFactorOutcomes: bypass users and disabled users are decided at
// once (one auth log record each); an unenrolled user is told what to do
// and can go back.
func TestNoFactorOutcomes(t *testing.T) {
	f := newFixture(t, nil)
	byp := f.user("erin", mfa.StatusBypass)
	b := f.browser().start("erin")
	resp, _ := b.get(b.prompt)
	if tok := b.finish(resp, "erin"); tok == nil || tok.AuthResult.Result != "allow" || tok.AuthContext.Reason != authflow.ReasonBypassUser {
		t.Errorf("bypass user: %+v", tok)
	}
	if n := len(f.logs(byp.ID)); n != 1 {
		t.Errorf("bypass user: %d records", n)
	}
	dis := f.user("frank", mfa.StatusDisabled)
	f.token(dis)
	b = f.browser().start("frank")
	resp, _ = b.get(b.prompt)
	if tok := b.finish(resp, "frank"); tok != nil {
		t.Errorf("disabled user got a token")
	}
	if logs := f.logs(dis.ID); len(logs) != 1 || logs[0].Reason != authflow.ReasonUserDisabled {
		t.Errorf("disabled user: %+v", logs)
	}
	f.user("gina", mfa.StatusActive)
	b = f.browser().start("gina")
	resp, doc := b.get(b.prompt)
	if resp.StatusCode != http.StatusOK || doc.Find("h1").Text() != "Set up two-step login first" ||
		doc.Find("ol.steps li").Length() != 3 {
		t.Fatalf("unenrolled: %d %s", resp.StatusCode, text(doc))
	}
	resp, _ = b.submit(doc, b.prompt+"/leave", nil)
	if tok := b.finish(resp, "gina"); tok != nil {
		t.Errorf("unenrolled user got a token")
	}
}

// TestUnenrolledPortalLink: with the portal configured (as twostepd serve
// does), the unenrolled user's page links to it instead of listing steps.
func TestUnenrolledPortalLink(t *testing.T) {
	f := newFixture(t, nil, authflow.WithEnrollPortal("https://localhost/portal/"))
	f.user("gina", mfa.StatusActive)
	b := f.browser().start("gina")
	resp, doc := b.get(b.prompt)
	if a := doc.Find(`a.button[href="https://localhost/portal/"]`); resp.StatusCode != http.StatusOK || a.Length() != 1 ||
		a.Text() != "Set up a device" || doc.Find("ol.steps").Length() != 0 {
		t.Fatalf("unenrolled with a portal: %d %s", resp.StatusCode, text(doc))
	}
}

// TestSMS: "Text me new codes" sends a batch and shows the passcode form
// with the next code's first digit; a code from the text logs in.
func TestSMS(t *testing.T) {
	f := newFixture(t, nil)
	u := f.user("hank", mfa.StatusActive)
	phone, _ := f.app(u)
	b := f.browser().start("hank")
	_, doc := b.get(b.prompt)
	resp, _ := b.submit(doc, b.prompt, url.Values{"choice": {"sms " + phone.ID}})
	_, doc = b.follow(resp)
	if got := doc.Find(".alert-success").Text(); !strings.Contains(got, "We sent new passcodes to XXX-XXX-0100. The next passcode starts with 1.") {
		t.Errorf("alert = %q; page %s", got, text(doc))
	}
	if got := doc.Find("#f-passcode-hint").Text(); got != "The next SMS passcode starts with 1." {
		t.Errorf("hint = %q", got)
	}
	if doc.Find(`form[action$="/sms"] button`).Text() != "Text me new codes" {
		t.Errorf("no Text me new codes on the passcode form")
	}
	m, ok, err := f.Outbox.Last(phone.Number)
	if err != nil || !ok {
		t.Fatalf("no SMS: %v", err)
	}
	codes := strings.Fields(string(m.Body))
	resp, _ = b.submit(doc, b.prompt+"/passcode", url.Values{"passcode": {codes[len(codes)-10]}})
	if tok := b.finish(resp, "hank"); tok == nil || tok.AuthContext.Factor != authflow.LogFactorSMS {
		t.Errorf("SMS passcode login: %+v", tok)
	}
}

// TestAttacks: every prompt route refuses what it must.
func TestAttacks(t *testing.T) {
	f := newFixture(t, nil)
	u := f.user("ivan", mfa.StatusActive)
	f.token(u)
	phone, _ := f.app(u)
	b := f.browser().start("ivan")
	_, doc := b.get(b.prompt)
	_, pdoc := b.get(b.prompt + "/passcode")

	t.Run("no binding cookie", func(t *testing.T) {
		other := f.browser()
		resp, doc := other.get(b.prompt)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(text(doc), "another browser") {
			t.Errorf("= %d %s", resp.StatusCode, text(doc))
		}
	})
	t.Run("foreign binding cookie", func(t *testing.T) {
		other := f.browser().start("ivan") // its own login's cookie, presented for b's login
		u, _ := url.Parse("https://" + f.Host + "/")
		var val string
		for _, c := range other.c.Jar.Cookies(u) {
			if c.Name == mfa.LoginBindingCookie(other.id()) {
				val = c.Value
			}
		}
		other.c.Jar.SetCookies(u, []*http.Cookie{{Name: mfa.LoginBindingCookie(b.id()), Value: val, Path: "/"}})
		resp, _ := other.get(b.prompt)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("= %d, want 403", resp.StatusCode)
		}
	})
	t.Run("missing CSRF token", func(t *testing.T) {
		resp, _ := b.do("POST", b.prompt+"/passcode", url.Values{"passcode": {"755224"}}, nil)
		if resp.StatusCode != http.StatusForbidden || len(f.logs(u.ID)) != 0 {
			t.Errorf("= %d, want 403 and nothing logged", resp.StatusCode)
		}
	})
	t.Run("cross-site POST", func(t *testing.T) {
		csrf := doc.Find("input[name=csrf_token]").AttrOr("value", "")
		resp, _ := b.do("POST", b.prompt+"/passcode", url.Values{"passcode": {"755224"}, "csrf_token": {csrf}},
			http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
		if resp.StatusCode != http.StatusForbidden || len(f.logs(u.ID)) != 0 {
			t.Errorf("= %d, want 403 and nothing logged", resp.StatusCode)
		}
	})
	t.Run("oversized form", func(t *testing.T) {
		resp, _ := b.submit(pdoc, b.prompt+"/passcode", url.Values{"passcode": {strings.Repeat("1", 8<<10)}})
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("= %d, want 413", resp.StatusCode)
		}
	})
	t.Run("framing", func(t *testing.T) {
		resp, _ := b.get(b.prompt)
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("headers = %v", resp.Header)
		}
	})
	t.Run("unknown device", func(t *testing.T) {
		resp, doc := b.submit(doc, b.prompt, url.Values{"choice": {"push DPXXXXXXXXXXXXXXXXXX"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find(".alert-error").Text(), "cannot do this") {
			t.Errorf("= %d %s", resp.StatusCode, text(doc))
		}
	})
	t.Run("txid of another login", func(t *testing.T) {
		// A push pending for login A; login B in the same browser has none:
		// its check, cancel and status know nothing of A's txid, and a
		// txid in the form is ignored.
		resp, _ := b.submit(doc, b.prompt, url.Values{"choice": {"push " + phone.ID}})
		if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc.Path, "/wait") {
			t.Fatalf("push = %d %v", resp.StatusCode, loc)
		}
		other := &browser{f: f, c: b.c}
		other.start("ivan")
		resp, _ = other.submit(doc0(other), other.prompt+"/check", url.Values{"txid": {"ignored"}})
		resp, odoc := other.follow(resp)
		if !strings.Contains(odoc.Find(".alert").Text(), "There is no login request waiting") {
			t.Errorf("check of login B = %s", text(odoc))
		}
		resp, _ = other.get(prompt.StatusPath + "?id=" + other.id())
		if resp.StatusCode != http.StatusConflict {
			t.Errorf("status of login B = %d, want 409", resp.StatusCode)
		}
		if n := len(f.logs(u.ID)); n != 0 {
			t.Errorf("%d records, want none", n)
		}
	})
	t.Run("expired login", func(t *testing.T) {
		f.Advance(11 * time.Minute)
		defer f.Advance(-11 * time.Minute)
		resp, doc := b.get(b.prompt)
		if resp.StatusCode != http.StatusGone || doc.Find("h1").Text() != "This login has ended" {
			t.Errorf("= %d %s", resp.StatusCode, text(doc))
		}
		resp, _ = b.submit(pdoc, b.prompt+"/passcode", url.Values{"passcode": {"755224"}})
		if resp.StatusCode != http.StatusGone || len(f.logs(u.ID)) != 0 {
			t.Errorf("passcode on an expired login = %d, %d records", resp.StatusCode, len(f.logs(u.ID)))
		}
	})
	t.Run("unknown login", func(t *testing.T) {
		resp, _ := b.get("/frame/prompt/nosuchlogin")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("= %d, want 404", resp.StatusCode)
		}
	})
}
