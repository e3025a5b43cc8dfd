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
	st := d.a.settings
	if !st.FraudEmailEnabled || st.FraudEmail == "" || s.notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockoutNoticeTimeout)
	defer cancel()
	u := d.a.user
	unlock := "An administrator must reset the user's lockout."
	if st.LockoutExpire > 0 {
		unlock = fmt.Sprintf("The lockout ends by itself after %s, or when an administrator resets it.", st.LockoutExpire)
	}
	body := fmt.Sprintf("A user was locked out after %d failed attempts in a row.\n\nUser: %s\nApplication: %s\nClient IP: %s\nHostname: %s\nTime: %s\n\n%s\nIf the user did not make these attempts, someone may be guessing their passcodes.\n",
		failures, u.Username, d.req.Integration.Name, d.req.IP, d.req.Hostname, s.now().UTC().Format(time.RFC3339), unlock)
	m := mfa.Message{Channel: mfa.ChannelEmail, To: st.FraudEmail, Subject: SubjectLockout + u.Username,
		Body: mfa.Passcode(body), Context: "lockout", UserID: u.ID}
	if err := s.notifier.Send(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "lockout notice: email", reqid.Key, reqid.From(ctx), "user_id", u.ID, "err", err)
	}
}
