package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// usersPerPage is the length of a page of search results.
const usersPerPage = 25

// maxSearch bounds a search (longer ones are cut).
const maxSearch = 100

// usersView is the user search page's model.
type usersView struct {
	Query      string
	Users      []admin.UserDetail
	Total      int
	From, To   int
	Prev, Next string // links to the neighbouring pages; "" at the ends
	CanCreate  bool
}

// users serves GET /console/users?q=&page=: every user, or those the
// search finds (username, alias, email, real name, phone number).
func (p *Pages) users(w http.ResponseWriter, r *http.Request, c req) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxSearch {
		q = q[:maxSearch]
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	users, total, err := p.admin.ListUsers(r.Context(), c.Actor, mfa.UserFilter{Search: q,
		Page: mfa.Page{Limit: usersPerPage, Offset: (page - 1) * usersPerPage}})
	if err != nil {
		return err
	}
	v := usersView{Query: q, Users: users, Total: total, CanCreate: p.may(r, c, admin.CreateUsers)}
	if len(users) > 0 {
		v.From, v.To = (page-1)*usersPerPage+1, (page-1)*usersPerPage+len(users)
	}
	link := func(n int) string {
		vals := url.Values{}
		if q != "" {
			vals.Set("q", q)
		}
		vals.Set("page", strconv.Itoa(n))
		return "/console/users?" + vals.Encode()
	}
	if page > 1 {
		v.Prev = link(page - 1)
	}
	if page*usersPerPage < total {
		v.Next = link(page + 1)
	}
	view := p.view(c, msgUsersTitle, "/console/users", v)
	if r.URL.Query().Get("done") == "deleted" {
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgUserDeleted}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "users.html", view)
}

// userView is the user page's model.
type userView struct {
	User   admin.UserDetail
	Bypass []admin.BypassInfo
	Logins []mfa.AuthLogEntry
	Now    time.Time
	// Keys are the user's security keys and passkeys.
	Keys []mfa.WebAuthnCredential
	// What the role may do here.
	CanUnlock, CanRemove, CanBypass, CanLogs, CanRemoveKeys bool
	CanEdit, CanDelete, CanAddDevice, CanActivate           bool
}

// loadUser reads the user of the request's {id}.
func (p *Pages) loadUser(r *http.Request, c req) (admin.UserDetail, error) {
	return p.admin.GetUser(r.Context(), c.Actor, r.PathValue("id"))
}

// user serves GET /console/users/{id}.
func (p *Pages) user(w http.ResponseWriter, r *http.Request, c req) error {
	var alerts []web.Alert
	if msg, ok := doneMessages[r.URL.Query().Get("done")]; ok {
		alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msg}}
	}
	return p.userPage(w, r, c, http.StatusOK, alerts)
}

// doneMessages are the user page's notices after a change (?done=).
var doneMessages = map[string]string{
	"unlocked": msgUnlocked, "removed": msgPhoneRemoved, "created": msgUserCreated, "saved": msgUserSaved,
	"phone-added": msgPhoneAdded, "mobile-added": msgMobileAdded, "sms-sent": msgSMSSent, "enroll-sent": msgEnrollSent,
	"token-assigned": msgTokenAssigned, "resynced": msgResynced,
}

// userPage renders the user page of the request's {id} with status and
// alerts.
func (p *Pages) userPage(w http.ResponseWriter, r *http.Request, c req, status int, alerts []web.Alert) error {
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v := userView{User: u, Now: p.now(),
		CanUnlock: p.may(r, c, admin.UpdateUsers), CanRemove: p.may(r, c, admin.WriteDevices),
		CanBypass: p.may(r, c, admin.CreateBypassCodes), CanLogs: p.may(r, c, admin.ReadLogs),
		CanRemoveKeys: p.may(r, c, admin.DeleteDevices), CanEdit: p.may(r, c, admin.UpdateUsers),
		CanDelete: p.may(r, c, admin.DeleteUsers), CanAddDevice: p.may(r, c, admin.WriteDevices),
		CanActivate: p.may(r, c, admin.SendActivations)}
	keys, _, err := p.admin.ListWebAuthn(r.Context(), c.Actor, mfa.WebAuthnFilter{UserID: u.ID, Page: mfa.Page{Limit: 100}})
	if err != nil {
		return err
	}
	for _, k := range keys {
		v.Keys = append(v.Keys, k.Credential)
	}
	if v.Bypass, _, err = p.admin.ListBypassCodes(r.Context(), c.Actor, u.ID, mfa.Page{Limit: 100}); err != nil {
		return err
	}
	if v.CanLogs {
		now := p.now()
		if v.Logins, _, err = p.admin.AuthLog(r.Context(), c.Actor, mfa.AuthLogFilter{MinTime: now.Add(-90 * 24 * time.Hour),
			MaxTime: now, UserIDs: []string{u.ID}, Limit: 10, Descending: true}); err != nil {
			return err
		}
	}
	view := p.view(c, u.Username, "/console/users", v)
	view.Alerts = alerts
	return p.tmpl.Render(w, r, status, "user.html", view)
}

