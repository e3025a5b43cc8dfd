package console

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// User statuses an administrator may set ("locked out" is the system's).
var userStatuses = []struct{ Value, Label string }{
	{string(mfa.StatusActive), "Active: two-step login required"},
	{string(mfa.StatusBypass), "Bypass: logs in without the second step"},
	{string(mfa.StatusDisabled), "Disabled: may not log in"},
}

// Alias slots the user form shows: four, or all of them once four are in
// use (the form replaces the whole set, so every held alias is shown).
const shownAliases = 4

// fieldLabels name the console's form fields in errors ("Username:
// required"): users, phones, tokens and integrations.
var fieldLabels = map[string]string{
	"username": "Username", "realname": "Full name", "firstname": "First name", "lastname": "Last name",
	"email": "Email", "status": "Status", "notes": "Notes", "aliases": "Aliases",
	"number": "Phone number", "extension": "Extension", "type": "Type", "platform": "Platform", "name": "Name",
	"token": "Token", "code1": "First code", "code2": "Second code", "code3": "Third code",
	"redirect_uris": "Redirect URIs", "greeting": "Greeting",
}

// formErr makes a service error a form error naming its field: a taken
// username or alias (the store's Conflict on a field) is shown beside the
// field, and the field's label is put before the service's message.
func formErr(err error) error {
	var me *mfa.Error
	if !errors.As(err, &me) || me.Field == "" || (me.Kind != mfa.Invalid && me.Kind != mfa.Conflict) {
		return err
	}
	field, msg := me.Field, me.Msg
	switch {
	case me.Kind == mfa.Conflict && field == "username":
		msg = "another user already has this username or alias"
	case field == "token_id":
		field = "token"
	case strings.HasPrefix(field, "alias"):
		if n, err := strconv.Atoi(strings.TrimPrefix(field, "alias")); err == nil && n >= 1 {
			return mfa.InvalidField(field, "Alias "+strconv.Itoa(n)+": "+msg)
		}
	}
	if label, ok := fieldLabels[field]; ok && !strings.HasPrefix(msg, label) {
		msg = label + ": " + msg
	}
	return mfa.InvalidField(field, msg)
}

// userFormView is the add and edit user form's model.
type userFormView struct {
	New                                           bool
	User                                          admin.UserDetail // edit only
	Username, RealName, FirstName, LastName, Mail web.Field
	Aliases                                       []web.Field
	Status                                        string
	Statuses                                      []struct{ Value, Label string }
	Notes                                         string
}

func userForm(isNew bool, u admin.UserDetail, username, realname, first, last, email, status, notes string, aliases []string) userFormView {
	v := userFormView{New: isNew, User: u, Status: status, Statuses: userStatuses, Notes: notes,
		Username: web.Field{Name: "username", Label: "Username", Hint: "The name the user logs in with.", Value: username,
			Required: true, Autofocus: true, Autocomplete: "off"},
		RealName:  web.Field{Name: "realname", Label: "Full name", Value: realname, Autocomplete: "off"},
		FirstName: web.Field{Name: "firstname", Label: "First name", Value: first, Autocomplete: "off"},
		LastName:  web.Field{Name: "lastname", Label: "Last name", Value: last, Autocomplete: "off"},
		Mail: web.Field{Name: "email", Label: "Email", Type: "email", Value: email, Autocomplete: "off",
			Hint: "For enrollment emails and notices of changes to the account."},
	}
	if status == string(mfa.StatusLockedOut) {
		v.Statuses = append([]struct{ Value, Label string }{{status, "Locked out: too many failed attempts"}}, userStatuses...)
	}
	n := shownAliases
	if len(aliases) >= shownAliases {
		n = mfa.MaxAliases
	}
	for i := range n {
		val := ""
		if i < len(aliases) {
			val = aliases[i]
		}
		v.Aliases = append(v.Aliases, web.Field{Name: "alias" + strconv.Itoa(i+1), Label: "Alias " + strconv.Itoa(i+1),
			Value: val, Autocomplete: "off"})
	}
	return v
}

