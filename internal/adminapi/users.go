package adminapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Users: DUO-WIRE.md 3.2. Deleting a user (or phone, administrator,
// integration) that does not exist answers OK with an empty response, as
// Duo documents ("if the user is already deleted, does nothing"); every
// other request naming an unknown id is 404/40401.

const maxUserLimit = 300

func (h *Handler) userRoutes() []route {
	return []route{
		{"GET /admin/v1/users", h.listUsers},
		{"POST /admin/v1/users", h.createUser},
		{"GET /admin/v1/users/{user_id}", h.getUser},
		{"POST /admin/v1/users/{user_id}", h.modifyUser},
		{"DELETE /admin/v1/users/{user_id}", h.deleteUser},
		{"GET /admin/v1/users/{user_id}/phones", h.listUserPhones},
		{"POST /admin/v1/users/{user_id}/phones", h.associateUserPhone},
		{"DELETE /admin/v1/users/{user_id}/phones/{phone_id}", h.disassociateUserPhone},
	}
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxUserLimit)
	if err != nil {
		return err
	}
	f := mfa.UserFilter{Page: p, Username: strings.TrimSpace(c.Param("username")), Email: strings.TrimSpace(c.Param("email"))}
	if f.IDs, err = listParam(c, "user_id_list"); err != nil {
		return err
	}
	if f.Usernames, err = listParam(c, "username_list"); err != nil {
		return err
	}
	users, total, err := h.svc.ListUsers(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := make([]userObject, 0, len(users))
	for _, u := range users {
		out = append(out, newUserObject(u.User, u.Phones, u.Tokens, u.Groups, u.WebAuthn))
	}
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

// userFields reads the user parameters of a create or modify request.
func userFields(c *api.Caller) (admin.UserFields, error) {
	f := admin.UserFields{
		Username: optString(c, "username"), RealName: optString(c, "realname"),
		FirstName: optString(c, "firstname"), LastName: optString(c, "lastname"),
		Email: optString(c, "email"), Status: optString(c, "status"), Notes: optString(c, "notes"),
		Aliases: map[int]string{},
	}
	if has(c, "aliases") {
		// "alias1=x&alias2=y": the whole set.
		f.ReplaceAliases = true
		vals, err := url.ParseQuery(c.Param("aliases"))
		if err != nil {
			return f, badParam("aliases", "must be form-encoded: alias1=name&alias2=name")
		}
		for k, v := range vals {
			n, ok := aliasSlot(k)
			if !ok {
				return f, badParam("aliases", "unknown key %q: use alias1..alias%d", k, mfa.MaxAliases)
			}
			if len(v) > 0 {
				f.Aliases[n] = v[0]
			}
		}
	}
	for name := range c.Params.Params {
		if n, ok := aliasSlot(name); ok {
			f.Aliases[n] = c.Param(name)
		} else if strings.HasPrefix(name, "alias") && name != "aliases" {
			return f, badParam(name, "unknown alias parameter: use alias1..alias%d", mfa.MaxAliases)
		}
	}
	return f, nil
}

// aliasSlot parses "aliasN" for N in 1..mfa.MaxAliases.
func aliasSlot(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "alias")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > mfa.MaxAliases || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := userFields(c)
	if err != nil {
		return err
	}
	u, err := h.svc.CreateUser(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newUserObject(u.User, u.Phones, u.Tokens, u.Groups, u.WebAuthn))
	return nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	u, err := h.svc.GetUser(r.Context(), actor(c), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newUserObject(u.User, u.Phones, u.Tokens, u.Groups, u.WebAuthn))
	return nil
}

func (h *Handler) modifyUser(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := userFields(c)
	if err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(r.Context(), actor(c), r.PathValue("user_id"), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newUserObject(u.User, u.Phones, u.Tokens, u.Groups, u.WebAuthn))
	return nil
}

// deleted answers a delete: OK, also when the object was already gone.
func deleted(w http.ResponseWriter, err error) error {
	if err != nil && !errors.Is(err, mfa.ErrNotFound) {
		return err
	}
	duoproto.WriteOK(w, "")
	return nil
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteUser(r.Context(), actor(c), r.PathValue("user_id")))
}

func (h *Handler) listUserPhones(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	phones, err := h.svc.UserPhones(r.Context(), actor(c), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	total := len(phones)
	phones = pageOf(phones, p)
	out := make([]phoneObject, 0, len(phones))
	for _, ph := range phones {
		out = append(out, newPhoneObject(ph, nil))
	}
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func (h *Handler) associateUserPhone(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	phoneID, err := required(c, "phone_id")
	if err != nil {
		return err
	}
	return empty(w, h.svc.AttachPhone(r.Context(), actor(c), r.PathValue("user_id"), phoneID))
}

func (h *Handler) disassociateUserPhone(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return empty(w, h.svc.DetachPhone(r.Context(), actor(c), r.PathValue("user_id"), r.PathValue("phone_id")))
}
