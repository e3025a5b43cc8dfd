package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// adminEditView is an administrator's page (Owners): role and status, the
// lost-authenticator reset and the way to delete them.
type adminEditView struct {
	Admin mfa.Admin
	Role  string
	Roles []mfa.Role
	// Status is "Active" or "Disabled" (the form's value).
	Status string
	// Authenticator: "set up", "not set up" or "being set up".
	Authenticator string
	Self          bool
}

// loadAdmin reads the request's {id} administrator, for an Owner.
func (p *Pages) loadAdmin(r *http.Request, c req, what string) (mfa.Admin, error) {
	if err := ownerOnly(c, what); err != nil {
		return mfa.Admin{}, err
	}
	ad, err := p.admin.GetAdmin(r.Context(), c.Actor, r.PathValue("id"))
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.Admin{}, mfa.NotFoundf("no such administrator")
	}
	return ad, err
}

// authenticatorOf says whether ad's authenticator app is set up.
func (p *Pages) authenticatorOf(r *http.Request, ad mfa.Admin) (string, error) {
	_, err := p.flow.PendingAdminTOTP(r.Context(), ad.ID)
	switch {
	case err == nil:
		return "being set up", nil
	case mfa.KindOf(err) == mfa.Conflict:
		return "set up", nil
	case errors.Is(err, mfa.ErrNotFound):
		return "not set up", nil
	}
	return "", err
}

func (p *Pages) adminEditData(r *http.Request, c req, ad mfa.Admin) (adminEditView, error) {
	auth, err := p.authenticatorOf(r, ad)
	if err != nil {
		return adminEditView{}, err
	}
	return adminEditView{Admin: ad, Role: string(ad.Role), Roles: admin.GrantableRoles(c.Actor), Status: ad.Status(),
		Authenticator: auth, Self: ad.ID == c.Admin.ID}, nil
}

func adminPath(ad mfa.Admin) string { return "/console/admins/" + url.PathEscape(ad.ID) }

// adminEdit serves GET /console/admins/{id}.
func (p *Pages) adminEdit(w http.ResponseWriter, r *http.Request, c req) error {
	ad, err := p.loadAdmin(r, c, "manage administrators")
	if err != nil {
		return err
	}
	v, err := p.adminEditData(r, c, ad)
	if err != nil {
		return err
	}
	view := p.view(c, ad.Email, "/console/admins", v)
	switch r.URL.Query().Get("done") {
	case "saved":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgAdminSaved}}
	case "authenticator":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgAuthenticatorReset}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "admin_edit.html", view)
}

// updateAdmin serves POST /console/admins/{id}: a new role (only one the
// Owner may grant) and status, through admin.UpdateAdmin, which keeps an
// active Owner.
func (p *Pages) updateAdmin(w http.ResponseWriter, r *http.Request, c req) error {
	ad, err := p.loadAdmin(r, c, "manage administrators")
	if err != nil {
		return err
	}
	v, err := p.adminEditData(r, c, ad)
	if err != nil {
		return err
	}
	v.Role, v.Status = strings.TrimSpace(r.PostFormValue("role")), strings.TrimSpace(r.PostFormValue("status"))
	web.Form(r, p.tmpl, "admin_edit.html", p.view(c, ad.Email, "/console/admins", v))
	granted := false
	for _, g := range v.Roles {
		granted = granted || string(g) == v.Role
	}
	if !granted {
		return mfa.InvalidField("role", "Choose one of the roles offered.")
	}
	if v.Status != mfa.AdminStatusActive && v.Status != mfa.AdminStatusDisabled {
		return mfa.InvalidField("status", "Choose Active or Disabled.")
	}
	var f admin.AdminFields
	if v.Role != string(ad.Role) {
		f.Role = &v.Role
	}
	if v.Status != ad.Status() {
		f.Status = &v.Status
	}
	if f.Role == nil && f.Status == nil {
		return web.Redirect(w, r, adminPath(ad))
	}
	if _, err := p.admin.UpdateAdmin(r.Context(), c.Actor, ad.ID, f); err != nil {
		var me *mfa.Error
		if errors.As(err, &me) && me.Kind == mfa.Invalid {
			switch me.Field {
			case "role":
				return mfa.InvalidField("role", "This is the last Owner: make another administrator an Owner before changing this one's role.")
			case "status":
				return mfa.InvalidField("status", "This is the last active Owner: make another administrator an Owner before disabling this one.")
			}
		}
		return err
	}
	if ad.ID == c.Admin.ID && v.Role != string(mfa.RoleOwner) {
		// An Owner who gave up the role may no longer see this page.
		return web.Redirect(w, r, "/console/")
	}
	return web.Redirect(w, r, adminPath(ad)+"?done=saved")
}

// resetAuthenticator serves POST /console/admins/{id}/authenticator: the
// administrator's lost authenticator app is removed
// (admin.ResetAdminAuthenticator); their next sign-in sets up a new one
// and their console sessions end at their next request.
func (p *Pages) resetAuthenticator(w http.ResponseWriter, r *http.Request, c req) error {
	ad, err := p.loadAdmin(r, c, "reset an administrator's authenticator")
	if err != nil {
		return err
	}
	v, err := p.adminEditData(r, c, ad)
	if err != nil {
		return err
	}
	web.Form(r, p.tmpl, "admin_edit.html", p.view(c, ad.Email, "/console/admins", v))
	if err := p.admin.ResetAdminAuthenticator(r.Context(), c.Actor, ad.ID); err != nil {
		if errors.Is(err, mfa.ErrNotFound) {
			return mfa.NotFoundf("no such administrator")
		}
		return err
	}
	return web.Redirect(w, r, adminPath(ad)+"?done=authenticator")
}

// deleteAdminForm serves GET /console/admins/{id}/delete: the
// confirmation.
func (p *Pages) deleteAdminForm(w http.ResponseWriter, r *http.Request, c req) error {
	ad, err := p.loadAdmin(r, c, "delete administrators")
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "admin_delete.html", p.view(c, msgDeleteAdminTitle, "/console/admins",
		adminEditView{Admin: ad, Self: ad.ID == c.Admin.ID}))
}

// deleteAdmin serves POST /console/admins/{id}/delete (admin.DeleteAdmin:
// never the last active Owner).
func (p *Pages) deleteAdmin(w http.ResponseWriter, r *http.Request, c req) error {
	ad, err := p.loadAdmin(r, c, "delete administrators")
	if err != nil {
		return err
	}
	web.Form(r, p.tmpl, "admin_delete.html", p.view(c, msgDeleteAdminTitle, "/console/admins",
		adminEditView{Admin: ad, Self: ad.ID == c.Admin.ID}))
	if err := p.admin.DeleteAdmin(r.Context(), c.Actor, ad.ID); err != nil {
		var me *mfa.Error
		if errors.As(err, &me) && me.Kind == mfa.Invalid && me.Field == "admin_id" {
			return mfa.InvalidField("admin_id", "This is the last active Owner: make another administrator an Owner before deleting this one.")
		}
		if errors.Is(err, mfa.ErrNotFound) {
			return mfa.NotFoundf("no such administrator")
		}
		return err
	}
	return web.Redirect(w, r, "/console/admins?done=deleted")
}
