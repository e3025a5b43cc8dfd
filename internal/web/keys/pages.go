package keys

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// Session keys.
const (
	ceremonyKey = "keys:ceremony" // the registration under way
	noticeKey   = "keys:notice"   // a message for the list
)

// Kinds of key a person adds.
const (
	kindKey      = "key"      // a roaming security key (USB, NFC, Bluetooth)
	kindPlatform = "platform" // this device's passkey / biometrics
)

// ceremony is the registration under way, kept in the session.
type ceremony struct {
	State    string `json:"s"`
	Name     string `json:"n"`
	Platform bool   `json:"p"`
}

// errHandled means the answer was written.
var errHandled = errors.New("answered")

func handled(err error) error {
	if errors.Is(err, errHandled) {
		return nil
	}
	return err
}

// user returns the signed-in user's id, or sends the browser to sign in
// (errHandled).
func (p *Pages) user(w http.ResponseWriter, r *http.Request) (string, *web.Session, error) {
	id, ok := p.signedIn(r)
	if !ok || id == "" {
		if err := web.Redirect(w, r, p.signIn); err != nil {
			return "", nil, err
		}
		return "", nil, errHandled
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return "", nil, err
	}
	return id, sess, nil
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, errs []web.FieldError, alerts ...web.Alert) error {
	web.NoStore(w)
	return p.tmpl.Render(w, r, status, name, web.View{Title: title, Layout: web.LayoutWide, Nav: p.nav, Data: data,
		Errors: errs, Alerts: alerts})
}

func (p *Pages) redirect(w http.ResponseWriter, r *http.Request, sess *web.Session, notice, url string) error {
	if notice != "" {
		sess.Put(noticeKey, notice)
	}
	return web.Redirect(w, r, url)
}

// keyView is one key in the list.
type keyView struct {
	ID, Name, Kind, Icon, Added, LastUsed string
	Cloned                                bool
}

func keyViews(ks []mfa.WebAuthnCredential) []keyView {
	out := make([]keyView, 0, len(ks))
	for _, k := range ks {
		v := keyView{ID: k.ID, Name: k.Name, Kind: "Security key", Icon: "key", Added: day(k.Created), LastUsed: "never used to log in",
			Cloned: k.Cloned}
		if k.Platform() {
			v.Kind, v.Icon = "This device's passkey / biometrics", "phone"
		}
		if !k.LastUsed.IsZero() {
			v.LastUsed = "last used " + day(k.LastUsed)
		}
		out = append(out, v)
	}
	return out
}

