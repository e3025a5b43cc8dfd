package console_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/web"
)

// sent records the messages the admin service sends.
type sent struct {
	mu   sync.Mutex
	msgs []mfa.Message
}

func (s *sent) Send(_ context.Context, m mfa.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *sent) all() []mfa.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mfa.Message(nil), s.msgs...)
}

// withNotifier gives the fixture's admin service message delivery.
func withNotifier(n mfa.Notifier) func(*server.Deps) {
	return func(d *server.Deps) {
		svc := admin.New(d.Store, d.Now, rand.Reader, slog.New(slog.NewTextHandler(io.Discard, nil)),
			admin.WithPublicHost(publicHost), admin.WithNotifier(n))
		svc.SetPasswordHasher(cheap)
		d.Admin = svc
	}
}

// adminLog is the administrator log as text, one record a line.
func (f *fixture) adminLog() string {
	f.t.Helper()
	entries, err := f.Store.ListAdminLog(f.t.Context(), mfa.LogFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Actor + " " + e.Action + " " + e.ObjectType + " " + e.Object + " " + e.Description + "\n")
	}
	return b.String()
}

// tokenSeed is the seed of the test HOTP tokens.
var tokenSeed = []byte("12345678901234567890")

// token stores an unassigned HOTP token.
func (f *fixture) token(serial string) mfa.Token {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixToken, rand.Reader)
	tk := mfa.Token{ID: id, Type: mfa.TokenH6, Serial: serial, Secret: tokenSeed, Created: f.now()}
	if err := f.Store.CreateToken(f.t.Context(), tk); err != nil {
		f.t.Fatal(err)
	}
	return tk
}

