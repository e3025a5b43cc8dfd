package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// An administrator's own security keys (My account, Security keys) and
// the key step of the sign-in. The WebAuthn ceremonies are authflow's;
// storing and removing a key go through the admin service as the signed-in
// administrator (admin-logged). The pages use the prompt's
// /static/webauthn.js, which runs navigator.credentials from the
// data-webauthn element and submits the answer.

// Session keys of the ceremonies under way.
const (
	keyKeyReg   = "console.keyreg"   // registration: ceremony state and name
	keyKeyLogin = "console.keylogin" // sign-in: ceremony state
)

// AccountKeysPath is the administrator's own security keys page.
const AccountKeysPath = "/console/account/keys"

// maxKeyForm bounds the finished ceremony's form (an attestation with a
// certificate chain).
const maxKeyForm = 64 << 10

type keyReg struct {
	State string `json:"s"`
	Name  string `json:"n"`
}

// accountKeyView is one of the administrator's keys.
type accountKeyView struct {
	ID, Name        string
	Added, LastUsed time.Time
	Cloned          bool
}

type accountKeysView struct {
	Keys []accountKeyView
	Name web.Field
	Full bool
}

func keyNameField(v string) web.Field {
	return web.Field{Name: "name", Label: msgKeyName, Value: v, Required: true, Autocomplete: "off", Hint: msgKeyNameHint}
}

func (p *Pages) keysOn() error {
	if !p.flow.KeysEnabled() {
		return mfa.NotFoundf("Security keys are not set up on this server.")
	}
	return nil
}

func (p *Pages) accountKeysView(r *http.Request, c req, name string) (accountKeysView, error) {
	ks, err := p.admin.OwnKeys(r.Context(), c.Actor)
	if err != nil {
		return accountKeysView{}, err
	}
	v := accountKeysView{Name: keyNameField(name), Full: len(ks) >= mfa.MaxWebAuthnPerUser}
	for _, k := range ks {
		v.Keys = append(v.Keys, accountKeyView{ID: k.ID, Name: k.Name, Added: k.Created, LastUsed: k.LastUsed, Cloned: k.Cloned})
	}
	return v, nil
}

// accountKeys serves GET /console/account/keys.
func (p *Pages) accountKeys(w http.ResponseWriter, r *http.Request, c req) error {
	if err := p.keysOn(); err != nil {
		return err
	}
	v, err := p.accountKeysView(r, c, "")
	if err != nil {
		return err
	}
	view := p.view(c, msgAccountKeysTitle, AccountKeysPath, v)
	switch r.URL.Query().Get("done") {
	case "added":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgKeyAdded}}
	case "removed":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgKeyRemoved}}
	}
	web.NoStore(w)
	return p.tmpl.Render(w, r, http.StatusOK, "account_keys.html", view)
}

type keyTouchView struct {
	Options, Name string
}

// addAccountKey serves POST /console/account/keys/add: the name checked,
// the registration begun (its state in the session) and the page that asks
// the browser for the new key.
func (p *Pages) addAccountKey(w http.ResponseWriter, r *http.Request, c req) error {
	if err := p.keysOn(); err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	v, err := p.accountKeysView(r, c, name)
	if err != nil {
		return err
	}
	web.Form(r, p.tmpl, "account_keys.html", p.view(c, msgAccountKeysTitle, AccountKeysPath, v))
	if err := mfa.CheckWebAuthnName(name); err != nil {
		return err
	}
	cer, err := p.flow.BeginAdminKeyRegistration(r.Context(), c.Admin.ID)
	if err != nil {
		return err
	}
	if err := c.Sess.PutJSON(keyKeyReg, keyReg{State: cer.State, Name: name}); err != nil {
		return err
	}
	web.NoStore(w)
	return p.tmpl.Render(w, r, http.StatusOK, "account_key_touch.html",
		p.view(c, msgAddKeyTitle, AccountKeysPath, keyTouchView{Options: string(cer.Options), Name: name}))
}

