package console_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
	"github.com/twostep-auth/twostep/internal/server"
)

// withOutboxCarrier serves the console with the development outbox, which the
// admin service also sends its email through.
func withOutboxCarrier(t *testing.T, ob **outbox.Outbox) func(*server.Deps) {
	return func(d *server.Deps) {
		o, err := outbox.New(t.TempDir(), d.Now)
		if err != nil {
			t.Fatal(err)
		}
		*ob = o
		d.Console.Outbox = o
		svc := admin.New(d.Store, d.Now, rand.Reader, d.Logger, admin.WithPublicHost(publicHost), admin.WithNotifier(o))
		svc.SetPasswordHasher(cheap)
		d.Admin = svc
	}
}

// TestOutboxPage: with the outbox carrier, Owners and Administrators read
// the SMS, calls and emails written there, newest first; Help Desk and
// Read-only see no link and get 403. With any other carrier the page is
// 404 and nobody has the link.
func TestOutboxPage(t *testing.T) {
	var ob *outbox.Outbox
	f := newFixture(t, withOutboxCarrier(t, &ob))
	ctx := t.Context()
	for _, m := range []mfa.Message{
		{Channel: mfa.ChannelSMS, To: "+15550100001", Body: "Your passcode is 1234567", Context: "authentication"},
		{Channel: mfa.ChannelVoice, To: "+15550100002", Body: "Press 1 to log in", TxID: "tx-1", Context: "authentication"},
		{Channel: mfa.ChannelEmail, To: "alice@example.com", Subject: "Activate", Body: "Open this link", Context: "enrollment"},
	} {
		if err := ob.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		f.Advance(time.Second)
	}
	adm := f.admin("administrator@example.com", mfa.RoleAdministrator, true)
	for _, who := range []mfa.Admin{f.Owner, adm} {
		b := f.browser()
		b.signIn(who)
		if b.page("/console/", 200).Find(`nav a[href="/console/outbox"]`).Length() != 1 {
			t.Errorf("%s has no outbox link", who.Role)
		}
		doc := b.page("/console/outbox", 200)
		rows := doc.Find("table.outbox tbody tr")
		if rows.Length() != 3 {
			t.Fatalf("%s: %d rows, want 3", who.Role, rows.Length())
		}
		first, last := rows.First().Text(), rows.Last().Text()
		if !strings.Contains(first, "email") || !strings.Contains(first, "alice@example.com") || !strings.Contains(first, "Activate") ||
			!strings.Contains(first, "Open this link") || !strings.Contains(last, "SMS") || !strings.Contains(last, "Your passcode is 1234567") ||
			!strings.Contains(rows.Eq(1).Text(), "call") {
			t.Errorf("%s: rows not newest first with kind, to and text:\n%s", who.Role, rows.Text())
		}
	}
	ro := f.admin("readonly@example.com", mfa.RoleReadOnly, true)
	for _, who := range []mfa.Admin{f.Help, ro} {
		b := f.browser()
		b.signIn(who)
		if b.page("/console/", 200).Find(`nav a[href="/console/outbox"]`).Length() != 0 {
			t.Errorf("%s sees the outbox link", who.Role)
		}
		if resp := mustDo(b, "GET", "/console/outbox"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET outbox as %s = %d, want 403", who.Role, resp.StatusCode)
		}
	}

	// Another carrier: no page, no link.
	g := newFixture(t)
	b := g.browser()
	b.signIn(g.Owner)
	if b.page("/console/", 200).Find(`nav a[href="/console/outbox"]`).Length() != 0 {
		t.Error("the outbox link shows without the outbox carrier")
	}
	if resp := mustDo(b, "GET", "/console/outbox"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET outbox without it = %d, want 404", resp.StatusCode)
	}
}

// failingNotifier is a carrier that is down.
type failingNotifier struct{}

func (failingNotifier) Send(context.Context, mfa.Message) error { return errors.New("carrier down") }

// TestInviteByEmail: the invitation form's "send by email" box emails the
// link (the page says so, and still shows it once); without an email
// carrier the box is a form error and nothing is created.
func TestInviteByEmail(t *testing.T) {
	var ob *outbox.Outbox
	f := newFixture(t, withOutboxCarrier(t, &ob))
	b := f.browser()
	b.signIn(f.Owner)
	if b.page("/console/admins", 200).Find(`form.invite input[type="checkbox"][name="send_email"]`).Length() != 1 {
		t.Fatal("the invitation form has no send-by-email box")
	}
	resp, body := b.post("/console/admins", "/console/admins/invite", url.Values{"email": {"new@example.com"}, "admin_role": {"Help Desk"},
		"valid_days": {"3"}, "send_email": {"on"}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("invite by email = %d: %s", resp.StatusCode, body)
	}
	doc := parse(t, body)
	link := doc.Find("#invite-link .code").Text()
	if !strings.Contains(doc.Find("#invite-emailed").Text(), "emailed to new@example.com") || link == "" {
		t.Errorf("the answer does not say the link was emailed, or lacks it: %q", doc.Find("#invite-emailed").Text())
	}
	m, ok, err := ob.Last("new@example.com")
	if err != nil || !ok || m.Channel != mfa.ChannelEmail || m.Subject != admin.SubjectAdminActivation || !strings.Contains(string(m.Body), link) {
		t.Errorf("outbox: %v %v %q", ok, err, m.Subject)
	}

	// A carrier that fails: the link is created and shown, and the page
	// says the email did not go.
	h := newFixture(t, func(d *server.Deps) {
		svc := admin.New(d.Store, d.Now, rand.Reader, d.Logger, admin.WithPublicHost(publicHost), admin.WithNotifier(failingNotifier{}))
		svc.SetPasswordHasher(cheap)
		d.Admin = svc
	})
	b = h.browser()
	b.signIn(h.Owner)
	resp, body = b.post("/console/admins", "/console/admins/invite", url.Values{"email": {"new@example.com"}, "admin_role": {"Help Desk"},
		"valid_days": {"3"}, "send_email": {"on"}})
	doc = parse(t, body)
	if resp.StatusCode != 200 || doc.Find("#invite-link .code").Text() == "" ||
		!strings.Contains(doc.Find("#invite-emailed").Text(), "could not be sent") {
		t.Errorf("invite with a failing carrier = %d, %q", resp.StatusCode, doc.Find("#invite-emailed").Text())
	}

	// Without an email carrier: a form error, nothing created.
	g := newFixture(t)
	b = g.browser()
	b.signIn(g.Owner)
	resp, body = b.post("/console/admins", "/console/admins/invite", url.Values{"email": {"new@example.com"}, "admin_role": {"Help Desk"},
		"valid_days": {"3"}, "send_email": {"on"}})
	wantAdminsFormError(t, "email without a carrier", resp, body, "send_email", "No email carrier is configured")
	if _, checked := parse(t, body).Find(`#f-send_email`).Attr("checked"); !checked {
		t.Error("the box is not ticked any more after the error")
	}
	if n := len(g.invitations()); n != 0 {
		t.Errorf("a refused invitation created %d", n)
	}
}
