package admin

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// AdminFields are the administrator attributes a create or modify request
// sets; a nil field is not provided.
type AdminFields struct {
	Email    *string
	Name     *string
	Role     *string // case-sensitive Duo role name
	Password *string // twostep extension; at least MinPasswordLen characters
	Status   *string // "Active" or "Disabled" (Duo's words, case-sensitive)
	// SendEmail (create only) emails the new administrator a welcome
	// message naming their role and where to sign in, never a password.
	SendEmail bool
}

// MinPasswordLen is the shortest administrator password accepted.
const MinPasswordLen = 12

// maxPasswordLen bounds the argon2 input.
const maxPasswordLen = 1024

// SetPasswordHasher sets the argon2id cost used for administrator
// passwords (tests use a cheap one). Call it before serving.
func (s *Service) SetPasswordHasher(h PasswordHasher) { s.hasher = h }

// ListAdmins lists administrators.
func (s *Service) ListAdmins(ctx context.Context, a Actor, p mfa.Page) ([]mfa.Admin, int, error) {
	if err := s.authorize(ctx, a, ReadAdmins); err != nil {
		return nil, 0, err
	}
	admins, total, err := s.store.ListAdmins(ctx, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list admins: %w", err)
	}
	return admins, total, nil
}

// GetAdmin returns one administrator.
func (s *Service) GetAdmin(ctx context.Context, a Actor, id string) (mfa.Admin, error) {
	if err := s.authorize(ctx, a, ReadAdmins); err != nil {
		return mfa.Admin{}, err
	}
	ad, err := s.store.GetAdmin(ctx, id)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("get admin: %w", err)
	}
	return ad, nil
}

// CreateAdmin creates an administrator. Email and role are required (Duo
// defaults to Owner; defaulting to the most powerful role is unsafe, so
// twostep asks). Without a password it generates a random 24-character
// one and returns it, once; with one it returns "".
func (s *Service) CreateAdmin(ctx context.Context, a Actor, f AdminFields) (mfa.Admin, mfa.Passcode, error) {
	if err := s.authorize(ctx, a, ManageAdmins); err != nil {
		return mfa.Admin{}, "", err
	}
	if f.Email == nil {
		return mfa.Admin{}, "", mfa.InvalidField("email", "required")
	}
	if f.Role == nil {
		return mfa.Admin{}, "", mfa.InvalidField("role", "required: one of "+roleList())
	}
	ad := mfa.Admin{Created: s.now()}
	if err := applyAdminFields(&ad, f); err != nil {
		return mfa.Admin{}, "", err
	}
	if err := mayManageRole(a, ad.Role); err != nil {
		return mfa.Admin{}, "", err
	}
	if f.SendEmail && s.notifier == nil {
		return mfa.Admin{}, "", mfa.InvalidField("send_email", "no email carrier is configured")
	}
	var generated mfa.Passcode
	password := ""
	if f.Password != nil {
		password = *f.Password
	} else {
		p, err := mfa.RandomString(s.rand, passwordAlphabet, 24)
		if err != nil {
			return mfa.Admin{}, "", fmt.Errorf("create admin: %w", err)
		}
		password, generated = p, mfa.Passcode(p)
	}
	hash, err := s.hasher.Hash(password, s.rand)
	if err != nil {
		return mfa.Admin{}, "", fmt.Errorf("create admin: %w", err)
	}
	ad.PasswordHash = hash
	if ad.ID, err = mfa.NewID(mfa.PrefixAdmin, s.rand); err != nil {
		return mfa.Admin{}, "", fmt.Errorf("create admin: %w", err)
	}
	// The password was hashed above, outside the transaction.
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateAdmin(ctx, ad); err != nil {
			return fmt.Errorf("create admin: %w", err)
		}
		return s.logChange(ctx, a, "admin_create", "admin", ad.ID, describe(adminLog(ad, f)))
	})
	if err != nil {
		return mfa.Admin{}, "", err
	}
	if f.SendEmail {
		s.welcomeAdmin(ctx, ad)
	}
	return ad, generated, nil
}

// SubjectAdminWelcome is the subject of the email send_email sends.
const SubjectAdminWelcome = "You are now a twostep administrator"

