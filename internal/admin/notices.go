package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Account-change notices: when a phone, a hardware token or bypass codes
// are added to a user's account, the user is emailed (if they have an
// email address and a notifier is configured), so that a takeover through
// the help desk or a stolen administrator key does not go unnoticed. The
// notice is sent after the change committed, outside its transaction, and
// is best effort: a failed notice is logged and never fails the change.

// ctxNotice is the Context of account-change notices.
const ctxNotice = "notice"

// noticeTimeout bounds how long an administrator's request waits for a
// notice (the carrier's own timeouts and retries apply within it).
const noticeTimeout = 30 * time.Second

// Notice subjects.
const (
	SubjectPhoneAdded  = "A phone was added to your login account"
	SubjectTokenAdded  = "A hardware token was added to your login account"
	SubjectBypassAdded = "Bypass codes were created for your login account"
)

// notifyUser emails the user a notice that what happened to their
// account. It never returns an error: the change is already made.
func (s *Service) notifyUser(ctx context.Context, userID, subject, what string) {
	if s.notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		s.log.WarnContext(ctx, "account notice: get user", "user_id", userID, "err", err)
		return
	}
	if u.Email == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", u.Username)
	fmt.Fprintf(&b, "%s\n\n", what)
	fmt.Fprintf(&b, "When: %s\n\n", s.now().UTC().Format(time.RFC1123))
	b.WriteString("If you expected this change, there is nothing to do. If you did not, contact your help desk at once: " +
		"someone may be trying to take over your logins.\n")
	m := mfa.Message{Channel: mfa.ChannelEmail, To: u.Email, Subject: subject, Body: mfa.Passcode(b.String()),
		Context: ctxNotice, UserID: u.ID}
	if err := s.notifier.Send(ctx, m); err != nil {
		s.log.WarnContext(ctx, "account notice not sent", "user_id", u.ID, "subject", subject, "err", err)
	}
}

// lastDigits shows the end of a phone number ("ending in 0142").
func lastDigits(number string) string {
	if len(number) <= 4 {
		return number
	}
	return number[len(number)-4:]
}