// postedUser reads the user form: the view to show again and the fields.
func postedUser(r *http.Request, isNew bool, u admin.UserDetail) (userFormView, admin.UserFields) {
	get := func(k string) string { return r.PostFormValue(k) }
	n := shownAliases
	if len(u.Aliases) >= shownAliases || get("alias"+strconv.Itoa(shownAliases+1)) != "" {
		n = mfa.MaxAliases
	}
	aliases := make([]string, n)
	f := admin.UserFields{Aliases: map[int]string{}, ReplaceAliases: true}
	for i := range n {
		aliases[i] = get("alias" + strconv.Itoa(i+1))
		f.Aliases[i+1] = aliases[i]
	}
	v := userForm(isNew, u, get("username"), get("realname"), get("firstname"), get("lastname"), get("email"),
		get("status"), get("notes"), aliases)
	s := func(k string) *string { x := get(k); return &x }
	f.Username, f.RealName, f.FirstName, f.LastName, f.Email, f.Notes =
		s("username"), s("realname"), s("firstname"), s("lastname"), s("email"), s("notes")
	if st := get("status"); st != "" {
		f.Status = &st
	}
	return v, f
}

// userLink is the user page's path, with a done= notice.
func userLink(id, done string) string {
	p := "/console/users/" + url.PathEscape(id)
	if done != "" {
		p += "?done=" + done
	}
	return p
}

// newUserForm serves GET /console/users/new.
func (p *Pages) newUserForm(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.CreateUsers) {
		return mfa.E(mfa.Denied, "Your role may not add users.")
	}
	v := userForm(true, admin.UserDetail{}, "", "", "", "", "", string(mfa.StatusActive), "", nil)
	return p.tmpl.Render(w, r, http.StatusOK, "user_form.html", p.view(c, msgAddUserTitle, "/console/users", v))
}

// createUser serves POST /console/users/new: the service checks the role
// and the fields; a taken username is a form error beside it.
func (p *Pages) createUser(w http.ResponseWriter, r *http.Request, c req) error {
	v, f := postedUser(r, true, admin.UserDetail{})
	if f.Status == nil {
		active := string(mfa.StatusActive)
		f.Status = &active
	}
	web.Form(r, p.tmpl, "user_form.html", p.view(c, msgAddUserTitle, "/console/users", v))
	u, err := p.admin.CreateUser(r.Context(), c.Actor, f)
	if err != nil {
		return formErr(err)
	}
	return web.Redirect(w, r, userLink(u.ID, "created"))
}

// editUserForm serves GET /console/users/{id}/edit.
func (p *Pages) editUserForm(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.UpdateUsers) {
		return mfa.E(mfa.Denied, "Your role may not change users.")
	}
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v := userForm(false, u, u.Username, u.RealName, u.FirstName, u.LastName, u.Email, string(u.Status), u.Notes, u.Aliases)
	return p.tmpl.Render(w, r, http.StatusOK, "user_form.html", p.view(c, msgEditUserTitle, "/console/users", v))
}

// updateUser serves POST /console/users/{id}/edit: every field of the
// form, the status and the whole set of aliases included.
func (p *Pages) updateUser(w http.ResponseWriter, r *http.Request, c req) error {
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v, f := postedUser(r, false, u)
	web.Form(r, p.tmpl, "user_form.html", p.view(c, msgEditUserTitle, "/console/users", v))
	if _, err := p.admin.UpdateUser(r.Context(), c.Actor, u.ID, f); err != nil {
		return formErr(err)
	}
	return web.Redirect(w, r, userLink(u.ID, "saved"))
}

// deleteUserView is the delete confirmation's model: what goes with the
// user.
type deleteUserView struct {
	User   admin.UserDetail
	Bypass int
}

