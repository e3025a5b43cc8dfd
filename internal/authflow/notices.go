package authflow

import (
	"context"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// SubjectLockout starts the subject of the lockout notice.
const SubjectLockout = "twostep: user locked out: "

// lockoutNoticeTimeout bounds the wait for the notice; the login's answer
// is already decided.
const lockoutNoticeTimeout = 30 * time.Second

// noticeLockout emails the fraud address (Duo's fraud_email, which Duo
// also notifies of lockouts) that a failure just locked the user out.
// The lockout is already recorded; a failed notice is logged, not
// returned.
func (s *Service) noticeLockout(ctx context.Context, d *decision, failures int) {
	s.sendLockoutNotice(ctx, d.a.settings, d.a.user, d.req.Integration.Name, d.req.IP, d.req.Hostname, failures)
}

// sendLockoutNotice is noticeLockout for any failure: a passcode, a
// password or a key (a decision), or a push or call that was reported as
// fraud or went unanswered (a completed transaction).
func (s *Service) sendLockoutNotice(ctx context.Context, st mfa.Settings, u mfa.User, app, ip, hostname string, failures int) {
	if !st.FraudEmailEnabled || st.FraudEmail == "" || s.notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockoutNoticeTimeout)
	defer cancel()
	unlock := "An administrator must reset the user's lockout."
	if st.LockoutExpire > 0 {
		unlock = fmt.Sprintf("The lockout ends by itself after %s, or when an administrator resets it.", st.LockoutExpire)
	}
	body := fmt.Sprintf("A user was locked out after %d failed attempts in a row.\n\nUser: %s\nApplication: %s\nClient IP: %s\nHostname: %s\nTime: %s\n\n%s\nIf the user did not make these attempts, someone may be guessing their passcodes.\n",
		failures, u.Username, app, ip, hostname, s.now().UTC().Format(time.RFC3339), unlock)
	m := mfa.Message{Channel: mfa.ChannelEmail, To: st.FraudEmail, Subject: SubjectLockout + u.Username,
		Body: mfa.Passcode(body), Context: "lockout", UserID: u.ID}
	if err := s.notifier.Send(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "lockout notice: email", reqid.Key, reqid.From(ctx), "user_id", u.ID, "err", err)
	}
}