func day(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

type listView struct {
	Keys []keyView
	Max  int
	Full bool
}

// list serves GET /portal/keys.
func (p *Pages) list(w http.ResponseWriter, r *http.Request) error {
	uid, sess, err := p.user(w, r)
	if err != nil {
		return handled(err)
	}
	ks, err := p.flow.UserKeys(r.Context(), uid)
	if err != nil {
		return err
	}
	var alerts []web.Alert
	if n := sess.Get(noticeKey); n != "" {
		alerts = append(alerts, web.Alert{Kind: web.AlertSuccess, Text: n})
		sess.Delete(noticeKey)
	}
	v := listView{Keys: keyViews(ks), Max: mfa.MaxWebAuthnPerUser, Full: len(ks) >= mfa.MaxWebAuthnPerUser}
	return p.render(w, r, http.StatusOK, "list.html", "Security keys and passkeys", v, nil, alerts...)
}

type addView struct {
	Name     web.Field
	Kind     string
	Platform bool
}

func newAddView(kind, name string) addView {
	v := addView{Kind: kind, Platform: kind == kindPlatform,
		Name: web.Field{Name: "name", Label: "Name", Value: name, Required: true, Autofocus: true, Autocomplete: "off",
			Hint: "So you can tell your keys apart, such as \"Blue YubiKey\" or \"Work laptop\"."}}
	return v
}

func addTitle(kind string) string {
	if kind == kindPlatform {
		return "Add this device's passkey / biometrics"
	}
	return "Add a security key"
}

func kindOf(s string) (string, bool) {
	switch s {
	case kindKey, "":
		return kindKey, true
	case kindPlatform:
		return kindPlatform, true
	}
	return "", false
}

// addForm serves GET /portal/keys/add?kind=key|platform.
func (p *Pages) addForm(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := p.user(w, r); err != nil {
		return handled(err)
	}
	kind, ok := kindOf(r.URL.Query().Get("kind"))
	if !ok {
		return mfa.E(mfa.NotFound, "There is no such kind of security key.")
	}
	return p.render(w, r, http.StatusOK, "add.html", addTitle(kind), newAddView(kind, ""), nil)
}

type touchView struct {
	Options  string
	Name     string
	Platform bool
}

// add serves POST /portal/keys/add: the name checked, the ceremony begun
// and kept in the session, and the page that asks the browser for the new
// key.
func (p *Pages) add(w http.ResponseWriter, r *http.Request) error {
	uid, sess, err := p.user(w, r)
	if err != nil {
		return handled(err)
	}
	kind, ok := kindOf(r.PostFormValue("kind"))
	if !ok {
		return mfa.InvalidField("kind", "Choose a security key or this device's passkey.")
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	fail := func(err error) error {
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Invalid {
			return err
		}
		field := me.Field
		if field != "name" {
			field = "name"
		}
		return p.render(w, r, http.StatusBadRequest, "add.html", addTitle(kind), newAddView(kind, name),
			[]web.FieldError{{Field: field, Msg: me.Msg}})
	}
	if err := mfa.CheckWebAuthnName(name); err != nil {
		return fail(err)
	}
	c, err := p.flow.BeginKeyRegistration(r.Context(), uid, kind == kindPlatform)
	if err != nil {
		return fail(err)
	}
	if err := sess.PutJSON(ceremonyKey, ceremony{State: c.State, Name: name, Platform: kind == kindPlatform}); err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "touch.html", addTitle(kind),
		touchView{Options: string(c.Options), Name: name, Platform: kind == kindPlatform}, nil)
}

// finish serves POST /portal/keys/finish: the browser's answer verified
// and the key stored, once per ceremony.
func (p *Pages) finish(w http.ResponseWriter, r *http.Request) error {
	uid, sess, err := p.user(w, r)
	if err != nil {
		return handled(err)
	}
	var c ceremony
	if err := sess.GetJSON(ceremonyKey, &c); err != nil && !errors.Is(err, mfa.ErrNotFound) {
		return err
	}
	sess.Delete(ceremonyKey)
	kind := kindKey
	if c.Platform {
		kind = kindPlatform
	}
	resp := r.PostFormValue("credential")
	if c.State == "" || resp == "" {
		return p.render(w, r, http.StatusBadRequest, "add.html", addTitle(kind), newAddView(kind, c.Name),
			[]web.FieldError{{Field: "name", Msg: "Your key's answer did not arrive, or this attempt has ended. Press Continue and touch your key when your browser asks."}})
	}
	k, err := p.flow.FinishKeyRegistration(r.Context(), uid, c.State, c.Name, []byte(resp))
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.Invalid {
		return p.render(w, r, http.StatusBadRequest, "add.html", addTitle(kind), newAddView(kind, c.Name),
			[]web.FieldError{{Field: "name", Msg: me.Msg}})
	}
	if err != nil {
		return err
	}
	return p.redirect(w, r, sess, "Added "+k.Name+". You can use it the next time you log in.", ListPath)
}

// own returns the signed-in user's key {key}; anyone else's is NotFound.
func (p *Pages) own(r *http.Request, uid string) (mfa.WebAuthnCredential, error) {
	ks, err := p.flow.UserKeys(r.Context(), uid)
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	for _, k := range ks {
		if k.ID == r.PathValue("key") {
			return k, nil
		}
	}
	return mfa.WebAuthnCredential{}, mfa.E(mfa.NotFound, "That security key is not one of yours, or it was removed.")
}

type renameView struct {
	Key  keyView
	Name web.Field
}

func newRenameView(k mfa.WebAuthnCredential, name string) renameView {
	return renameView{Key: keyViews([]mfa.WebAuthnCredential{k})[0],
		Name: web.Field{Name: "name", Label: "New name", Value: name, Required: true, Autofocus: true, Autocomplete: "off"}}
}

// renameForm serves GET /portal/keys/{key}/rename.
func (p *Pages) renameForm(w http.ResponseWriter, r *http.Request) error {
	uid, _, err := p.user(w, r)
	if err != nil {
		return handled(err)
	}
	k, err := p.own(r, uid)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "rename.html", "Rename "+k.Name, newRenameView(k, k.Name), nil)
}

// rename serves POST /portal/keys/{key}/rename.
func (p *Pages) rename(w http.ResponseWriter, r *http.Request) error {
	uid, sess, err := p.user(w, r)
	if err != nil {
		return handled(err)
	}
	k, err := p.own(r, uid)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	err = p.flow.RenameKey(r.Context(), uid, k.ID, name)
	var me *mfa.Error
	if errors.As(err, &me) && me.Kind == mfa.Invalid {
		return p.render(w, r, http.StatusBadRequest, "rename.html", "Rename "+k.Name, newRenameView(k, name),
			[]web.FieldError{{Field: "name", Msg: me.Msg}})
	}
	if err != nil {
		return err
	}
	return p.redirect(w, r, sess, "Renamed "+k.Name+" to "+name+".", ListPath)
}

type removeView struct {
	Key  keyView
	Last bool // the user's last key
}

// removeForm serves GET /portal/keys/{key}/remove: the confirmation.
func (p *Pages) removeForm(w http.ResponseWriter, r *http.Request) error {
	uid, _, err := p.user(w, r)
	if err != nil {
		return handled(err)
	}
	k, err := p.own(r, uid)
	if err != nil {
		return err
	}
	ks, err := p.flow.UserKeys(r.Context(), uid)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "remove.html", "Remove "+k.Name+"?",
		removeView{Key: keyViews([]mfa.WebAuthnCredential{k})[0], Last: len(ks) == 1}, nil)
}

// remove serves POST /portal/keys/{key}/remove.
func (p *Pages) remove(w http.ResponseWriter, r *http.Request) error {
	uid, sess, err := p.user(w, r)
	if err != nil {
		return handled(err)
	}
	k, err := p.own(r, uid)
	if err != nil {
		return err
	}
	if err := p.flow.RemoveKey(r.Context(), uid, k.ID); err != nil {
		return err
	}
	return p.redirect(w, r, sess, "Removed "+k.Name+". It can no longer be used to log in to your account.", ListPath)
}
