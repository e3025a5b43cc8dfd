package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Administrator activation links (Duo's POST /admin/v1/admins/activations):
// an Owner (or a key with the administrators permission) invites someone
// by email with a role; the link lets whoever opens it before it expires
// choose a name and a password and become that administrator. The new
// administrator then signs in to the console and sets up a second factor
// there before anything else.

// Activation link limits.
const (
	DefaultAdminActivationDays = 7
	MaxAdminActivationDays     = 31
	// DefaultAdminActivationRole is the role of a link that names none:
	// the least powerful (Duo's default is Owner; an invitation that
	// grants everything unless told otherwise is the wrong default).
	DefaultAdminActivationRole = mfa.RoleReadOnly
	// AdminActivationPath prefixes the link: /console/activate/<code>.
	AdminActivationPath = "/console/activate/"
)

// SubjectAdminActivation is the subject of the invitation email.
const SubjectAdminActivation = "You are invited to be a twostep administrator"

// AdminActivationRequest is one create request.
type AdminActivationRequest struct {
	Email     string
	Role      *string // nil: DefaultAdminActivationRole
	ValidDays *int    // nil: DefaultAdminActivationDays
	SendEmail bool
}

// AdminActivationLink is what creating a link returns, once: the code and
// link are never shown again.
type AdminActivationLink struct {
	mfa.AdminActivation
	Link      string
	ValidDays int
	Subject   string
	Message   string
	EmailSent bool
}

// CreateAdminActivation makes an activation link.
func (s *Service) CreateAdminActivation(ctx context.Context, a Actor, req AdminActivationRequest) (AdminActivationLink, error) {
	if err := s.authorize(ctx, a, ManageAdmins); err != nil {
		return AdminActivationLink{}, err
	}
	email, err := checkEmail("email", req.Email, false)
	if err != nil {
		return AdminActivationLink{}, err
	}
	role := DefaultAdminActivationRole
	if req.Role != nil {
		role = mfa.Role(strings.TrimSpace(*req.Role))
		if !role.Valid() {
			return AdminActivationLink{}, mfa.InvalidField("admin_role", "must be one of "+roleList()+" (case-sensitive)")
		}
	}
	if err := mayManageRole(a, role); err != nil {
		return AdminActivationLink{}, err
	}
	days := DefaultAdminActivationDays
	if req.ValidDays != nil {
		days = *req.ValidDays
		if days < 1 || days > MaxAdminActivationDays {
			return AdminActivationLink{}, mfa.InvalidField("valid_days", fmt.Sprintf("must be between 1 and %d", MaxAdminActivationDays))
		}
	}
	if req.SendEmail && s.notifier == nil {
		return AdminActivationLink{}, mfa.InvalidField("send_email", "no email carrier is configured")
	}
	if err := s.needHost(); err != nil {
		return AdminActivationLink{}, err
	}
	switch _, err := s.store.GetAdminByEmail(ctx, email); {
	case err == nil:
		return AdminActivationLink{}, &mfa.Error{Kind: mfa.Conflict, Field: "email", Msg: "an administrator with this email already exists"}
	case !errors.Is(err, mfa.ErrNotFound):
		return AdminActivationLink{}, fmt.Errorf("create admin activation: %w", err)
	}
	code, err := mfa.RandomString(s.rand, activationAlphabet, mfa.ActivationCodeLength)
	if err != nil {
		return AdminActivationLink{}, fmt.Errorf("create admin activation: %w", err)
	}
	id, err := mfa.NewID(mfa.PrefixAdminActivation, s.rand)
	if err != nil {
		return AdminActivationLink{}, fmt.Errorf("create admin activation: %w", err)
	}
	now := s.now()
	act := mfa.AdminActivation{ID: id, Code: mfa.Passcode(code), Email: email, Role: role, CreatedBy: a.Name,
		Created: now, Expires: now.Add(time.Duration(days) * 24 * time.Hour)}
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateAdminActivation(ctx, act); err != nil {
			return fmt.Errorf("create admin activation: %w", err)
		}
		return s.logChange(ctx, a, "admin_activation_create", "admin_activation", id, describe(map[string]any{
			"email": email, "role": role, "valid_days": days, "send_email": req.SendEmail}))
	})
	if err != nil {
		return AdminActivationLink{}, err
	}
	out := AdminActivationLink{AdminActivation: act, ValidDays: days, Subject: SubjectAdminActivation,
		Link: "https://" + s.apiHost + AdminActivationPath + code}
	out.Message = fmt.Sprintf("You are invited to be a twostep administrator (role %q) for %s.\n\n"+
		"Open this link before %s to choose your name and password:\n%s\n\n"+
		"You will then set up a second factor the first time you sign in. If you did not expect this, tell your security team.\n",
		role, email, act.Expires.UTC().Format("2 January 2006 15:04 MST"), out.Link)
	if req.SendEmail {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
		defer cancel()
		m := mfa.Message{Channel: mfa.ChannelEmail, To: email, Subject: SubjectAdminActivation, Body: mfa.Passcode(out.Message),
			Context: ctxNotice}
		if err := s.notifier.Send(ctx, m); err != nil {
			s.log.WarnContext(ctx, "administrator activation email not sent", "admin_activation_id", id, "err", err)
		} else {
			out.EmailSent = true
		}
	}
	return out, nil
}