// deleteUserForm serves GET /console/users/{id}/delete: the confirmation,
// listing what goes with the user.
func (p *Pages) deleteUserForm(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.DeleteUsers) {
		return mfa.E(mfa.Denied, "Your role may not delete users.")
	}
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	_, n, err := p.admin.ListBypassCodes(r.Context(), c.Actor, u.ID, mfa.Page{Limit: 1})
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "user_delete.html", p.view(c, msgDeleteUserTitle, "/console/users", deleteUserView{User: u, Bypass: n}))
}

// deleteUser serves POST /console/users/{id}/delete.
func (p *Pages) deleteUser(w http.ResponseWriter, r *http.Request, c req) error {
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	if err := p.admin.DeleteUser(r.Context(), c.Actor, u.ID); err != nil {
		return err
	}
	return web.Redirect(w, r, "/console/users?done=deleted")
}

// phoneFormView is the add-a-phone form's model.
type phoneFormView struct {
	User              admin.UserDetail
	Number, Ext, Name web.Field
	Type, Platform    string
	Platforms         []string
}

func phoneForm(u admin.UserDetail, number, ext, name, typ, platform string) phoneFormView {
	return phoneFormView{User: u, Type: typ, Platform: platform, Platforms: admin.Platforms,
		Number: web.Field{Name: "number", Label: "Phone number", Hint: "With the country code, such as +1 555 555 0100.",
			Type: "tel", Value: number, Required: true, Autofocus: true, Autocomplete: "off"},
		Ext:  web.Field{Name: "extension", Label: "Extension (optional)", Hint: "Digits dialled after the call connects.", Value: ext, InputMode: "numeric", Autocomplete: "off"},
		Name: web.Field{Name: "name", Label: "Name (optional)", Hint: "Such as “Desk phone” or “Work mobile”.", Value: name, Autocomplete: "off"},
	}
}

// newPhoneForm serves GET /console/users/{id}/phones/new.
func (p *Pages) newPhoneForm(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.WriteDevices) {
		return mfa.E(mfa.Denied, "Your role may not add devices.")
	}
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v := phoneForm(u, "", "", "", string(mfa.PhoneMobile), "generic smartphone")
	return p.tmpl.Render(w, r, http.StatusOK, "phone_add.html", p.view(c, msgAddPhoneTitle, "/console/users", v))
}

// addPhone serves POST /console/users/{id}/phones/new: the phone is
// created and associated with the user in one step (no orphan phone when
// something fails). A landline takes calls only: it has no platform.
func (p *Pages) addPhone(w http.ResponseWriter, r *http.Request, c req) error {
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	get := r.PostFormValue
	v := phoneForm(u, get("number"), get("extension"), get("name"), get("type"), get("platform"))
	web.Form(r, p.tmpl, "phone_add.html", p.view(c, msgAddPhoneTitle, "/console/users", v))
	typ := strings.TrimSpace(get("type"))
	if typ != string(mfa.PhoneMobile) && typ != string(mfa.PhoneLandline) {
		return mfa.InvalidField("type", "Type: choose mobile or landline.")
	}
	if strings.TrimSpace(get("number")) == "" {
		return mfa.InvalidField("number", "Phone number: required")
	}
	number, ext, name, platform := get("number"), get("extension"), get("name"), get("platform")
	if typ == string(mfa.PhoneLandline) {
		platform = "unknown"
	}
	ph, err := p.admin.CreateUserPhone(r.Context(), c.Actor, u.ID, admin.PhoneFields{Number: &number, Extension: &ext,
		Name: &name, Type: &typ, Platform: &platform})
	if err != nil {
		return formErr(err)
	}
	done := "phone-added"
	if ph.Type == mfa.PhoneMobile {
		done = "mobile-added"
	}
	return web.Redirect(w, r, userLink(u.ID, done))
}

// activationQRView is the activation QR page's model.
type activationQRView struct {
	User    admin.UserDetail
	Phone   mfa.Phone
	QR      template.URL
	Code    string
	URL     string
	Expires time.Time
}

