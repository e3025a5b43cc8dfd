package console_test

import (
	"bytes"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// TestUsers: search by each detail with paging, the user page, one-click
// unlock, removing a lost device (and not another user's).
func TestUsers(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, aphone := f.user("alice", mfa.StatusActive)
	bob, _ := f.user("bob", mfa.StatusLockedOut)
	b := f.browser()
	b.signIn(f.Help)
	for _, tt := range []struct{ q, want string }{
		{"ALI", "alice"}, {"bob@example", "bob"}, {"Alice Ex", "alice"}, {aphone.Number[2:8], ""}, {"nobody", ""},
	} {
		doc := b.page("/console/users?q="+url.QueryEscape(tt.q), 200)
		rows := doc.Find("table.users tbody tr")
		switch {
		case tt.want == "" && tt.q == "nobody":
			if rows.Length() != 0 || doc.Find(".empty").Length() != 1 {
				t.Errorf("search %q: %d rows, want the empty state", tt.q, rows.Length())
			}
		case tt.want == "":
			if rows.Length() < 1 {
				t.Errorf("search %q (phone digits): no rows", tt.q)
			}
		default:
			if rows.Length() != 1 || strings.TrimSpace(rows.Find("td a").Text()) != tt.want {
				t.Errorf("search %q: %d rows (%q), want %s", tt.q, rows.Length(), rows.Text(), tt.want)
			}
		}
	}
	for i := range 30 {
		f.user("user"+string(rune('a'+i%26))+string(rune('a'+i/26)), mfa.StatusActive)
	}
	doc := b.page("/console/users", 200)
	if n := doc.Find("table.users tbody tr").Length(); n != 25 || doc.Find(`a[rel="next"]`).Length() != 1 {
		t.Errorf("first page: %d rows, next link %d", n, doc.Find(`a[rel="next"]`).Length())
	}
	next, _ := doc.Find(`a[rel="next"]`).Attr("href")
	if n := b.page(next, 200).Find("table.users tbody tr").Length(); n != 7 {
		t.Errorf("second page: %d rows, want 7", n)
	}

	// The user page and one-click unlock.
	doc = b.page("/console/users/"+bob.ID, 200)
	if !strings.Contains(doc.Find("#user-status").Text(), "locked") || doc.Find("#unlock").Length() != 1 {
		t.Fatalf("bob's page: status %q, unlock button %d", doc.Find("#user-status").Text(), doc.Find("#unlock").Length())
	}
	resp, body := b.post("/console/users/"+bob.ID, "/console/users/"+bob.ID+"/unlock", nil)
	wantRedirect(t, "unlock", resp, body, "/console/users/"+bob.ID+"?done=unlocked")
	if u, _ := f.Store.GetUser(ctx, bob.ID); u.Status != mfa.StatusActive || u.FailedAttempts != 0 {
		t.Errorf("after unlock: %s, %d failures", u.Status, u.FailedAttempts)
	}
	if b.page("/console/users/"+bob.ID, 200).Find("#unlock").Length() != 0 {
		t.Error("an active user still has an unlock button")
	}

	// Removing a lost device: confirmation, then it no longer belongs to alice.
	removePath := "/console/users/" + alice.ID + "/phones/" + aphone.ID + "/remove"
	if b.page("/console/users/"+alice.ID, 200).Find(`a[href="`+removePath+`"]`).Length() != 1 {
		t.Fatal("no remove link on alice's device")
	}
	// Another user's id with alice's phone: not found, nothing changed.
	resp, _ = b.post(removePath, "/console/users/"+bob.ID+"/phones/"+aphone.ID+"/remove", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("removing alice's phone through bob = %d, want 404", resp.StatusCode)
	}
	resp, body = b.post(removePath, removePath, nil)
	wantRedirect(t, "remove", resp, body, "/console/users/"+alice.ID+"?done=removed")
	if phones, _ := f.Store.UserPhones(ctx, alice.ID); len(phones) != 0 {
		t.Errorf("alice still has %d phones", len(phones))
	}
}

// TestBypassCodes: defaults one code, one use, one hour; shown once with
// copy and print; stored as metadata; a Help Desk refused by the setting
// sees no button and gets 403.
func TestBypassCodes(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, _ := f.user("alice", mfa.StatusActive)
	b := f.browser()
	b.signIn(f.Help)
	path := "/console/users/" + alice.ID + "/bypass"
	doc := b.page(path, 200)
	for name, want := range map[string]string{"count": "1", "uses": "1", "hours": "1"} {
		if v, _ := doc.Find("#f-" + name).Attr("value"); v != want {
			t.Errorf("default %s = %q, want %q", name, v, want)
		}
	}
	resp, body := b.post(path, path, url.Values{"count": {"11"}, "uses": {"1"}, "hours": {"1"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "from 1 to 10") {
		t.Errorf("11 codes = %d", resp.StatusCode)
	}
	resp, body = b.post(path, path, url.Values{"count": {"3"}, "uses": {"2"}, "hours": {"4"}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("generate = %d, cache %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	doc = parse(t, body)
	codes := doc.Find("#bypass-codes .code")
	if codes.Length() != 3 || doc.Find(`[data-copy="bypass-codes"]`).Length() != 1 || doc.Find("[data-print]").Length() != 1 ||
		doc.Find(`script[src="/static/twostep.js"]`).Length() != 1 {
		t.Fatalf("codes page: %d codes, copy/print/script missing?", codes.Length())
	}
	info, total, err := f.Store.ListBypassCodes(ctx, mfa.BypassFilter{UserID: alice.ID})
	if err != nil || total != 3 || info[0].UsesLeft != 2 || info[0].Expires.Sub(f.now()).Round(time.Minute) != 4*time.Hour {
		t.Errorf("stored codes: %d, %+v, %v", total, info, err)
	}
	// The user page shows metadata, never a code.
	userPage := b.page("/console/users/"+alice.ID, 200).Text()
	if strings.Contains(userPage, codes.First().Text()) || !strings.Contains(userPage, "help@example.com") {
		t.Error("the user page shows a code, or not who created them")
	}

	// The setting refuses the Help Desk.
	st, _ := f.Store.GetSettings(ctx)
	st.HelpDeskCanSendBypass = false
	if err := f.Store.PutSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	if b.page("/console/users/"+alice.ID, 200).Find("#bypass").Length() != 0 {
		t.Error("a refused Help Desk still sees the button")
	}
	if resp, _ := b.do("GET", path, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET bypass form refused = %d, want 403", resp.StatusCode)
	}
	tok := b.csrf("/console/users/" + alice.ID)
	resp, _ = b.do("POST", path, url.Values{"count": {"1"}, "uses": {"1"}, "hours": {"1"}, web.CSRFField: {tok}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST bypass refused = %d, want 403", resp.StatusCode)
	}
	if _, total, _ := f.Store.ListBypassCodes(ctx, mfa.BypassFilter{UserID: alice.ID}); total != 3 {
		t.Errorf("a refused POST changed the codes: %d", total)
	}
}

// ownerPages are the pages only an Owner sees.
var ownerPages = []string{"/console/admins", "/console/settings"}

// TestRoles: a Help Desk operator sees no Owner page, and every
// Owner-only POST answers 403 with nothing changed.
func TestRoles(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.Store.CountAdminFailure(ctx, f.Owner.ID, 0, f.now()); err != nil {
		t.Fatal(err)
	}
	h := f.browser()
	h.signIn(f.Help)
	doc := h.page("/console/", 200)
	for _, owner := range ownerPages {
		if doc.Find(`nav a[href="`+owner+`"]`).Length() != 0 {
			t.Errorf("the Help Desk sees the link to %s", owner)
		}
		if resp := mustDo(h, "GET", owner); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as Help Desk = %d, want 403", owner, resp.StatusCode)
		}
	}
	settingsBefore, _ := f.Store.GetSettings(ctx)
	inv := f.invitation("pending@example.com", mfa.RoleReadOnly)
	tok := h.csrf("/console/")
	for _, p := range []string{"/console/admins/" + f.Owner.ID + "/reset", "/console/settings", "/console/admins/invite",
		"/console/admins/invitations/" + inv.ID + "/withdraw"} {
		resp, _ := h.do("POST", p, url.Values{web.CSRFField: {tok}, "email": {"new@example.com"}, "admin_role": {"Help Desk"}, "valid_days": {"3"},
			"lockout_threshold": {"1"}, "lockout_expire_duration": {"0"},
			"push_timeout_seconds": {"15"}, "trusted_device_max_days": {"1"}, "self_service_bypass_minutes": {"1"},
			"helpdesk_bypass": {"allow"}, "self_service_bypass": {"on"}, "self_service_bypass_check": {"pin"},
			"webauthn_attestation": {"none"}, "webauthn_user_verification": {"required"}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as Help Desk = %d, want 403", p, resp.StatusCode)
		}
	}
	if o, _ := f.Store.GetAdmin(ctx, f.Owner.ID); o.FailedLogins != 1 {
		t.Errorf("a refused reset changed the Owner: %d failures", o.FailedLogins)
	}
	if s, _ := f.Store.GetSettings(ctx); s.LockoutThreshold != settingsBefore.LockoutThreshold || s.PushTimeout != settingsBefore.PushTimeout ||
		s.WebAuthnUserVerification != settingsBefore.WebAuthnUserVerification {
		t.Errorf("a refused settings POST changed the settings: %+v", s)
	}
	if list := f.invitations(); len(list) != 1 || list[0].ID != inv.ID {
		t.Errorf("refused invitation POSTs changed the invitations: %+v", list)
	}
	o := f.browser()
	o.signIn(f.Owner)
	odoc := o.page("/console/", 200)
	for _, owner := range ownerPages {
		if odoc.Find(`nav a[href="`+owner+`"]`).Length() != 1 {
			t.Errorf("the Owner does not see the link to %s", owner)
		}
		o.page(owner, 200)
	}
}

// ownerPosts are the Owner's form posts the attack tests send.
var ownerPosts = []string{"/console/settings", "/console/admins/invite"}

// TestAttacks: CSRF, cross-origin, oversized bodies, signed-out POSTs.
func TestAttacks(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.user("alice", mfa.StatusLockedOut)
	b := f.browser()
	b.signIn(f.Owner)
	unlock := "/console/users/" + alice.ID + "/unlock"
	resp, _ := b.do("POST", unlock, url.Values{}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without a CSRF token = %d, want 403", resp.StatusCode)
	}
	tok := b.csrf("/console/")
	resp, _ = b.do("POST", unlock, url.Values{web.CSRFField: {tok}}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", resp.StatusCode)
	}
	if u, _ := f.Store.GetUser(t.Context(), alice.ID); u.Status != mfa.StatusLockedOut {
		t.Error("a refused POST unlocked the user")
	}
	// The Owner's forms refuse a POST without the CSRF token, and a body
	// over 8 KiB, with nothing changed.
	before, _ := f.Store.GetSettings(t.Context())
	for _, p := range ownerPosts {
		if resp, _ := b.do("POST", p, url.Values{"lockout_threshold": {"1"}, "email": {"x@example.com"}, "admin_role": {"Read-only"}, "valid_days": {"3"}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token = %d, want 403", p, resp.StatusCode)
		}
		if resp, _ := b.do("POST", p, url.Values{web.CSRFField: {tok}, "lockout_threshold": {"1"}, "x": {strings.Repeat("a", 9000)}}, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized POST %s = %d, want 413", p, resp.StatusCode)
		}
	}
	if after, _ := f.Store.GetSettings(t.Context()); after.LockoutThreshold != before.LockoutThreshold {
		t.Error("a refused POST changed the settings")
	}
	if n := len(f.invitations()); n != 0 {
		t.Errorf("refused POSTs created %d invitations", n)
	}
	big := url.Values{web.CSRFField: {tok}, "email": {strings.Repeat("a", 5000)}, "password": {"x"}}
	if resp, _ := b.do("POST", "/console/login", big, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized sign-in = %d, want 413", resp.StatusCode)
	}
	if resp, _ := b.do("POST", unlock, url.Values{web.CSRFField: {tok}, "x": {strings.Repeat("a", 9000)}}, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form = %d, want 413", resp.StatusCode)
	}
	// Signed out: the POST does nothing and goes to the sign-in page.
	anon := f.browser()
	resp, _ = anon.post("/console/login", unlock, nil)
	wantRedirect(t, "signed-out unlock", resp, "", "/console/login")
	if u, _ := f.Store.GetUser(t.Context(), alice.ID); u.Status != mfa.StatusLockedOut {
		t.Error("a signed-out POST unlocked the user")
	}
	// A code form without a checked password goes back to the start.
	resp, _ = anon.post("/console/login", "/console/login/code", url.Values{"code": {"123456"}})
	wantRedirect(t, "code without password", resp, "", "/console/login?ended=1")
	// Framing and caching headers.
	resp = mustDo(b, "GET", "/console/users/"+alice.ID)
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", resp.Header)
	}
}

func parse(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestAuthLog: filters and the CSV export (parsed), formula-safe.
func TestAuthLog(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, _ := f.user("alice", mfa.StatusActive)
	bob, _ := f.user("bob", mfa.StatusActive)
	for i, e := range []mfa.AuthLogEntry{
		{UserID: alice.ID, Username: "alice", Factor: "passcode", Result: mfa.ResultSuccess, IntegrationName: "=HYPERLINK(1)"},
		{UserID: bob.ID, Username: "bob", Factor: "duo_push", Result: mfa.ResultFraud},
		{UserID: bob.ID, Username: "bob", Factor: "passcode", Result: mfa.ResultFailure},
	} {
		e.TxID, e.Time, e.EventType, e.IKey = "tx"+string(rune('a'+i)), f.now().Add(-time.Duration(i)*time.Minute), "authentication", "DIXXXXXXXXXXXXXXXXXX"
		if err := f.Store.AppendAuthLog(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	b := f.browser()
	b.signIn(f.Help)
	if n := b.page("/console/logs/auth", 200).Find("tbody tr").Length(); n != 3 {
		t.Errorf("unfiltered: %d rows, want 3", n)
	}
	for _, tt := range []struct {
		q    string
		want int
	}{{"user=bob", 2}, {"user=BOB&factor=passcode", 1}, {"result=fraud", 1}, {"user=nobody", 0}, {"app=DIXXXXXXXXXXXXXXXXXX", 3}} {
		if n := b.page("/console/logs/auth?"+tt.q, 200).Find("tbody tr").Length(); n != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.q, n, tt.want)
		}
	}
	if resp := mustDo(b, "GET", "/console/logs/auth?from=yesterday"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad from = %d, want 400", resp.StatusCode)
	}
	href, _ := b.page("/console/logs/auth?user=alice", 200).Find("#csv").Attr("href")
	resp, body := b.do("GET", href, nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "time" || rows[1][4] != "alice" || rows[1][6] != "'=HYPERLINK(1)" {
		t.Errorf("CSV rows = %q, %v", rows, err)
	}
	if doc := b.page("/console/logs/admin", 200); doc.Find("h1").Text() != "Administrator log" {
		t.Error("no administrator log page")
	}
}

// TestTokenImport: a CSV upload with one bad line imports the others and
// reports the bad line with its reason; the Read-only role may not.
func TestTokenImport(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.Help)
	tok := b.csrf("/console/tokens")
	csvFile := "HW-1,3132333435363738393031323334353637383930,0\nHW-2,nothex,0\nHW-3,3132333435363738393031323334353637383930,5\n"
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField(web.CSRFField, tok)
	mw.WriteField("type", "h6")
	fw, _ := mw.CreateFormFile("file", "tokens.csv")
	fw.Write([]byte(csvFile))
	mw.Close()
	req, _ := http.NewRequest("POST", "https://"+f.Host+"/console/tokens/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "https://"+f.Host)
	r, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body.Close()
	body := string(raw)
	doc := parse(t, body)
	if r.StatusCode != 200 || !strings.Contains(doc.Find("#import-summary").Text(), "2 tokens imported, 1 line rejected") {
		t.Fatalf("import = %d, summary %q", r.StatusCode, doc.Find("#import-summary").Text())
	}
	row := doc.Find("table.rejected tbody tr")
	if row.Length() != 1 || !strings.HasPrefix(row.Find("td").First().Text(), "2") || strings.Contains(body, "nothex") {
		t.Errorf("rejected rows: %q (key material echoed: %v)", row.Text(), strings.Contains(body, "nothex"))
	}
	if n := doc.Find("table.tokens tbody tr").Length(); n != 2 {
		t.Errorf("token list: %d rows, want 2", n)
	}
}

// TestSecurityKeys: the user page lists the user's security keys (a
// possibly cloned one flagged); a role that may delete devices removes
// one after a confirmation, a Help Desk (who may not) sees no button and
// gets 403; another user's key through this user is 404; nothing else
// changes.
func TestSecurityKeys(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, _ := f.user("alice", mfa.StatusActive)
	bob, _ := f.user("bob", mfa.StatusActive)
	key := func(u mfa.User, name string, cloned bool) mfa.WebAuthnCredential {
		t.Helper()
		id, _ := mfa.NewID(mfa.PrefixWebAuthn, rand.Reader)
		c := mfa.WebAuthnCredential{ID: id, UserID: u.ID, Name: name, CredentialID: []byte(id), PublicKey: []byte{1, 2, 3},
			Attachment: mfa.AttachmentCrossPlatform, Cloned: cloned, Created: f.now()}
		if err := f.Store.CreateWebAuthnCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	blue := key(alice, "Blue YubiKey", false)
	red := key(alice, "Red key", true)
	bobs := key(bob, "Bob's key", false)
	removePath := "/console/users/" + alice.ID + "/keys/" + blue.ID + "/remove"

	h := f.browser()
	h.signIn(f.Help)
	doc := h.page("/console/users/"+alice.ID, 200)
	if doc.Find("#key-"+blue.ID+" .device-name").Text() != "Blue YubiKey" || !strings.Contains(doc.Find("#key-"+red.ID).Text(), "possibly cloned") {
		t.Errorf("alice's page lacks her keys:\n%s", doc.Find(".devices").Text())
	}
	if doc.Find(`a[href="`+removePath+`"]`).Length() != 0 {
		t.Error("the Help Desk sees a remove button for a security key")
	}
	tok := h.csrf("/console/")
	if resp, _ := h.do("POST", removePath, url.Values{web.CSRFField: {tok}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST remove as Help Desk = %d, want 403", resp.StatusCode)
	}

	o := f.browser()
	o.signIn(f.Owner)
	if o.page("/console/users/"+alice.ID, 200).Find(`a[href="`+removePath+`"]`).Length() != 1 {
		t.Fatal("the Owner has no remove button")
	}
	if !strings.Contains(o.page(removePath, 200).Text(), "Blue YubiKey") {
		t.Error("the confirmation does not name the key")
	}
	// Bob's key through alice: not found, nothing changed.
	resp, _ := o.post(removePath, "/console/users/"+alice.ID+"/keys/"+bobs.ID+"/remove", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("removing bob's key through alice = %d, want 404", resp.StatusCode)
	}
	resp, body := o.post(removePath, removePath, nil)
	wantRedirect(t, "remove key", resp, body, "/console/users/"+alice.ID+"?done=removed")
	for _, c := range []struct {
		id   string
		gone bool
	}{{blue.ID, true}, {red.ID, false}, {bobs.ID, false}} {
		_, err := f.Store.GetWebAuthnCredential(ctx, c.id)
		if gone := errors.Is(err, mfa.ErrNotFound); gone != c.gone {
			t.Errorf("key %s gone = %v (%v), want %v", c.id, gone, err, c.gone)
		}
	}
}