// finishAccountKey serves POST /console/account/keys/finish: the
// browser's answer verified (once per ceremony) and the key stored.
func (p *Pages) finishAccountKey(w http.ResponseWriter, r *http.Request, c req) error {
	if err := p.keysOn(); err != nil {
		return err
	}
	var reg keyReg
	if err := c.Sess.GetJSON(keyKeyReg, &reg); err != nil && !errors.Is(err, mfa.ErrNotFound) {
		return err
	}
	c.Sess.Delete(keyKeyReg)
	v, err := p.accountKeysView(r, c, reg.Name)
	if err != nil {
		return err
	}
	web.Form(r, p.tmpl, "account_keys.html", p.view(c, msgAccountKeysTitle, AccountKeysPath, v))
	resp := r.PostFormValue("credential")
	if reg.State == "" || resp == "" {
		return mfa.InvalidField("name", msgKeyNoAnswer)
	}
	cred, err := p.flow.FinishAdminKeyRegistration(r.Context(), c.Admin.ID, reg.State, reg.Name, []byte(resp))
	if err == nil {
		_, err = p.admin.AddOwnKey(r.Context(), c.Actor, cred)
	}
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.Invalid {
		return mfa.InvalidField("name", me.Msg) // the one field of the form
	}
	if err != nil {
		return err
	}
	return web.Redirect(w, r, AccountKeysPath+"?done=added")
}

// removeAccountKey serves POST /console/account/keys/{key}/remove.
func (p *Pages) removeAccountKey(w http.ResponseWriter, r *http.Request, c req) error {
	if err := p.keysOn(); err != nil {
		return err
	}
	if err := p.admin.RemoveOwnKey(r.Context(), c.Actor, r.PathValue("key")); err != nil {
		return err
	}
	return web.Redirect(w, r, AccountKeysPath+"?done=removed")
}

// codeView is the sign-in's second step: the TOTP code, and when the
// administrator has a security key, the options of a key ceremony.
type codeView struct {
	Code       web.Field
	KeyOptions string
}

// codeData makes the second step's page for the pending administrator id,
// beginning a key ceremony (kept in the session) when they have a key.
func (p *Pages) codeData(r *http.Request, sess *web.Session, id string) (codeView, error) {
	v := codeView{Code: codeField()}
	ks, err := p.flow.AdminKeys(r.Context(), id)
	if err != nil || len(ks) == 0 {
		return v, err
	}
	cer, err := p.flow.BeginAdminKeyLogin(r.Context(), id)
	switch {
	case mfa.KindOf(err) == mfa.Invalid || mfa.KindOf(err) == mfa.Denied:
		// Only cloned keys left: the code alone. Disabled or locked out:
		// the code's answer says so, as without keys.
		return v, nil
	case err != nil:
		return v, err
	}
	sess.Put(keyKeyLogin, cer.State)
	v.KeyOptions = string(cer.Options)
	return v, nil
}

// keyLogin serves POST /console/login/key: the browser's answer to the
// key ceremony, instead of the code.
func (p *Pages) keyLogin(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	id := p.pending(sess)
	if id == "" {
		return web.Redirect(w, r, "/console/login?ended=1")
	}
	state := sess.Get(keyKeyLogin)
	sess.Delete(keyKeyLogin)
	ad, err := p.flow.CheckAdminKey(r.Context(), id, state, []byte(r.PostFormValue("credential")), clientIP(r))
	var me *mfa.Error
	switch {
	case err == nil:
	case errors.As(err, &me) && me.Kind == mfa.Denied:
		sess.Destroy()
		return web.LockedOut(me.Msg, msgAskOwner)
	case errors.As(err, &me) && me.Kind == mfa.Invalid:
		v, verr := p.codeData(r, sess, id)
		if verr != nil {
			return verr
		}
		return p.tmpl.Render(w, r, http.StatusBadRequest, "code.html", web.View{Title: msgCodeTitle, Data: v,
			Errors: []web.FieldError{{Field: "credential", Msg: me.Msg}}})
	default:
		return err
	}
	return p.signInDone(w, r, sess, ad)
}
