package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// EnrollSubject is the subject of the enrollment email.
const EnrollSubject = "Enroll in twostep"

// EnrollRequest asks to enroll a user by email (POST /admin/v1/users/enroll).
type EnrollRequest struct {
	Username  string
	Email     string
	ValidSecs *int // nil: 7 days
}

// EnrollUser emails a user an activation link that installs the app on a
// new phone, which redeeming the link creates for the user. The user is
// created (active, with this email) if no user has this username or alias;
// that needs the CreateUsers permission besides SendActivations. An
// existing user is enrolled as they are, unless they have a different
// email on record: then the request is refused (Conflict on "email"), so
// that an enrollment link for an existing user goes only to the address
// the directory holds (or to the given one when none is on record, which
// is not stored). If delivery fails the request is Unavailable; a user it
// created stays (and is in the administrator log).
func (s *Service) EnrollUser(ctx context.Context, a Actor, req EnrollRequest) error {
	if err := s.authorize(ctx, a, SendActivations); err != nil {
		return err
	}
	name, err := checkName("username", req.Username)
	if err != nil {
		return err
	}
	email, err := checkEmail("email", req.Email, false)
	if err != nil {
		return err
	}
	valid, err := validSecs(req.ValidSecs, DefaultEnrollValidSecs)
	if err != nil {
		return err
	}
	if err := s.needNotifier(); err != nil {
		return err
	}
	if err := s.needHost(); err != nil {
		return err
	}
	u, created, err := s.enrollee(ctx, a, name, email)
	if err != nil {
		return err
	}
	link, act, err := s.newActivation(ctx, u.ID, "", valid, false)
	if err != nil {
		return err
	}
	m := mfa.Message{Channel: mfa.ChannelEmail, To: email, Subject: EnrollSubject,
		Body: mfa.Passcode(enrollBody(u.Username, link)), Context: ctxEnrollment, UserID: u.ID}
	if err := s.notifier.Send(ctx, m); err != nil {
		return mfa.Wrap(mfa.Unavailable, "could not send the message", err)
	}
	desc := activationLog(act, valid)
	desc["username"], desc["email"], desc["created_user"] = u.Username, email, created
	return s.logChange(ctx, a, "user_enroll", "user", u.ID, describe(desc))
}

// enrollee finds the user to enroll, or creates them.
func (s *Service) enrollee(ctx context.Context, a Actor, name, email string) (mfa.User, bool, error) {
	u, err := s.store.GetUserByName(ctx, name)
	switch {
	case err == nil:
		if u.Email != "" && !strings.EqualFold(u.Email, email) {
			return mfa.User{}, false, &mfa.Error{Kind: mfa.Conflict, Field: "email",
				Msg: "the user exists with a different email address"}
		}
		return u, false, nil
	case !errors.Is(err, mfa.ErrNotFound):
		return mfa.User{}, false, fmt.Errorf("enroll user: %w", err)
	}
	if err := s.authorize(ctx, a, CreateUsers); err != nil {
		return mfa.User{}, false, err
	}
	id, err := mfa.NewID(mfa.PrefixUser, s.rand)
	if err != nil {
		return mfa.User{}, false, fmt.Errorf("enroll user: %w", err)
	}
	u = mfa.User{ID: id, Username: name, Email: email, Status: mfa.StatusActive, Created: s.now()}
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("enroll user: %w", err)
		}
		return s.logChange(ctx, a, "user_create", "user", u.ID, describe(userLog(u)))
	})
	if err != nil {
		return mfa.User{}, false, err
	}
	return u, true, nil
}

// enrollBody is the enrollment email's text.
func enrollBody(username string, link ActivationLink) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", username)
	b.WriteString("You have been invited to set up twostep, the second step of your logins.\n\n")
	b.WriteString("On the phone you want to use, open this link and follow the instructions:\n\n")
	fmt.Fprintf(&b, "  %s\n\n", link.URL)
	b.WriteString("Or, with the twostep app installed, run:\n\n")
	fmt.Fprintf(&b, "  twostep activate %s\n\n", string(link.Code))
	fmt.Fprintf(&b, "The link works once and expires %s.\n", link.Expires.UTC().Format(time.RFC1123))
	b.WriteString("If you did not expect this message, ignore it; nothing changes until the link is used.\n")
	return b.String()
}
