package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestAccountNotices: adding a phone, a token or bypass codes to a user
// emails the user (never a code), after the change; a user without an
// email gets nothing; a failing notifier leaves the change made and logs
// the failure.
func TestAccountNotices(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	alice := e.user("alice", "alice@example.com")
	nomail := e.user("bob", "")
	p := e.phone(mfa.PhoneMobile, true)

	if err := e.svc.AttachPhone(ctx, e.owner, alice.ID, p.ID); err != nil {
		t.Fatalf("AttachPhone() = %v", err)
	}
	tok, err := e.svc.CreateToken(ctx, e.owner, admin.NewToken{Type: mfa.TokenH6, Serial: "SER-42", Secret: tokSecretHex})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AttachToken(ctx, e.owner, alice.ID, tok.ID); err != nil {
		t.Fatalf("AttachToken() = %v", err)
	}
	n := 2
	codes, err := e.svc.CreateBypassCodes(ctx, e.owner, alice.ID, admin.BypassRequest{Count: &n})
	if err != nil {
		t.Fatalf("CreateBypassCodes() = %v", err)
	}
	msgs := e.notes.Messages()
	if len(msgs) != 3 {
		t.Fatalf("sent %d messages, want 3 notices: %+v", len(msgs), msgs)
	}
	tests := []struct {
		subject string
		want    string
	}{
		{admin.SubjectPhoneAdded, "The phone ending in " + p.Number[len(p.Number)-4:] + " was added to your account"},
		{admin.SubjectTokenAdded, "serial SER-42 was added"},
		{admin.SubjectBypassAdded, "2 bypass code(s) were created"},
	}
	for i, tt := range tests {
		m := msgs[i]
		body := string(m.Body)
		if m.Channel != mfa.ChannelEmail || m.To != "alice@example.com" || m.Subject != tt.subject || m.UserID != alice.ID ||
			m.Context != "notice" || !strings.Contains(body, tt.want) || !strings.Contains(body, "Hello alice,") ||
			!strings.Contains(body, "contact your help desk") {
			t.Errorf("notice %d = %s to %s %q (%s):\n%s\nwant an email to alice, %q, naming %q", i, m.Channel, m.To, m.Subject, m.Context, body, tt.subject, tt.want)
		}
	}
	for _, c := range codes {
		if strings.Contains(string(msgs[2].Body), c) {
			t.Errorf("bypass notice holds the code %s", c)
		}
	}

	// No email address: no notice, the change is made.
	if err := e.svc.AttachPhone(ctx, e.owner, nomail.ID, p.ID); err != nil {
		t.Fatalf("AttachPhone(no email) = %v", err)
	}
	if got := len(e.notes.Messages()); got != 3 {
		t.Errorf("sent %d messages after a change for a user without email, want still 3", got)
	}

	// The carrier fails: the change stands, the failure is logged.
	e.notes.SetFail(mfa.Wrap(mfa.Unavailable, "could not send the email", errors.New("smtp: 451 try later")))
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, alice.ID, admin.BypassRequest{Count: &n}); err != nil {
		t.Fatalf("CreateBypassCodes() with a failing notifier = %v, want the codes made", err)
	}
	infos, _, err := e.store.ListBypassCodes(ctx, mfa.BypassFilter{UserID: alice.ID})
	if err != nil || len(infos) != 2 {
		t.Errorf("bypass codes after a failed notice = %d, %v; want 2 (the new batch)", len(infos), err)
	}
	if !strings.Contains(e.logs.String(), "account notice not sent") || !strings.Contains(e.logs.String(), "451 try later") {
		t.Errorf("logs lack the failed notice:\n%s", e.logs.String())
	}
}
