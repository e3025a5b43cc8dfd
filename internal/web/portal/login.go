package portal

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// LoginLifetime is how long a person has to finish a portal login.
const LoginLifetime = 10 * 60 // seconds

type loginView struct {
	Username, Password web.Field
	BypassURL          string
}

func loginForm(username string) loginView {
	return loginView{BypassURL: BypassPath,
		Username: web.Field{Name: "username", Label: msgUsername, Value: username, Autocomplete: "username",
			Autofocus: username == "", Required: true},
		Password: web.Field{Name: "password", Label: msgPassword, Type: "password", Autocomplete: "current-password",
			Autofocus: username != "", Required: true},
	}
}

// home serves GET /portal/: the devices of a signed-in user, the login
// page otherwise.
func (p *Pages) home(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error { return p.devices(w, r, me) })
}

// loginForm serves GET /portal/login.
func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) error {
	if _, ok := p.SignedIn(r); ok {
		return web.Redirect(w, r, Prefix)
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	v := web.View{Title: msgLoginTitle, App: mfa.PortalName, Data: loginForm("")}
	var a web.Alert
	if err := sess.GetJSON(keyNotice, &a); err == nil && a.Text != "" {
		v.Alerts = append(v.Alerts, a)
		sess.Delete(keyNotice)
	}
	return p.tmpl.Render(w, r, http.StatusOK, "login.html", v)
}

// login serves POST /portal/login: the password (authflow.CheckPassword
// for the portal surface), then the prompt for the second factor through
// a login request of the portal integration; a user with no device yet is
// signed in for enrolment only.
func (p *Pages) login(w http.ResponseWriter, r *http.Request) error {
	username := r.PostFormValue("username")
	if len(username) > 255 {
		username = username[:255]
	}
	in, err := p.admin.PortalIntegration(r.Context())
	if err != nil {
		return err
	}
	view := web.View{Title: msgLoginTitle, App: in.Name, Data: loginForm(username)}
	web.Form(r, p.tmpl, "login.html", view)
	res, err := p.flow.CheckPassword(r.Context(), authflow.PasswordRequest{Surface: authflow.SurfacePortal, Integration: in,
		Username: username, Password: mfa.Passcode(r.PostFormValue("password")), IP: clientIP(r)})
	var me *mfa.Error
	switch {
	case err == nil:
	case errors.As(err, &me) && me.Kind == mfa.Unauthorized:
		view.Errors = []web.FieldError{{Field: "password", Msg: me.Msg}}
		return p.tmpl.Render(w, r, http.StatusUnauthorized, "login.html", view)
	case errors.As(err, &me) && me.Kind == mfa.Denied && me.Msg == authflow.MsgPasswordLocked:
		return web.LockedOut(me.Msg, p.contact)
	default:
		return err
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	// A new identity: the old session id is worth nothing from here on.
	sess.Delete(keySignIn)
	if err := sess.RenewToken(); err != nil {
		return err
	}
	u := res.User
	if u.Status == mfa.StatusActive {
		devs, err := p.admin.SelfDevices(r.Context(), admin.UserActor(u, clientIP(r)))
		if err != nil {
			return err
		}
		if len(devs) == 0 {
			if err := sess.PutJSON(keySignIn, signIn{UserID: u.ID, At: p.now(), Enrol: true}); err != nil {
				return err
			}
			return web.Redirect(w, r, "/portal/devices/add")
		}
	}
	id, err := mfa.NewLoginRequestID(p.rand)
	if err != nil {
		return err
	}
	secret, err := mfa.NewBindingSecret(p.rand)
	if err != nil {
		return err
	}
	now := p.now()
	self := "https://" + r.Host + Prefix
	lr := mfa.LoginRequest{ID: id, IKey: in.IKey, RedirectURI: self, Protocol: mfa.LoginPortal,
		ReturnPath: "/portal/login/" + url.PathEscape(id) + "/done", BindingHash: mfa.BindingHash(secret),
		Created: now, Expires: now.Add(LoginLifetime * 1e9)}
	if err := p.flow.StartLogin(r.Context(), lr, res); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: mfa.LoginBindingCookie(id), Value: secret, Path: "/", MaxAge: LoginLifetime,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return web.Redirect(w, r, mfa.LoginPromptPath(id))
}

// loginDone serves GET /portal/login/{id}/done, where the prompt returns:
// an allowed login signs the user in (a new session id); a denied one
// goes back to the login page saying so.
func (p *Pages) loginDone(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var secret string
	if c, err := r.Cookie(mfa.LoginBindingCookie(id)); err == nil {
		secret = c.Value
	}
	lr, _, err := p.flow.Login(r.Context(), id, secret)
	if err != nil {
		return err
	}
	if lr.Protocol != mfa.LoginPortal || lr.IKey != mfa.PortalIKey {
		return mfa.E(mfa.NotFound, authflow.MsgLoginNotFound)
	}
	if !lr.Completed() {
		return web.Redirect(w, r, mfa.LoginPromptPath(id))
	}
	http.SetCookie(w, &http.Cookie{Name: mfa.LoginBindingCookie(id), Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	if lr.Result != mfa.LoginAllow || lr.UserID == "" || p.now().Sub(lr.AuthTime) > LoginLifetime*1e9 {
		p.notice(sess, web.AlertError, msgLoginDenied)
		return web.Redirect(w, r, LoginPath)
	}
	if err := sess.RenewToken(); err != nil {
		return err
	}
	if err := sess.PutJSON(keySignIn, signIn{UserID: lr.UserID, At: p.now()}); err != nil {
		return err
	}
	p.notice(sess, web.AlertSuccess, msgLoggedIn)
	return web.Redirect(w, r, Prefix)
}

// logout serves POST /portal/logout: the session ends.
func (p *Pages) logout(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	sess.Destroy()
	return p.tmpl.RenderPublic(w, r, http.StatusOK, "loggedout.html", web.View{Title: msgLoggedOutTitle})
}