// unlock serves POST /console/users/{id}/unlock: one click makes a
// locked-out user active again (the failures are cleared by the store).
func (p *Pages) unlock(w http.ResponseWriter, r *http.Request, c req) error {
	active := string(mfa.StatusActive)
	u, err := p.admin.UpdateUser(r.Context(), c.Actor, r.PathValue("id"), admin.UserFields{Status: &active})
	if err != nil {
		return err
	}
	return web.Redirect(w, r, "/console/users/"+url.PathEscape(u.ID)+"?done=unlocked")
}

// removeView is the confirmation page of removing a device.
type removeView struct {
	User  admin.UserDetail
	Phone mfa.Phone
}

// userPhone finds the request's {phone} among the user's phones: a phone
// of another user is NotFound here.
func (p *Pages) userPhone(r *http.Request, c req) (admin.UserDetail, mfa.Phone, error) {
	u, err := p.loadUser(r, c)
	if err != nil {
		return u, mfa.Phone{}, err
	}
	for _, ph := range u.Phones {
		if ph.ID == r.PathValue("phone") {
			return u, ph, nil
		}
	}
	return u, mfa.Phone{}, mfa.NotFoundf("this user has no such device")
}

// removePhoneForm serves GET /console/users/{id}/phones/{phone}/remove:
// the confirmation.
func (p *Pages) removePhoneForm(w http.ResponseWriter, r *http.Request, c req) error {
	u, ph, err := p.userPhone(r, c)
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "remove.html", p.view(c, msgRemoveTitle, "/console/users", removeView{User: u, Phone: ph}))
}

// removePhone serves POST /console/users/{id}/phones/{phone}/remove: a
// lost or stolen device stops logging the user in at once (seed 003): the
// phone is detached from the user, so its passcodes, pushes, calls and
// SMS no longer count for them.
func (p *Pages) removePhone(w http.ResponseWriter, r *http.Request, c req) error {
	u, ph, err := p.userPhone(r, c)
	if err != nil {
		return err
	}
	if err := p.admin.DetachPhone(r.Context(), c.Actor, u.ID, ph.ID); err != nil {
		return err
	}
	return web.Redirect(w, r, "/console/users/"+url.PathEscape(u.ID)+"?done=removed")
}

// removeTokenView is the confirmation page of removing a hardware token.
type removeTokenView struct {
	User  admin.UserDetail
	Token mfa.Token
}

// userToken finds the request's {token} among the user's tokens.
func (p *Pages) userToken(r *http.Request, c req) (admin.UserDetail, mfa.Token, error) {
	u, err := p.loadUser(r, c)
	if err != nil {
		return u, mfa.Token{}, err
	}
	for _, t := range u.Tokens {
		if t.ID == r.PathValue("token") {
			return u, t, nil
		}
	}
	return u, mfa.Token{}, mfa.NotFoundf("this user has no such token")
}

// removeTokenForm serves GET /console/users/{id}/tokens/{token}/remove.
func (p *Pages) removeTokenForm(w http.ResponseWriter, r *http.Request, c req) error {
	u, t, err := p.userToken(r, c)
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "remove_token.html", p.view(c, msgRemoveTitle, "/console/users", removeTokenView{User: u, Token: t}))
}