// userNotice shows the user page with an error notice: a failure the
// administrator can act on (no message delivery configured, a phone that
// cannot take SMS) is explained there rather than on an error page.
func (p *Pages) userNotice(w http.ResponseWriter, r *http.Request, c req, err error) error {
	status := http.StatusBadRequest
	switch mfa.KindOf(err) {
	case mfa.Invalid, mfa.Conflict:
	case mfa.Unavailable:
		status = http.StatusServiceUnavailable
	case mfa.RateLimited:
		status = http.StatusTooManyRequests
	default:
		return err
	}
	return p.userPage(w, r, c, status, []web.Alert{{Kind: web.AlertError, Title: msgNotDone, Text: noticeText(err)}})
}

// noticeText says a service refusal in the administrator's words.
func noticeText(err error) string {
	msg := mfa.MsgOf(err)
	switch msg {
	case "message delivery is not configured":
		return "twostep cannot send text messages or email: no message delivery is configured (see delivery.carrier and [smtp] in the configuration)."
	case "the server's public host name is not configured":
		return "twostep does not know its public host name, so it cannot make activation links (set public_hostnames in the configuration)."
	}
	if msg == "" {
		return "The request was refused."
	}
	return strings.ToUpper(msg[:1]) + strings.TrimSuffix(msg[1:], ".") + "."
}

// sendActivationSMS serves POST /console/users/{id}/phones/{phone}/activation-sms.
func (p *Pages) sendActivationSMS(w http.ResponseWriter, r *http.Request, c req) error {
	u, ph, err := p.userPhone(r, c)
	if err != nil {
		return err
	}
	if _, err := p.admin.SendSMSActivation(r.Context(), c.Actor, ph.ID, admin.ActivationRequest{Install: true}); err != nil {
		return p.userNotice(w, r, c, err)
	}
	return web.Redirect(w, r, userLink(u.ID, "sms-sent"))
}

// activationQR serves POST /console/users/{id}/phones/{phone}/activation-qr:
// a new activation's QR code, code and link, shown once on this answer
// (no-store, never in a URL).
func (p *Pages) activationQR(w http.ResponseWriter, r *http.Request, c req) error {
	u, ph, err := p.userPhone(r, c)
	if err != nil {
		return err
	}
	link, err := p.admin.ActivationURL(r.Context(), c.Actor, ph.ID, admin.ActivationRequest{})
	if err != nil {
		return p.userNotice(w, r, c, err)
	}
	qr, err := web.QRDataURI(string(link.Code))
	if err != nil {
		return err
	}
	web.NoStore(w)
	v := activationQRView{User: u, Phone: ph, QR: qr, Code: string(link.Code), URL: link.URL, Expires: link.Expires}
	return p.tmpl.Render(w, r, http.StatusOK, "activation_qr.html", p.view(c, msgActivationTitle, "/console/users", v))
}

// enrollUser serves POST /console/users/{id}/enroll: the Admin API's
// users/enroll for this user, to the email on record.
func (p *Pages) enrollUser(w http.ResponseWriter, r *http.Request, c req) error {
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	if u.Email == "" {
		return p.userNotice(w, r, c, mfa.InvalidField("email", "the user has no email address: add one with Edit first"))
	}
	if err := p.admin.EnrollUser(r.Context(), c.Actor, admin.EnrollRequest{Username: u.Username, Email: u.Email}); err != nil {
		return p.userNotice(w, r, c, err)
	}
	return web.Redirect(w, r, userLink(u.ID, "enroll-sent"))
}

// assignTokenView is the assign-a-token form's model.
type assignTokenView struct {
	User     admin.UserDetail
	Tokens   []mfa.Token // unassigned
	Selected string
	More     bool // more tokens than listed
}

// maxAssignable bounds the tokens the assign form reads.
const maxAssignable = 500

