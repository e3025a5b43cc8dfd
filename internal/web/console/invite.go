package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// inviteForm is the invitation form on the Administrators page: email,
// role (only those the signed-in administrator may grant) and how many
// days the link is valid.
type inviteForm struct {
	Email, Days web.Field
	Role        string
	Roles       []mfa.Role
	// SendEmail: email the link to the invitee too.
	SendEmail bool
}

func newInviteForm(a admin.Actor, email, role, days string) inviteForm {
	if role == "" {
		role = string(admin.DefaultAdminActivationRole)
	}
	return inviteForm{
		Email: web.Field{Name: "email", Label: "Email address", Type: "email", Value: email, Autocomplete: "off", Required: true},
		Days: web.Field{Name: "valid_days", Label: "Link valid for (days)", Value: days, InputMode: "numeric", Required: true,
			Hint: "1 to " + strconv.Itoa(admin.MaxAdminActivationDays) + " days."},
		Role: role, Roles: admin.GrantableRoles(a)}
}

// inviteDone is the answer to an invitation: the link, shown once.
type inviteDone struct {
	Link    admin.AdminActivationLink
	Expires string
	// EmailAsked: the Owner asked for the link by email (Link.EmailSent
	// says whether it went).
	EmailAsked bool
}

// invite serves POST /console/admins/invite: an Owner invites an
// administrator by activation link (admin.CreateAdminActivation), shown
// once on this answer (no-store, never in a URL) with a copy button.
func (p *Pages) invite(w http.ResponseWriter, r *http.Request, c req) error {
	if err := ownerOnly(c, "invite administrators"); err != nil {
		return err
	}
	ctx := r.Context()
	pf := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	form := newInviteForm(c.Actor, pf("email"), pf("admin_role"), pf("valid_days"))
	list, err := p.adminsData(r, c)
	if err != nil {
		return err
	}
	form.SendEmail = r.PostFormValue("send_email") == "on"
	list.Invite = form
	web.Form(r, p.tmpl, "admins.html", p.view(c, msgAdminsTitle, "/console/admins", list))
	days, err := number(r, "valid_days", 1, admin.MaxAdminActivationDays,
		"Enter how many days the link is valid: 1 to "+strconv.Itoa(admin.MaxAdminActivationDays)+".")
	if err != nil {
		return err
	}
	role := form.Role
	granted := false
	for _, g := range form.Roles {
		granted = granted || string(g) == role
	}
	if !granted {
		return mfa.InvalidField("admin_role", "Choose one of the roles offered.")
	}
	link, err := p.admin.CreateAdminActivation(ctx, c.Actor, admin.AdminActivationRequest{Email: form.Email.Value, Role: &role,
		ValidDays: &days, SendEmail: form.SendEmail})
	if err != nil {
		var me *mfa.Error
		if errors.As(err, &me) && me.Field == "send_email" {
			return mfa.InvalidField("send_email", "No email carrier is configured, so twostep cannot send the link: untick this box and give the link yourself.")
		}
		if errors.As(err, &me) && me.Field == "email" {
			msg := me.Msg
			if me.Kind == mfa.Conflict {
				msg = "An administrator with this email already exists."
			} else if !strings.HasPrefix(msg, "Enter") {
				msg = "Email address: " + msg
			}
			return mfa.InvalidField("email", msg)
		}
		return err
	}
	web.NoStore(w)
	view := p.view(c, msgInviteDone, "/console/admins", inviteDone{Link: link, EmailAsked: form.SendEmail})
	view.Script = true
	return p.tmpl.Render(w, r, http.StatusOK, "admin_invite.html", view)
}

// withdraw serves POST /console/admins/invitations/{id}/withdraw: the
// link stops working (admin.DeleteAdminActivation).
func (p *Pages) withdraw(w http.ResponseWriter, r *http.Request, c req) error {
	if err := ownerOnly(c, "withdraw invitations"); err != nil {
		return err
	}
	if err := p.admin.DeleteAdminActivation(r.Context(), c.Actor, r.PathValue("id")); err != nil {
		if errors.Is(err, mfa.ErrNotFound) {
			return mfa.NotFoundf("no such invitation")
		}
		return err
	}
	return web.Redirect(w, r, "/console/admins?done=withdrawn")
}