func (f *fixture) phoneCount() int {
	f.t.Helper()
	_, n, err := f.Store.ListPhones(f.t.Context(), mfa.PhoneFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func wantStatus(t *testing.T, what string, resp *http.Response, body string, status int, contains string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, contains) {
		t.Errorf("%s = %d, want %d containing %q:\n%s", what, resp.StatusCode, status, contains, errorText(body))
	}
}

// errorText is the error summary and alerts of a page, for messages.
func errorText(body string) string {
	doc, err := goqueryDoc(body)
	if err != nil {
		return body
	}
	return strings.Join(strings.Fields(doc.Find(".error-summary, .alert, h1").Text()), " ")
}

// TestUserAddEditDelete: an Owner adds a user (bad input and a taken
// username are form errors beside their field, with nothing written),
// edits every field, and deletes the user after a confirmation naming
// what goes with them; each change is in the administrator log.
func TestUserAddEditDelete(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, _ := f.user("alice", mfa.StatusActive)
	b := f.browser()
	b.signIn(f.Owner)
	if b.page("/console/users", 200).Find(`a#add-user[href="/console/users/new"]`).Length() != 1 {
		t.Fatal("no Add a user button on the users page")
	}
	doc := b.page("/console/users/new", 200)
	for _, id := range []string{"f-username", "f-realname", "f-email", "f-alias1", "f-status", "f-notes"} {
		if doc.Find("#"+id).Length() != 1 || doc.Find(`label[for="`+id+`"]`).Length() != 1 {
			t.Errorf("the add form has no labelled #%s", id)
		}
	}
	_, before, _ := f.Store.ListUsers(ctx, mfa.UserFilter{})
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"no username", url.Values{"username": {" "}}, "username", "Username: required"},
		{"taken username", url.Values{"username": {"ALICE"}}, "username", "another user already has this username"},
		{"bad email", url.Values{"username": {"carol"}, "email": {"carol at example"}}, "email", "Email: not an email address"},
		{"alias = username", url.Values{"username": {"carol"}, "alias1": {"Carol"}}, "alias1", "Alias 1: equals the username"},
		{"alias taken", url.Values{"username": {"carol"}, "alias2": {"alice"}}, "aliases", "already a username or alias"},
		{"locked out", url.Values{"username": {"carol"}, "status": {"locked out"}}, "status", "Status:"},
		{"long notes", url.Values{"username": {"carol"}, "notes": {strings.Repeat("n", 2001)}}, "notes", "Notes: longer than"},
	} {
		resp, body := b.post("/console/users/new", "/console/users/new", tt.form)
		wantStatus(t, tt.name, resp, body, http.StatusBadRequest, tt.msg)
		if d := parse(t, body); d.Find(`.error-summary a[href="#f-`+tt.field+`"]`).Length() != 1 || d.Find("#f-"+tt.field).Length() != 1 {
			t.Errorf("%s: the error does not name the field %s", tt.name, tt.field)
		}
	}
	if _, n, _ := f.Store.ListUsers(ctx, mfa.UserFilter{}); n != before {
		t.Fatalf("refused adds created %d users", n-before)
	}
	resp, body := b.post("/console/users/new", "/console/users/new", url.Values{"username": {" carol "}, "realname": {"Carol Jones"},
		"firstname": {"Carol"}, "lastname": {"Jones"}, "email": {"carol@example.com"}, "alias1": {"cjones"}, "status": {"bypass"},
		"notes": {"Contractor\nuntil June"}})
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasSuffix(loc.RequestURI(), "?done=created") {
		t.Fatalf("add = %d %v: %s", resp.StatusCode, loc, errorText(body))
	}
	carol, err := f.Store.GetUserByName(ctx, "cjones")
	if err != nil || carol.Username != "carol" || carol.RealName != "Carol Jones" || carol.Status != mfa.StatusBypass ||
		carol.Email != "carol@example.com" || carol.Notes != "Contractor\nuntil June" || carol.LastName != "Jones" {
		t.Fatalf("stored user = %+v, %v", carol, err)
	}
	page := b.page(loc.RequestURI(), 200)
	if !strings.Contains(page.Find(".alert-success").Text(), "The user is added") || page.Find("#edit-user").Length() != 1 ||
		page.Find("#delete-user").Length() != 1 {
		t.Errorf("carol's page: alert %q, edit %d, delete %d", page.Find(".alert").Text(), page.Find("#edit-user").Length(), page.Find("#delete-user").Length())
	}
	if log := f.adminLog(); !strings.Contains(log, "owner@example.com user_create user "+carol.ID) {
		t.Errorf("no user_create record:\n%s", log)
	}

	// Edit: the form shows the stored values; every field changes.
	edit := "/console/users/" + carol.ID + "/edit"
	doc = b.page(edit, 200)
	for id, want := range map[string]string{"f-username": "carol", "f-realname": "Carol Jones", "f-email": "carol@example.com", "f-alias1": "cjones"} {
		if v, _ := doc.Find("#" + id).Attr("value"); v != want {
			t.Errorf("edit form %s = %q, want %q", id, v, want)
		}
	}
	if v, _ := doc.Find("#f-status option[selected]").Attr("value"); v != "bypass" || doc.Find("#f-notes").Text() != "Contractor\nuntil June" {
		t.Errorf("edit form status %q notes %q", v, doc.Find("#f-notes").Text())
	}
	resp, body = b.post(edit, edit, url.Values{"username": {"alice"}, "status": {"active"}})
	wantStatus(t, "rename to a taken username", resp, body, http.StatusBadRequest, "another user already has this username")
	resp, body = b.post(edit, edit, url.Values{"username": {"carol.jones"}, "realname": {"Carol J. Jones"}, "email": {""},
		"alias1": {""}, "alias2": {"cj"}, "status": {"disabled"}, "notes": {""}})
	wantRedirect(t, "edit", resp, body, "/console/users/"+carol.ID+"?done=saved")
	got, _ := f.Store.GetUser(ctx, carol.ID)
	if got.Username != "carol.jones" || got.RealName != "Carol J. Jones" || got.Email != "" || got.Status != mfa.StatusDisabled ||
		got.Notes != "" || len(got.Aliases) != 1 || got.Aliases[0] != "cj" || got.FirstName != "" {
		t.Errorf("after edit: %+v", got)
	}
	if log := f.adminLog(); !strings.Contains(log, "user_update user "+carol.ID) {
		t.Errorf("no user_update record:\n%s", log)
	}

	// Delete: the confirmation names what goes; the token is unassigned.
	tk := f.token("HW-100")
	if err := f.Store.AttachToken(ctx, carol.ID, tk.ID); err != nil {
		t.Fatal(err)
	}
	del := "/console/users/" + carol.ID + "/delete"
	doc = b.page(del, 200)
	if effects := doc.Find("#delete-effects").Text(); !strings.Contains(effects, "1 hardware token (HW-100): unassigned") {
		t.Errorf("delete confirmation: %q", effects)
	}
	resp, body = b.post(del, del, nil)
	wantRedirect(t, "delete", resp, body, "/console/users?done=deleted")
	if _, err := f.Store.GetUser(ctx, carol.ID); mfa.KindOf(err) != mfa.NotFound {
		t.Errorf("carol after delete: %v", err)
	}
	if tok, err := f.Store.GetToken(ctx, tk.ID); err != nil || tok.Serial != "HW-100" {
		t.Errorf("the token went with the user: %v", err)
	}
	if !strings.Contains(b.page("/console/users?done=deleted", 200).Find(".alert-success").Text(), "deleted") {
		t.Error("no notice after delete")
	}
	if log := f.adminLog(); !strings.Contains(log, "user_delete user "+carol.ID) {
		t.Errorf("no user_delete record:\n%s", log)
	}
	if _, err := f.Store.GetUser(ctx, alice.ID); err != nil {
		t.Errorf("alice: %v", err)
	}
}