// removeToken serves POST /console/users/{id}/tokens/{token}/remove: a
// lost hardware token stops logging the user in at once.
func (p *Pages) removeToken(w http.ResponseWriter, r *http.Request, c req) error {
	u, t, err := p.userToken(r, c)
	if err != nil {
		return err
	}
	if err := p.admin.DetachToken(r.Context(), c.Actor, u.ID, t.ID); err != nil {
		return err
	}
	return web.Redirect(w, r, "/console/users/"+url.PathEscape(u.ID)+"?done=removed")
}

// removeKeyView is the confirmation page of removing a security key.
type removeKeyView struct {
	User admin.UserDetail
	Key  mfa.WebAuthnCredential
}

// userKey finds the request's {key} among the user's security keys: a key
// of another user is NotFound here.
func (p *Pages) userKey(r *http.Request, c req) (admin.UserDetail, mfa.WebAuthnCredential, error) {
	u, err := p.loadUser(r, c)
	if err != nil {
		return u, mfa.WebAuthnCredential{}, err
	}
	k, err := p.admin.GetWebAuthn(r.Context(), c.Actor, r.PathValue("key"))
	if err != nil || k.Credential.UserID != u.ID {
		return u, mfa.WebAuthnCredential{}, mfa.NotFoundf("this user has no such security key")
	}
	return u, k.Credential, nil
}

// removeKeyForm serves GET /console/users/{id}/keys/{key}/remove.
func (p *Pages) removeKeyForm(w http.ResponseWriter, r *http.Request, c req) error {
	u, k, err := p.userKey(r, c)
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "remove_key.html", p.view(c, msgRemoveKeyTitle, "/console/users", removeKeyView{User: u, Key: k}))
}

// removeKey serves POST /console/users/{id}/keys/{key}/remove: a lost or
// possibly cloned security key stops logging the user in at once.
func (p *Pages) removeKey(w http.ResponseWriter, r *http.Request, c req) error {
	u, k, err := p.userKey(r, c)
	if err != nil {
		return err
	}
	if err := p.admin.DeleteWebAuthn(r.Context(), c.Actor, k.ID); err != nil {
		return err
	}
	return web.Redirect(w, r, "/console/users/"+url.PathEscape(u.ID)+"?done=removed")
}

// adminsView is the administrators page's model.
type adminsView struct {
	Admins      []mfa.Admin
	Invitations []mfa.AdminActivation // pending, unexpired
	Invite      inviteForm
	Now         time.Time
	Done        bool
}

// adminsData reads the administrators and the pending invitations.
func (p *Pages) adminsData(r *http.Request, c req) (adminsView, error) {
	list, _, err := p.admin.ListAdmins(r.Context(), c.Actor, mfa.Page{})
	if err != nil {
		return adminsView{}, err
	}
	inv, _, err := p.admin.ListAdminActivations(r.Context(), c.Actor, mfa.Page{})
	if err != nil {
		return adminsView{}, err
	}
	return adminsView{Admins: list, Invitations: inv, Now: p.now(),
		Invite: newInviteForm(c.Actor, "", "", strconv.Itoa(admin.DefaultAdminActivationDays))}, nil
}

// admins serves GET /console/admins (Owners): the administrators, the
// pending invitations and the form to invite one.
func (p *Pages) admins(w http.ResponseWriter, r *http.Request, c req) error {
	if err := ownerOnly(c, "manage administrators"); err != nil {
		return err
	}
	v, err := p.adminsData(r, c)
	if err != nil {
		return err
	}
	view := p.view(c, msgAdminsTitle, "/console/admins", v)
	switch r.URL.Query().Get("done") {
	case "reset":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgAdminReset}}
	case "withdrawn":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgInviteWithdrawn}}
	case "deleted":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgAdminDeleted}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "admins.html", view)
}

// resetAdmin serves POST /console/admins/{id}/reset: an Owner clears an
// administrator's failed sign-ins and lockout.
func (p *Pages) resetAdmin(w http.ResponseWriter, r *http.Request, c req) error {
	if err := p.admin.ResetAdmin(r.Context(), c.Actor, r.PathValue("id")); err != nil {
		if errors.Is(err, mfa.ErrNotFound) {
			return mfa.NotFoundf("no such administrator")
		}
		return err
	}
	return web.Redirect(w, r, "/console/admins?done=reset")
}