// welcomeAdmin emails a new administrator who they are and where to sign
// in, after the creation committed; best effort like the account notices
// (a failure is logged, the administrator stays created). It never holds
// the password: whoever created the account hands it over.
func (s *Service) welcomeAdmin(ctx context.Context, ad mfa.Admin) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", ad.Name)
	fmt.Fprintf(&b, "An administrator account with the role %q was created for %s", ad.Role, ad.Email)
	if s.apiHost != "" {
		fmt.Fprintf(&b, " on https://%s/", s.apiHost)
	}
	b.WriteString(".\n\nYour password is given to you by the administrator who created the account; it is never sent by email.\n" +
		"If you did not expect this, tell your security team.\n")
	m := mfa.Message{Channel: mfa.ChannelEmail, To: ad.Email, Subject: SubjectAdminWelcome, Body: mfa.Passcode(b.String()),
		Context: ctxNotice}
	if err := s.notifier.Send(ctx, m); err != nil {
		s.log.WarnContext(ctx, "administrator welcome email not sent", "admin_id", ad.ID, "err", err)
	}
}

// ResetAdmin is Duo's "reset the administrator's failed login attempts":
// it clears the administrator's console sign-in failures and lockout,
// after checking the caller may manage that administrator, and records it
// in the administrator log, in one transaction. An unknown id is NotFound.
func (s *Service) ResetAdmin(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, ManageAdmins); err != nil {
		return err
	}
	ad, err := s.store.GetAdmin(ctx, id)
	if err != nil {
		return fmt.Errorf("reset admin: %w", err)
	}
	if err := mayManageRole(a, ad.Role); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.ClearAdminFailures(ctx, id, time.Time{}); err != nil {
			return fmt.Errorf("reset admin: %w", err)
		}
		return s.logChange(ctx, a, "admin_reset", "admin", id, describe(map[string]any{"email": ad.Email}))
	})
}

// UpdateAdmin changes the provided fields of an administrator. The last
// Owner cannot be demoted.
func (s *Service) UpdateAdmin(ctx context.Context, a Actor, id string, f AdminFields) (mfa.Admin, error) {
	if err := s.authorize(ctx, a, ManageAdmins); err != nil {
		return mfa.Admin{}, err
	}
	ad, err := s.store.GetAdmin(ctx, id)
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("update admin: %w", err)
	}
	wasOwner := ad.Role == mfa.RoleOwner && !ad.Disabled
	if err := mayManageRole(a, ad.Role); err != nil {
		return mfa.Admin{}, err
	}
	if err := applyAdminFields(&ad, f); err != nil {
		return mfa.Admin{}, err
	}
	if err := mayManageRole(a, ad.Role); err != nil {
		return mfa.Admin{}, err
	}
	if wasOwner && ad.Role != mfa.RoleOwner {
		if err := s.keepAnOwner(ctx, "role", "cannot demote the last Owner"); err != nil {
			return mfa.Admin{}, err
		}
	}
	if wasOwner && ad.Role == mfa.RoleOwner && ad.Disabled {
		if err := s.keepAnOwner(ctx, "status", "cannot disable the last active Owner"); err != nil {
			return mfa.Admin{}, err
		}
	}
	if f.Password != nil {
		if ad.PasswordHash, err = s.hasher.Hash(*f.Password, s.rand); err != nil {
			return mfa.Admin{}, fmt.Errorf("update admin: %w", err)
		}
	}
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.UpdateAdmin(ctx, ad); err != nil {
			return fmt.Errorf("update admin: %w", err)
		}
		return s.logChange(ctx, a, "admin_update", "admin", ad.ID, describe(adminLog(ad, f)))
	})
	if err != nil {
		return mfa.Admin{}, err
	}
	return ad, nil
}

// DeleteAdmin deletes an administrator; never the last Owner. An unknown
// id is NotFound.
func (s *Service) DeleteAdmin(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, ManageAdmins); err != nil {
		return err
	}
	ad, err := s.store.GetAdmin(ctx, id)
	if err != nil {
		return fmt.Errorf("delete admin: %w", err)
	}
	if err := mayManageRole(a, ad.Role); err != nil {
		return err
	}
	if ad.Role == mfa.RoleOwner && !ad.Disabled {
		if err := s.keepAnOwner(ctx, "admin_id", "cannot delete the last Owner"); err != nil {
			return err
		}
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteAdmin(ctx, id); err != nil {
			return fmt.Errorf("delete admin: %w", err)
		}
		return s.logChange(ctx, a, "admin_delete", "admin", id, describe(map[string]any{"email": ad.Email, "role": ad.Role}))
	})
}

