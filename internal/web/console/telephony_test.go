package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestTelephonyLog: newest first, 100 a page with older pages, the
// user's name linked (a deleted user's id), a bad cursor refused, and
// only roles that read logs see it.
func TestTelephonyLog(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice, phone := f.user("alice", mfa.StatusActive)
	start := f.now().Add(-3 * time.Hour)
	if _, err := f.Store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: start, Type: "phone", Context: "authentication",
		Phone: "+15550100999", UserID: "DUGONEGONEGONEGONE00", Credits: 2, Status: "no-answer"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 104; i++ {
		if _, err := f.Store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: start.Add(time.Duration(i) * time.Minute), Type: "sms",
			Context: "authentication", Phone: phone.Number, UserID: alice.ID, Credits: 1, Status: "delivered"}); err != nil {
			t.Fatal(err)
		}
	}
	h := f.browser()
	h.signIn(f.Help)
	if h.page("/console/", 200).Find(`nav a[href="/console/logs/telephony"]`).Length() != 1 {
		t.Error("the Help Desk (reads logs) does not see the Telephony log link")
	}
	doc := h.page("/console/logs/telephony", 200)
	rows := doc.Find(`table.telephonylog tbody tr`)
	if rows.Length() != 100 {
		t.Fatalf("first page: %d rows, want 100", rows.Length())
	}
	first, _ := rows.First().Find(`time`).Attr("datetime")
	if want := start.Add(104 * time.Minute).UTC().Format("2006-01-02T15:04:05Z"); first != want {
		t.Errorf("first row %s, want the newest %s", first, want)
	}
	if link, _ := rows.First().Find(`a`).Attr("href"); link != "/console/users/"+alice.ID || rows.First().Find(`a`).Text() != "alice" {
		t.Errorf("user link %q %q", link, rows.First().Find(`a`).Text())
	}
	if !strings.Contains(rows.First().Text(), "text message") || !strings.Contains(rows.First().Text(), phone.Number) {
		t.Errorf("row: %q", rows.First().Text())
	}
	next, ok := doc.Find(`nav.pager a[rel="next"]`).Attr("href")
	if !ok || doc.Find(`nav.pager a`).Length() != 1 {
		t.Fatalf("first page pager: %q", doc.Find(`nav.pager`).Text())
	}
	doc = h.page(next, 200)
	rows = doc.Find(`table.telephonylog tbody tr`)
	if rows.Length() != 5 {
		t.Fatalf("second page: %d rows, want 5", rows.Length())
	}
	last := rows.Last().Text()
	if !strings.Contains(last, "phone call") || !strings.Contains(last, "DUGONEGONEGONEGONE00 (deleted)") || !strings.Contains(last, "no-answer") {
		t.Errorf("oldest row: %q", last)
	}
	if doc.Find(`nav.pager a[rel="next"]`).Length() != 0 || doc.Find(`nav.pager a[href="/console/logs/telephony"]`).Length() != 1 {
		t.Errorf("last page pager: %q", doc.Find(`nav.pager`).Text())
	}
	for _, bad := range []string{"abc", "-1", "0"} {
		if resp := mustDo(h, "GET", "/console/logs/telephony?before="+bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("before=%s: %d, want 400", bad, resp.StatusCode)
		}
	}
	// A role without the log permission: no link, 403.
	um := f.admin("users@example.com", mfa.RoleUserManager, true)
	b := f.browser()
	b.signIn(um)
	if b.page("/console/", 200).Find(`nav a[href="/console/logs/telephony"]`).Length() != 0 {
		t.Error("the User Manager sees the Telephony log link")
	}
	if resp := mustDo(b, "GET", "/console/logs/telephony"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("User Manager telephony log = %d, want 403", resp.StatusCode)
	}
	// Empty log.
	g := newFixture(t)
	o := g.browser()
	o.signIn(g.Owner)
	if o.page("/console/logs/telephony", 200).Find(`p.empty`).Length() != 1 {
		t.Error("an empty log does not say so")
	}
}