func (p *Pages) assignData(r *http.Request, c req, u admin.UserDetail) (assignTokenView, error) {
	list, total, err := p.admin.ListTokens(r.Context(), c.Actor, mfa.TokenFilter{Page: mfa.Page{Limit: maxAssignable}})
	if err != nil {
		return assignTokenView{}, err
	}
	v := assignTokenView{User: u, More: total > len(list)}
	for _, t := range list {
		if len(t.Users) == 0 {
			v.Tokens = append(v.Tokens, t.Token)
		}
	}
	return v, nil
}

// assignTokenForm serves GET /console/users/{id}/tokens/assign.
func (p *Pages) assignTokenForm(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.WriteDevices) {
		return mfa.E(mfa.Denied, "Your role may not assign tokens.")
	}
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v, err := p.assignData(r, c, u)
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "token_assign.html", p.view(c, msgAssignTokenTitle, "/console/users", v))
}

// assignToken serves POST /console/users/{id}/tokens/assign.
func (p *Pages) assignToken(w http.ResponseWriter, r *http.Request, c req) error {
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v, err := p.assignData(r, c, u)
	if err != nil {
		return err
	}
	v.Selected = r.PostFormValue("token")
	web.Form(r, p.tmpl, "token_assign.html", p.view(c, msgAssignTokenTitle, "/console/users", v))
	if strings.TrimSpace(v.Selected) == "" {
		return mfa.InvalidField("token", "Token: choose a token to assign.")
	}
	if err := p.admin.AttachToken(r.Context(), c.Actor, u.ID, v.Selected); err != nil {
		if errors.Is(err, mfa.ErrNotFound) { // the user exists: the token does not
			return mfa.InvalidField("token", "Token: there is no such token; choose one from the list.")
		}
		return formErr(err)
	}
	return web.Redirect(w, r, userLink(u.ID, "token-assigned"))
}

// resyncView is the resync form's model.
type resyncView struct {
	User             admin.UserDetail
	Token            mfa.Token
	Code1, Code2, C3 web.Field
}

func resyncForm(u admin.UserDetail, t mfa.Token, c1, c2, c3 string) resyncView {
	f := func(n int, v string) web.Field {
		return web.Field{Name: "code" + strconv.Itoa(n), Label: []string{"First code", "Second code", "Third code"}[n-1],
			Value: v, InputMode: "numeric", Autocomplete: "off", Required: true, Autofocus: n == 1}
	}
	return resyncView{User: u, Token: t, Code1: f(1, c1), Code2: f(2, c2), C3: f(3, c3)}
}

// resyncForm serves GET /console/users/{id}/tokens/{token}/resync.
func (p *Pages) resyncTokenForm(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.WriteDevices) {
		return mfa.E(mfa.Denied, "Your role may not resynchronize tokens.")
	}
	u, t, err := p.userToken(r, c)
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "token_resync.html", p.view(c, msgResyncTitle, "/console/users", resyncForm(u, t, "", "", "")))
}

// resyncToken serves POST /console/users/{id}/tokens/{token}/resync:
// three consecutive codes of an HOTP token move its counter.
func (p *Pages) resyncToken(w http.ResponseWriter, r *http.Request, c req) error {
	u, t, err := p.userToken(r, c)
	if err != nil {
		return err
	}
	get := r.PostFormValue
	web.Form(r, p.tmpl, "token_resync.html", p.view(c, msgResyncTitle, "/console/users", resyncForm(u, t, get("code1"), get("code2"), get("code3"))))
	if err := p.admin.ResyncToken(r.Context(), c.Actor, t.ID, [3]string{get("code1"), get("code2"), get("code3")}); err != nil {
		err = formErr(err)
		var me *mfa.Error
		if errors.As(err, &me) && me.Field == "token" { // not an HOTP token: no field of the form
			return mfa.E(mfa.Invalid, me.Msg)
		}
		return err
	}
	return web.Redirect(w, r, userLink(u.ID, "resynced"))
}