// keepAnOwner fails unless at least two active Owners exist, so one can
// go. It
// gives the early, clear answer; the store enforces the rule atomically
// (concurrent demotions of the last two Owners cannot both succeed).
func (s *Service) keepAnOwner(ctx context.Context, field, msg string) error {
	admins, _, err := s.store.ListAdmins(ctx, mfa.Page{})
	if err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	owners := 0
	for _, x := range admins {
		if x.Role == mfa.RoleOwner && !x.Disabled {
			owners++
		}
	}
	if owners < 2 {
		return mfa.InvalidField(field, msg)
	}
	return nil
}

func applyAdminFields(ad *mfa.Admin, f AdminFields) error {
	if f.Email != nil {
		e, err := checkEmail("email", *f.Email, false)
		if err != nil {
			return err
		}
		ad.Email = e
	}
	if f.Name != nil {
		n, err := checkText("name", *f.Name, maxTextLen, false)
		if err != nil {
			return err
		}
		ad.Name = n
	}
	if f.Role != nil {
		r := mfa.Role(strings.TrimSpace(*f.Role))
		if !r.Valid() {
			return mfa.InvalidField("role", "must be one of "+roleList()+" (case-sensitive)")
		}
		ad.Role = r
	}
	if f.Status != nil {
		switch strings.TrimSpace(*f.Status) {
		case mfa.AdminStatusActive:
			ad.Disabled = false
		case mfa.AdminStatusDisabled:
			ad.Disabled = true
		default:
			return mfa.InvalidField("status", "must be Active or Disabled (case-sensitive)")
		}
	}
	if f.Password != nil {
		n := utf8.RuneCountInString(*f.Password)
		if n < MinPasswordLen {
			return mfa.InvalidField("password", fmt.Sprintf("shorter than %d characters", MinPasswordLen))
		}
		if len(*f.Password) > maxPasswordLen {
			return mfa.InvalidField("password", fmt.Sprintf("longer than %d bytes", maxPasswordLen))
		}
	}
	return nil
}

func roleList() string {
	return strings.Join([]string{string(mfa.RoleOwner), string(mfa.RoleAdministrator), string(mfa.RoleUserManager),
		string(mfa.RoleHelpDesk), string(mfa.RoleReadOnly)}, ", ")
}

func adminLog(ad mfa.Admin, f AdminFields) map[string]any {
	return map[string]any{"email": ad.Email, "name": ad.Name, "role": ad.Role, "status": ad.Status(),
		"password_set": f.Password != nil}
}

// ResetAdminAuthenticator removes an administrator's authenticator app
// (their TOTP secret) when it is lost: their next console sign-in sets up
// a new one, and their console sessions end at their next request (the
// console requires a set-up authenticator). Only those who may manage
// that administrator may (an Owner at the console); nobody resets their
// own, so that a stolen session cannot replace its victim's second
// factor. Recorded in the administrator log, in one transaction. An
// unknown id is NotFound.
func (s *Service) ResetAdminAuthenticator(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, ManageAdmins); err != nil {
		return err
	}
	ad, err := s.store.GetAdmin(ctx, id)
	if err != nil {
		return fmt.Errorf("reset admin authenticator: %w", err)
	}
	if err := mayManageRole(a, ad.Role); err != nil {
		return err
	}
	if a.Kind == ActorAdmin && a.ID == ad.ID {
		return mfa.InvalidField("admin_id", "You cannot reset your own authenticator: another Owner must do it, "+
			"so that someone using your session cannot replace your second factor.")
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteAdminTOTP(ctx, id); err != nil {
			return fmt.Errorf("reset admin authenticator: %w", err)
		}
		// The lost device may hold a passkey too: the administrator's
		// security keys go with the app, and are added again after.
		keys, err := s.store.AdminWebAuthnCredentials(ctx, id)
		if err != nil {
			return fmt.Errorf("reset admin authenticator: %w", err)
		}
		for _, k := range keys {
			if err := s.store.DeleteAdminWebAuthnCredential(ctx, id, k.ID); err != nil {
				return fmt.Errorf("reset admin authenticator: %w", err)
			}
		}
		return s.logChange(ctx, a, "admin_authenticator_reset", "admin", id,
			describe(map[string]any{"email": ad.Email, "security_keys_removed": len(keys)}))
	})
}
