package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Administrators: DUO-WIRE.md 3.7. role is required on create (Duo
// defaults to Owner, which is unsafe); "password" is a twostep extension.

func (h *Handler) adminRoutes() []route {
	return []route{
		{"GET /admin/v1/admins", h.listAdmins},
		{"POST /admin/v1/admins", h.createAdmin},
		{"GET /admin/v1/admins/{admin_id}", h.getAdmin},
		{"POST /admin/v1/admins/{admin_id}", h.modifyAdmin},
		{"DELETE /admin/v1/admins/{admin_id}", h.deleteAdmin},
		{"POST /admin/v1/admins/{admin_id}/reset", h.resetAdmin},
		{"POST /admin/v1/admins/activations", h.createAdminActivation},
		{"GET /admin/v1/admins/activations", h.listAdminActivations},
		{"DELETE /admin/v1/admins/activations/{admin_activation_id}", h.deleteAdminActivation},
	}
}

// adminActivationObject is a pending activation link as listed.
type adminActivationObject struct {
	AdminActivationID string `json:"admin_activation_id"`
	AdminRole         string `json:"admin_role"`
	Email             string `json:"email"`
	Expires           int64  `json:"expires"`
	Created           int64  `json:"created"`
	CreatedBy         string `json:"created_by"`
}

func newAdminActivationObject(a mfa.AdminActivation) adminActivationObject {
	return adminActivationObject{AdminActivationID: a.ID, AdminRole: string(a.Role), Email: a.Email,
		Expires: a.Expires.Unix(), Created: a.Created.Unix(), CreatedBy: a.CreatedBy}
}

// createdAdminActivation is duo_client_python's activate_admin answer: the
// code and link are shown this once.
type createdAdminActivation struct {
	AdminActivationID string `json:"admin_activation_id"`
	AdminRole         string `json:"admin_role"`
	Code              string `json:"code"`
	Email             string `json:"email"`
	EmailSent         bool   `json:"email_sent"`
	Expires           int64  `json:"expires"`
	Link              string `json:"link"`
	Message           string `json:"message"`
	Subject           string `json:"subject"`
	ValidDays         int    `json:"valid_days"`
}

// createAdminActivation answers POST /admin/v1/admins/activations: email
// (required), admin_role (default Read-only), valid_days (1-31, default
// 7), send_email.
func (h *Handler) createAdminActivation(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	req := admin.AdminActivationRequest{Email: c.Param("email"), Role: optString(c, "admin_role")}
	if !has(c, "email") {
		return badParam("email", "required")
	}
	var err error
	if req.ValidDays, err = optInt(c, "valid_days"); err != nil {
		return err
	}
	if req.SendEmail, err = boolParam(c, "send_email", false); err != nil {
		return err
	}
	l, err := h.svc.CreateAdminActivation(r.Context(), actor(c), req)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, createdAdminActivation{AdminActivationID: l.ID, AdminRole: string(l.Role), Code: string(l.Code),
		Email: l.Email, EmailSent: l.EmailSent, Expires: l.Expires.Unix(), Link: l.Link, Message: l.Message,
		Subject: l.Subject, ValidDays: l.ValidDays})
	return nil
}

func (h *Handler) listAdminActivations(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	list, total, err := h.svc.ListAdminActivations(r.Context(), actor(c), p)
	if err != nil {
		return err
	}
	out := make([]adminActivationObject, 0, len(list))
	for _, a := range list {
		out = append(out, newAdminActivationObject(a))
	}
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func (h *Handler) deleteAdminActivation(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteAdminActivation(r.Context(), actor(c), r.PathValue("admin_activation_id")))
}

type adminObject struct {
	AdminID   string `json:"admin_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Phone     string `json:"phone"`
	Status    string `json:"status"`
	Created   int64  `json:"created"`
	LastLogin *int64 `json:"last_login"`
}

func newAdminObject(a mfa.Admin) adminObject {
	return adminObject{AdminID: a.ID, Email: a.Email, Name: a.Name, Role: string(a.Role), Status: a.Status(),
		Created: a.Created.Unix(), LastLogin: unix(a.LastLogin)}
}

// createdAdminObject is the create response: the object and, when twostep
// generated it, the password, shown this once.
type createdAdminObject struct {
	adminObject
	Password string `json:"password,omitempty"`
}

// unsupportedAdminParams are Duo administrator parameters twostep does not
// implement: twostep administrators have no second factor (phone,
// token_id), no activation expiry (valid_days), no administrative units and
// no forced password change. A request carrying one is refused (400 naming
// it) rather than answered OK without what the caller asked for.
var unsupportedAdminParams = []string{"phone", "token_id", "valid_days", "restricted_by_admin_units",
	"admin_units", "password_change_required"}

func adminFields(c *api.Caller) (admin.AdminFields, error) {
	for _, name := range unsupportedAdminParams {
		if has(c, name) {
			return admin.AdminFields{}, badParam(name, "not implemented by twostep")
		}
	}
	return admin.AdminFields{Email: optString(c, "email"), Name: optString(c, "name"),
		Role: optString(c, "role"), Password: optString(c, "password"), Status: optString(c, "status")}, nil
}

func (h *Handler) listAdmins(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	admins, total, err := h.svc.ListAdmins(r.Context(), actor(c), p)
	if err != nil {
		return err
	}
	out := make([]adminObject, 0, len(admins))
	for _, a := range admins {
		out = append(out, newAdminObject(a))
	}
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func (h *Handler) createAdmin(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := adminFields(c)
	if err != nil {
		return err
	}
	send, err := boolParam(c, "send_email", false)
	if err != nil {
		return err
	}
	f.SendEmail = send
	a, password, err := h.svc.CreateAdmin(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, createdAdminObject{adminObject: newAdminObject(a), Password: string(password)})
	return nil
}

func (h *Handler) getAdmin(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	a, err := h.svc.GetAdmin(r.Context(), actor(c), r.PathValue("admin_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newAdminObject(a))
	return nil
}

func (h *Handler) modifyAdmin(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := adminFields(c)
	if err != nil {
		return err
	}
	a, err := h.svc.UpdateAdmin(r.Context(), actor(c), r.PathValue("admin_id"), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newAdminObject(a))
	return nil
}

// resetAdmin is Duo's "clear the administrator's failed login attempts":
// twostep keeps no such counter, so it checks and logs (admin.ResetAdmin)
// and answers "" as Duo does.
func (h *Handler) resetAdmin(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	if err := h.svc.ResetAdmin(r.Context(), actor(c), r.PathValue("admin_id")); err != nil {
		return err
	}
	duoproto.WriteOK(w, "")
	return nil
}

func (h *Handler) deleteAdmin(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteAdmin(r.Context(), actor(c), r.PathValue("admin_id")))
}
