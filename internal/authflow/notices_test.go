package authflow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
)

// TestLockoutNotice: the failure that locks a user out emails the fraud
// address once (not the attempts after it); without fraud_email_enabled
// nothing is sent; a failing notifier changes no answer.
func TestLockoutNotice(t *testing.T) {
	n := &mfatest.Notifier{}
	e := newEnv(t, authflow.WithNotifier(n))
	u := e.user("alice", mfa.StatusActive)
	e.app(u, 0, false)
	e.settings(func(s *mfa.Settings) {
		s.LockoutThreshold = 3
		s.FraudEmail, s.FraudEmailEnabled = "security@example.com", true
	})
	for range 2 {
		wantAuth(t, "Auth(wrong)", e.auth("alice", "000000"), "deny", "deny", authflow.MsgIncorrect)
	}
	if got := len(n.Messages()); got != 0 {
		t.Fatalf("sent %d messages before the lockout, want 0", got)
	}
	wantAuth(t, "Auth(3rd wrong)", e.auth("alice", "000000"), "deny", "locked_out", authflow.MsgLockedOutNow)
	wantAuth(t, "Auth(4th wrong)", e.auth("alice", "000000"), "deny", "locked_out", authflow.MsgLockedOut)
	msgs := n.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sent %d messages, want one lockout notice", len(msgs))
	}
	m := msgs[0]
	body := string(m.Body)
	if m.Channel != mfa.ChannelEmail || m.To != "security@example.com" || m.Subject != authflow.SubjectLockout+"alice" ||
		m.Context != "lockout" || m.UserID != u.ID || !strings.Contains(body, "locked out after 3 failed attempts") ||
		!strings.Contains(body, "User: alice") || strings.Contains(body, "000000") {
		t.Errorf("notice = %s to %s %q (%s):\n%s", m.Channel, m.To, m.Subject, m.Context, body)
	}

	// Notices off: a lockout sends nothing.
	bob := e.user("bob", mfa.StatusActive)
	e.app(bob, 0, false)
	e.settings(func(s *mfa.Settings) { s.FraudEmailEnabled = false })
	for range 3 {
		e.auth("bob", "000000")
	}
	if got := len(n.Messages()); got != 1 {
		t.Errorf("sent %d messages with notices off, want still 1", got)
	}

	// The carrier fails: the answer is the same.
	carol := e.user("carol", mfa.StatusActive)
	e.app(carol, 0, false)
	e.settings(func(s *mfa.Settings) { s.FraudEmailEnabled = true })
	n.SetFail(mfa.Wrap(mfa.Unavailable, "could not send the email", errors.New("smtp down")))
	for range 2 {
		e.auth("carol", "000000")
	}
	wantAuth(t, "Auth(carol 3rd wrong)", e.auth("carol", "000000"), "deny", "locked_out", authflow.MsgLockedOutNow)
}

// TestLockoutNoticePassword: wrong first-factor passwords that lock the
// user out send the same notice, once.
func TestLockoutNoticePassword(t *testing.T) {
	n := &mfatest.Notifier{}
	e := newEnv(t, authflow.WithNotifier(n))
	u := e.user("dora", mfa.StatusActive)
	e.app(u, 0, false)
	e.setPassword(u, "the right password, long enough")
	e.settings(func(s *mfa.Settings) {
		s.LockoutThreshold = 3
		s.FraudEmail, s.FraudEmailEnabled = "security@example.com", true
	})
	for i := range 4 {
		if _, err := e.pw("dora", "a wrong password"); err == nil {
			t.Fatalf("CheckPassword(wrong #%d) = nil", i+1)
		}
		if want := map[bool]int{true: 1, false: 0}[i >= 2]; len(n.Messages()) != want {
			t.Fatalf("after %d wrong passwords: %d messages, want %d", i+1, len(n.Messages()), want)
		}
	}
	if got := e.getUser(u.ID); got.Status != mfa.StatusLockedOut {
		t.Errorf("status = %s, want locked_out", got.Status)
	}
	m := n.Messages()[0]
	if m.Subject != authflow.SubjectLockout+"dora" || !strings.Contains(string(m.Body), "locked out after 3 failed attempts") ||
		strings.Contains(string(m.Body), "wrong password") {
		t.Errorf("notice %q:\n%s", m.Subject, m.Body)
	}
}

// TestLockoutNoticePush: pushes that go unanswered count towards the
// lockout like wrong passcodes, and the one that locks the user out sends
// the notice, once.
func TestLockoutNoticePush(t *testing.T) {
	e, n := pushEnv(t)
	u := e.user("erin", mfa.StatusActive)
	e.app(u, 0, false)
	e.settings(func(s *mfa.Settings) {
		s.LockoutThreshold = 2
		s.FraudEmail, s.FraudEmailEnabled = "security@example.com", true
	})
	lockouts := func() (got []mfa.Message) {
		for _, m := range n.Messages() {
			if m.Context == "lockout" {
				got = append(got, m)
			}
		}
		return got
	}
	for i := range 2 {
		if got := len(lockouts()); got != 0 {
			t.Fatalf("%d lockout notices after %d unanswered pushes, want 0", got, i)
		}
		res := e.push("erin")
		for range 20 {
			if e.status(res.TxID).Final() {
				break
			}
		}
	}
	if got := e.getUser(u.ID).Status; got != mfa.StatusLockedOut {
		t.Fatalf("status after 2 unanswered pushes = %s, want locked out", got)
	}
	msgs := lockouts()
	if len(msgs) != 1 {
		t.Fatalf("sent %d lockout notices, want 1", len(msgs))
	}
	if m := msgs[0]; m.To != "security@example.com" || m.Subject != authflow.SubjectLockout+"erin" || m.UserID != u.ID ||
		!strings.Contains(string(m.Body), "locked out after 2 failed attempts") || !strings.Contains(string(m.Body), "Client IP: 198.51.100.7") {
		t.Errorf("notice = %q to %s:\n%s", m.Subject, m.To, m.Body)
	}
}
