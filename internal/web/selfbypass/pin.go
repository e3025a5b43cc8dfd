package selfbypass

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// pinView is the PIN page's model.
type pinView struct {
	Set          bool
	SetOn        string
	On           bool // self-service bypass codes are on
	UsesPIN      bool // ... and check a PIN
	PIN, Confirm web.Field
	Portal       string
}

func (pg *PINPage) view(r *http.Request, a admin.Actor) (web.View, error) {
	st, err := pg.admin.OwnIdentity(r.Context(), a)
	if err != nil {
		return web.View{}, err
	}
	pol, err := pg.admin.SelfBypassPolicy(r.Context())
	if err != nil {
		return web.View{}, err
	}
	d := pinView{Set: st.Has(mfa.IdentityPIN), On: pol.On, UsesPIN: pol.Check == mfa.IdentityPIN, Portal: PortalPath,
		PIN: web.Field{Name: admin.FieldPIN, Label: msgNewPIN, Hint: msgNewPINHint, Type: "password", InputMode: "numeric",
			Autocomplete: "new-password", Autofocus: true, Required: true},
		Confirm: web.Field{Name: "confirm", Label: msgConfirmPIN, Type: "password", InputMode: "numeric",
			Autocomplete: "new-password", Required: true},
	}
	if d.Set {
		d.SetOn = st.PINSet.UTC().Format("2 January 2006")
	}
	return web.View{Title: msgPINTitle, Layout: web.LayoutWide, User: a.Name, Data: d}, nil
}

// actor is the signed-in user's self-service actor; ok false sends the
// browser to the portal's login.
func (pg *PINPage) actor(w http.ResponseWriter, r *http.Request) (admin.Actor, bool, error) {
	id, ok := pg.signedIn(r)
	if !ok || id == "" {
		return admin.Actor{}, false, web.Redirect(w, r, PortalPath)
	}
	a, err := pg.admin.SelfActor(r.Context(), id, clientIP(r))
	return a, err == nil, err
}

// form serves GET /portal/pin.
func (pg *PINPage) form(w http.ResponseWriter, r *http.Request) error {
	a, ok, err := pg.actor(w, r)
	if !ok || err != nil {
		return err
	}
	v, err := pg.view(r, a)
	if err != nil {
		return err
	}
	return pg.tmpl.Render(w, r, http.StatusOK, "pin.html", v)
}

// set serves POST /portal/pin: the PIN policy's error beside the field,
// or the page again saying it is set.
func (pg *PINPage) set(w http.ResponseWriter, r *http.Request) error {
	a, ok, err := pg.actor(w, r)
	if !ok || err != nil {
		return err
	}
	v, err := pg.view(r, a)
	if err != nil {
		return err
	}
	web.Form(r, pg.tmpl, "pin.html", v)
	pin, confirm := r.PostFormValue(admin.FieldPIN), r.PostFormValue("confirm")
	if err := admin.CheckPIN(pin); err != nil {
		return err
	}
	if confirm != pin {
		return mfa.InvalidField("confirm", msgPINMismatch)
	}
	if err := pg.admin.SetOwnPIN(r.Context(), a, pin); err != nil {
		return err
	}
	if v, err = pg.view(r, a); err != nil {
		return err
	}
	v.Alerts = []web.Alert{{Kind: web.AlertSuccess, Title: msgPINSavedTitle, Text: msgPINSaved}}
	return pg.tmpl.Render(w, r, http.StatusOK, "pin.html", v)
}