// TestUserEditUnknown: every new page and form of an unknown user, or of
// another user's token, is 404 with nothing changed.
func TestUserEditUnknown(t *testing.T) {
	f := newFixture(t)
	alice, aphone := f.user("alice", mfa.StatusActive)
	bob, _ := f.user("bob", mfa.StatusActive)
	tk := f.token("HW-1")
	if err := f.Store.AttachToken(t.Context(), bob.ID, tk.ID); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.signIn(f.Owner)
	const none = "DUNKNOWNUSER00000000"
	for _, p := range []string{"/console/users/" + none + "/edit", "/console/users/" + none + "/delete", "/console/users/" + none + "/phones/new",
		"/console/users/" + none + "/tokens/assign", "/console/users/" + alice.ID + "/tokens/" + tk.ID + "/resync"} {
		if resp := mustDo(b, "GET", p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	tok := b.csrf("/console/")
	logBefore := f.adminLog()
	for _, p := range []string{"/console/users/" + none + "/edit", "/console/users/" + none + "/delete", "/console/users/" + none + "/phones/new",
		"/console/users/" + none + "/enroll", "/console/users/" + none + "/tokens/assign",
		"/console/users/" + alice.ID + "/tokens/" + tk.ID + "/resync",
		"/console/users/" + bob.ID + "/phones/" + aphone.ID + "/activation-sms", "/console/users/" + bob.ID + "/phones/" + aphone.ID + "/activation-qr"} {
		resp, _ := b.do("POST", p, url.Values{web.CSRFField: {tok}, "username": {"x"}, "number": {"+15555550199"}, "type": {"mobile"},
			"token": {tk.ID}, "code1": {"1"}, "code2": {"2"}, "code3": {"3"}}, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", p, resp.StatusCode)
		}
	}
	if after := f.adminLog(); after != logBefore {
		t.Errorf("404 POSTs changed something:\n%s", after)
	}
}

// TestUserEditRoles: Read-only sees none of the new buttons and gets 403
// on every new page and POST with nothing changed; the Help Desk may edit
// users and their devices and send activations, but not add or delete
// users.
func TestUserEditRoles(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ro := f.admin("ro@example.com", mfa.RoleReadOnly, true)
	alice, aphone := f.user("alice", mfa.StatusActive)
	tk := f.token("HW-7")
	mine := f.token("HW-8")
	if err := f.Store.AttachToken(ctx, alice.ID, mine.ID); err != nil {
		t.Fatal(err)
	}
	u := "/console/users/" + alice.ID
	posts := []string{"/console/users/new", u + "/edit", u + "/delete", u + "/enroll", u + "/phones/new", u + "/tokens/assign",
		u + "/tokens/" + mine.ID + "/resync", u + "/phones/" + aphone.ID + "/activation-sms", u + "/phones/" + aphone.ID + "/activation-qr"}
	form := func(tok string) url.Values {
		return url.Values{web.CSRFField: {tok}, "username": {"mallory"}, "status": {"bypass"}, "number": {"+15555550188"}, "type": {"landline"},
			"token": {tk.ID}, "code1": {otp.HOTP(tokenSeed, 3, 6)}, "code2": {otp.HOTP(tokenSeed, 4, 6)}, "code3": {otp.HOTP(tokenSeed, 5, 6)}}
	}
	unchanged := func(who string) {
		t.Helper()
		got, err := f.Store.GetUser(ctx, alice.ID)
		if err != nil || got.Username != "alice" || got.Status != mfa.StatusActive {
			t.Errorf("%s: alice changed: %+v %v", who, got, err)
		}
		if _, err := f.Store.GetUserByName(ctx, "mallory"); mfa.KindOf(err) != mfa.NotFound {
			t.Errorf("%s: a user was created", who)
		}
		if phones, _ := f.Store.UserPhones(ctx, alice.ID); len(phones) != 1 {
			t.Errorf("%s: alice has %d phones", who, len(phones))
		}
		if tokens, _ := f.Store.UserTokens(ctx, alice.ID); len(tokens) != 1 {
			t.Errorf("%s: alice has %d tokens", who, len(tokens))
		}
		if got, _ := f.Store.GetToken(ctx, mine.ID); got.Counter != 0 {
			t.Errorf("%s: the token was resynchronized", who)
		}
	}

	r := f.browser()
	r.signIn(ro)
	if r.page("/console/users", 200).Find("#add-user").Length() != 0 {
		t.Error("Read-only sees Add a user")
	}
	doc := r.page(u, 200)
	for _, sel := range []string{"#edit-user", "#delete-user", "#enroll", "#add-phone", "#assign-token", "#sms-" + aphone.ID, "#qr-" + aphone.ID, "#resync-" + mine.ID} {
		if doc.Find(sel).Length() != 0 {
			t.Errorf("Read-only sees %s", sel)
		}
	}
	for _, p := range []string{"/console/users/new", u + "/edit", u + "/delete", u + "/phones/new", u + "/tokens/assign", u + "/tokens/" + mine.ID + "/resync"} {
		if resp := mustDo(r, "GET", p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as Read-only = %d, want 403", p, resp.StatusCode)
		}
	}
	logBefore := f.adminLog()
	tok := r.csrf("/console/")
	for _, p := range posts {
		if resp, _ := r.do("POST", p, form(tok), nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as Read-only = %d, want 403", p, resp.StatusCode)
		}
	}
	unchanged("Read-only")
	if after := f.adminLog(); after != logBefore {
		t.Errorf("Read-only POSTs were logged:\n%s", after)
	}

	h := f.browser()
	h.signIn(f.Help)
	if h.page("/console/users", 200).Find("#add-user").Length() != 0 {
		t.Error("the Help Desk sees Add a user")
	}
	doc = h.page(u, 200)
	for sel, want := range map[string]int{"#edit-user": 1, "#delete-user": 0, "#enroll": 1, "#add-phone": 1, "#assign-token": 1,
		"#qr-" + aphone.ID: 1, "#sms-" + aphone.ID: 1, "#resync-" + mine.ID: 1} {
		if n := doc.Find(sel).Length(); n != want {
			t.Errorf("Help Desk: %s shown %d times, want %d", sel, n, want)
		}
	}
	for _, p := range []string{"/console/users/new", u + "/delete"} {
		if resp := mustDo(h, "GET", p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as Help Desk = %d, want 403", p, resp.StatusCode)
		}
	}
	tok = h.csrf("/console/")
	for _, p := range []string{"/console/users/new", u + "/delete"} {
		if resp, _ := h.do("POST", p, form(tok), nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as Help Desk = %d, want 403", p, resp.StatusCode)
		}
	}
	unchanged("Help Desk")
	resp, body := h.post(u+"/edit", u+"/edit", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "status": {"bypass"}})
	wantRedirect(t, "edit as Help Desk", resp, body, u+"?done=saved")
	if got, _ := f.Store.GetUser(ctx, alice.ID); got.Status != mfa.StatusBypass {
		t.Errorf("Help Desk edit: status %s", got.Status)
	}
	if !strings.Contains(f.adminLog(), "help@example.com user_update user "+alice.ID) {
		t.Error("the Help Desk's edit is not logged under its name")
	}
}

// TestUserEditAttacks: every new POST refuses a missing or wrong CSRF
// token and a body over 8 KiB, with nothing changed.
func TestUserEditAttacks(t *testing.T) {
	f := newFixture(t)
	alice, aphone := f.user("alice", mfa.StatusActive)
	mine := f.token("HW-8")
	if err := f.Store.AttachToken(t.Context(), alice.ID, mine.ID); err != nil {
		t.Fatal(err)
	}
	free := f.token("HW-9")
	b := f.browser()
	b.signIn(f.Owner)
	tok := b.csrf("/console/")
	u := "/console/users/" + alice.ID
	logBefore := f.adminLog()
	for _, p := range []string{"/console/users/new", u + "/edit", u + "/delete", u + "/enroll", u + "/phones/new", u + "/tokens/assign",
		u + "/tokens/" + mine.ID + "/resync", u + "/phones/" + aphone.ID + "/activation-sms", u + "/phones/" + aphone.ID + "/activation-qr"} {
		form := url.Values{"username": {"mallory"}, "status": {"disabled"}, "number": {"+15555550177"}, "type": {"landline"}, "token": {free.ID}}
		if resp, _ := b.do("POST", p, form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a CSRF token = %d, want 403", p, resp.StatusCode)
		}
		form.Set(web.CSRFField, "wrong"+tok[5:])
		if resp, _ := b.do("POST", p, form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong CSRF token = %d, want 403", p, resp.StatusCode)
		}
		form.Set(web.CSRFField, tok)
		form.Set("notes", strings.Repeat("a", 9000))
		if resp, _ := b.do("POST", p, form, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized POST %s = %d, want 413", p, resp.StatusCode)
		}
	}
	if after := f.adminLog(); after != logBefore {
		t.Errorf("refused POSTs changed something:\n%s", after)
	}
	if got, _ := f.Store.GetUser(t.Context(), alice.ID); got.Status != mfa.StatusActive {
		t.Error("a refused POST changed alice")
	}
	if f.phoneCount() != 1 {
		t.Error("a refused POST added a phone")
	}
}

// TestAddPhone: a landline with an extension and a mobile are created and
// associated in one step (both logged); a landline gets no activation
// buttons; a bad number is a form error with no phone created.
func TestAddPhone(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, _ := f.user("alice", mfa.StatusActive)
	b := f.browser()
	b.signIn(f.Help)
	add := "/console/users/" + alice.ID + "/phones/new"
	doc := b.page(add, 200)
	if doc.Find("#f-type-mobile[checked]").Length() != 1 || doc.Find(`label[for="f-number"]`).Length() != 1 || doc.Find("#f-platform option").Length() != len(admin.Platforms) {
		t.Error("the add-a-phone form lacks its fields")
	}
	before := f.phoneCount()
	for _, tt := range []struct {
		form  url.Values
		field string
		msg   string
	}{
		{url.Values{"type": {"landline"}, "number": {"555-0100"}}, "number", "Phone number: must be an E.164 number"},
		{url.Values{"type": {"landline"}, "number": {""}}, "number", "Phone number: required"},
		{url.Values{"type": {"landline"}, "number": {"+15555550100"}, "extension": {"12a"}}, "extension", "Extension: must be at most 10 digits"},
		{url.Values{"type": {"tablet"}, "number": {"+15555550100"}}, "type", "Type: choose mobile or landline"},
		{url.Values{"type": {"mobile"}, "number": {"+15555550100"}, "platform": {"amiga"}}, "platform", "Platform: must be one of"},
	} {
		resp, body := b.post(add, add, tt.form)
		wantStatus(t, "add phone "+tt.field, resp, body, http.StatusBadRequest, tt.msg)
		if parse(t, body).Find(`.error-summary a[href="#f-`+tt.field+`"]`).Length() != 1 {
			t.Errorf("the error does not name %s", tt.field)
		}
	}
	if n := f.phoneCount(); n != before {
		t.Fatalf("refused adds created %d phones", n-before)
	}
	resp, body := b.post(add, add, url.Values{"type": {"landline"}, "number": {"+1 (555) 555-0142"}, "extension": {"321"},
		"platform": {"apple ios"}, "name": {"Desk phone"}})
	wantRedirect(t, "add landline", resp, body, "/console/users/"+alice.ID+"?done=phone-added")
	phones, _ := f.Store.UserPhones(ctx, alice.ID)
	var desk mfa.Phone
	for _, p := range phones {
		if p.Name == "Desk phone" {
			desk = p
		}
	}
	if desk.Number != "+15555550142" || desk.Type != mfa.PhoneLandline || desk.Extension != "321" || desk.Platform != "unknown" {
		t.Fatalf("stored landline = %+v", desk)
	}
	doc = b.page("/console/users/"+alice.ID, 200)
	if doc.Find("#qr-"+desk.ID).Length() != 0 || doc.Find("#sms-"+desk.ID).Length() != 0 {
		t.Error("a landline has activation buttons")
	}
	log := f.adminLog()
	if !strings.Contains(log, "help@example.com phone_create phone "+desk.ID) || !strings.Contains(log, `user_phone_associate user `+alice.ID+` {"phone_id":"`+desk.ID) {
		t.Errorf("admin log lacks the phone:\n%s", log)
	}
	resp, body = b.post(add, add, url.Values{"type": {"mobile"}, "number": {"+44 20 7946 0958"}, "platform": {"google android"}})
	wantRedirect(t, "add mobile", resp, body, "/console/users/"+alice.ID+"?done=mobile-added")
	if !strings.Contains(b.page("/console/users/"+alice.ID+"?done=mobile-added", 200).Find(".alert-success").Text(), "activation") {
		t.Error("no activation hint after adding a mobile")
	}
}

// TestActivation: without message delivery the SMS and enrollment
// buttons explain why on the user page (not a 500); the QR code is shown
// once, no-store, and logged without its code; a landline is refused;
// with delivery the SMS and the enrollment email go out.
func TestActivation(t *testing.T) {
	f := newFixture(t)
	alice, aphone := f.user("alice", mfa.StatusActive)
	b := f.browser()
	b.signIn(f.Help)
	u := "/console/users/" + alice.ID
	resp, body := b.post(u, u+"/phones/"+aphone.ID+"/activation-sms", nil)
	wantStatus(t, "SMS without delivery", resp, body, http.StatusServiceUnavailable, "no message delivery is configured")
	if parse(t, body).Find("h1").Text() != "alice" {
		t.Error("the notice is not on the user page")
	}
	resp, body = b.post(u, u+"/enroll", nil)
	wantStatus(t, "enroll without delivery", resp, body, http.StatusServiceUnavailable, "no message delivery is configured")

	resp, body = b.post(u, u+"/phones/"+aphone.ID+"/activation-qr", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("QR = %d, cache %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	doc := parse(t, body)
	src, _ := doc.Find("img#activation-qr").Attr("src")
	code, _ := doc.Find("#activation-code").Attr("value")
	href, _ := doc.Find("#activation-link").Attr("href")
	if !strings.HasPrefix(src, "data:image/png;base64,") || code == "" || href != "https://"+publicHost+"/activate/"+code {
		t.Fatalf("QR page: src %.30q, code %q, link %q", src, code, href)
	}
	if _, host, err := admin.ParseActivationCode(code); err != nil || host != publicHost {
		t.Errorf("activation code %q: host %q, %v", code, host, err)
	}
	log := f.adminLog()
	if !strings.Contains(log, "help@example.com phone_activation_url phone "+aphone.ID) || strings.Contains(log, code[:10]) {
		t.Errorf("admin log: no activation record, or it holds the code:\n%s", log)
	}
	// A landline cannot run the app.
	land := mfa.Phone{ID: "DPLANDLINE0000000001", Number: "+15555550111", Type: mfa.PhoneLandline, Created: f.now()}
	if err := f.Store.CreatePhone(t.Context(), land); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.AttachPhone(t.Context(), alice.ID, land.ID); err != nil {
		t.Fatal(err)
	}
	resp, body = b.post(u, u+"/phones/"+land.ID+"/activation-qr", nil)
	wantStatus(t, "QR for a landline", resp, body, http.StatusBadRequest, "A landline cannot run the app")

	// With delivery.
	n := &sent{}
	g := newFixture(t, withNotifier(n))
	bob, bphone := g.user("bob", mfa.StatusActive)
	gb := g.browser()
	gb.signIn(g.Help)
	bu := "/console/users/" + bob.ID
	resp, body = gb.post(bu, bu+"/phones/"+bphone.ID+"/activation-sms", nil)
	wantRedirect(t, "SMS", resp, body, bu+"?done=sms-sent")
	var sms, mail []mfa.Message
	for _, m := range n.all() {
		switch m.Channel {
		case mfa.ChannelSMS:
			sms = append(sms, m)
		case mfa.ChannelEmail:
			mail = append(mail, m)
		}
	}
	if len(sms) != 2 || sms[1].To != bphone.Number || !strings.Contains(string(sms[1].Body), "https://"+publicHost+"/activate/") {
		t.Errorf("SMS sent: %d, %+v", len(sms), sms)
	}
	resp, body = gb.post(bu, bu+"/enroll", nil)
	wantRedirect(t, "enroll", resp, body, bu+"?done=enroll-sent")
	mail = nil
	for _, m := range n.all() {
		if m.Channel == mfa.ChannelEmail && m.Subject == admin.EnrollSubject {
			mail = append(mail, m)
		}
	}
	if len(mail) != 1 || mail[0].To != "bob@example.com" {
		t.Errorf("enrollment emails: %+v", mail)
	}
	if log := g.adminLog(); !strings.Contains(log, "phone_send_sms_activation phone "+bphone.ID) || !strings.Contains(log, "user_enroll user "+bob.ID) {
		t.Errorf("admin log:\n%s", log)
	}
	// A user without an email has no enrollment button, and the POST
	// says why.
	bobUser, _ := g.Store.GetUser(t.Context(), bob.ID)
	bobUser.Email = ""
	if err := g.Store.UpdateUser(t.Context(), bobUser); err != nil {
		t.Fatal(err)
	}
	if gb.page(bu, 200).Find("#enroll").Length() != 0 {
		t.Error("enroll button for a user without email")
	}
	resp, body = gb.post(bu, bu+"/enroll", nil)
	wantStatus(t, "enroll without email", resp, body, http.StatusBadRequest, "no email address")
}

// TestAssignResync: assigning an unassigned token by serial (a missing
// choice or an unknown token is a form error), then resynchronizing it
// with three consecutive codes (wrong ones are a form error); both are
// logged.
func TestAssignResync(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, _ := f.user("alice", mfa.StatusActive)
	bob, _ := f.user("bob", mfa.StatusActive)
	free := f.token("HW-FREE")
	taken := f.token("HW-TAKEN")
	if err := f.Store.AttachToken(ctx, bob.ID, taken.ID); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.signIn(f.Help)
	assign := "/console/users/" + alice.ID + "/tokens/assign"
	doc := b.page(assign, 200)
	if doc.Find(`#f-token option[value="`+free.ID+`"]`).Length() != 1 || doc.Find(`#f-token option[value="`+taken.ID+`"]`).Length() != 0 {
		t.Errorf("assign choices: %q", doc.Find("#f-token").Text())
	}
	resp, body := b.post(assign, assign, url.Values{"token": {""}})
	wantStatus(t, "assign nothing", resp, body, http.StatusBadRequest, "Token: choose a token")
	resp, body = b.post(assign, assign, url.Values{"token": {"DHUNKNOWN00000000000"}})
	wantStatus(t, "assign unknown", resp, body, http.StatusBadRequest, "no such token")
	if tokens, _ := f.Store.UserTokens(ctx, alice.ID); len(tokens) != 0 {
		t.Fatal("a refused assign attached a token")
	}
	resp, body = b.post(assign, assign, url.Values{"token": {free.ID}})
	wantRedirect(t, "assign", resp, body, "/console/users/"+alice.ID+"?done=token-assigned")
	if tokens, _ := f.Store.UserTokens(ctx, alice.ID); len(tokens) != 1 || tokens[0].ID != free.ID {
		t.Fatalf("alice's tokens: %+v", tokens)
	}
	resync := "/console/users/" + alice.ID + "/tokens/" + free.ID + "/resync"
	if b.page("/console/users/"+alice.ID, 200).Find(`a#resync-`+free.ID+`[href="`+resync+`"]`).Length() != 1 {
		t.Fatal("no resync button")
	}
	codes := func(from uint64) url.Values {
		return url.Values{"code1": {otp.HOTP(tokenSeed, from, 6)}, "code2": {otp.HOTP(tokenSeed, from+1, 6)}, "code3": {otp.HOTP(tokenSeed, from+2, 6)}}
	}
	bad := codes(40)
	bad.Set("code2", otp.HOTP(tokenSeed, 43, 6))
	resp, body = b.post(resync, resync, bad)
	wantStatus(t, "resync wrong codes", resp, body, http.StatusBadRequest, "do not match three consecutive codes")
	resp, body = b.post(resync, resync, url.Values{"code1": {"12"}, "code2": {"1"}, "code3": {"1"}})
	wantStatus(t, "resync short code", resp, body, http.StatusBadRequest, "First code: must be 6 digits")
	if got, _ := f.Store.GetToken(ctx, free.ID); got.Counter != 0 {
		t.Fatalf("refused resyncs moved the counter to %d", got.Counter)
	}
	resp, body = b.post(resync, resync, codes(40))
	wantRedirect(t, "resync", resp, body, "/console/users/"+alice.ID+"?done=resynced")
	if got, _ := f.Store.GetToken(ctx, free.ID); got.Counter != 43 {
		t.Errorf("counter after resync = %d, want 43", got.Counter)
	}
	log := f.adminLog()
	if !strings.Contains(log, "help@example.com token_attach user "+alice.ID) || !strings.Contains(log, "help@example.com token_resync token "+free.ID) {
		t.Errorf("admin log:\n%s", log)
	}
	// Bob's token through alice: not found.
	if resp := mustDo(b, "GET", "/console/users/"+alice.ID+"/tokens/"+taken.ID+"/resync"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob's token through alice = %d", resp.StatusCode)
	}
}

func goqueryDoc(body string) (*goquery.Document, error) {
	return goquery.NewDocumentFromReader(strings.NewReader(body))
}