// ListAdminActivations lists the unexpired activation links (no codes).
func (s *Service) ListAdminActivations(ctx context.Context, a Actor, p mfa.Page) ([]mfa.AdminActivation, int, error) {
	if err := s.authorize(ctx, a, ReadAdmins); err != nil {
		return nil, 0, err
	}
	list, total, err := s.store.ListAdminActivations(ctx, s.now(), p)
	if err != nil {
		return nil, 0, fmt.Errorf("list admin activations: %w", err)
	}
	return list, total, nil
}

// DeleteAdminActivation withdraws a link. Unknown is NotFound.
func (s *Service) DeleteAdminActivation(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, ManageAdmins); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteAdminActivation(ctx, id); err != nil {
			return fmt.Errorf("delete admin activation: %w", err)
		}
		return s.logChange(ctx, a, "admin_activation_delete", "admin_activation", id, "{}")
	})
}

// AdminActivationByCode is what the activation page shows: the link's
// email, role and expiry. An unknown, used or expired code is NotFound.
func (s *Service) AdminActivationByCode(ctx context.Context, code string) (mfa.AdminActivation, error) {
	if !validAdminActivationCode(code) {
		return mfa.AdminActivation{}, mfa.NotFoundf("unknown or expired activation link")
	}
	act, err := s.store.AdminActivationByCode(ctx, mfa.Passcode(code), s.now())
	if err != nil {
		return mfa.AdminActivation{}, fmt.Errorf("admin activation: %w", err)
	}
	return act, nil
}

// RedeemAdminActivation spends the link and creates the administrator
// with the link's email and role and the chosen name and password, in one
// transaction with its admin-log record (naming the source address). Of
// concurrent redemptions one wins.
func (s *Service) RedeemAdminActivation(ctx context.Context, code, name, password, ip string) (mfa.Admin, error) {
	if !validAdminActivationCode(code) {
		return mfa.Admin{}, mfa.NotFoundf("unknown or expired activation link")
	}
	ad := mfa.Admin{Created: s.now()}
	if err := applyAdminFields(&ad, AdminFields{Name: &name, Password: &password}); err != nil {
		return mfa.Admin{}, err
	}
	if ad.Name == "" {
		return mfa.Admin{}, mfa.InvalidField("name", "required")
	}
	hash, err := s.hasher.Hash(password, s.rand) // outside the transaction
	if err != nil {
		return mfa.Admin{}, fmt.Errorf("redeem admin activation: %w", err)
	}
	ad.PasswordHash = hash
	if ad.ID, err = mfa.NewID(mfa.PrefixAdmin, s.rand); err != nil {
		return mfa.Admin{}, fmt.Errorf("redeem admin activation: %w", err)
	}
	var created mfa.Admin
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		var err error
		if created, err = s.store.RedeemAdminActivation(ctx, mfa.Passcode(code), s.now(), ad); err != nil {
			if errors.Is(err, mfa.ErrConflict) {
				return &mfa.Error{Kind: mfa.Conflict, Field: "email", Msg: "an administrator with this email already exists"}
			}
			return fmt.Errorf("redeem admin activation: %w", err)
		}
		return s.logChange(ctx, AdminActor(created), "admin_activation_redeem", "admin", created.ID,
			describe(map[string]any{"email": created.Email, "name": created.Name, "role": created.Role, "ip": ip}))
	})
	if err != nil {
		return mfa.Admin{}, err
	}
	return created, nil
}

// validAdminActivationCode: the shape of a code, checked before any
// lookup.
func validAdminActivationCode(code string) bool {
	return len(code) == mfa.ActivationCodeLength && strings.Trim(code, activationAlphabet) == ""
}
