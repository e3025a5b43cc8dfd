package login

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// ssoKey is where the session keeps the last completed login (authflow.SSO).
const ssoKey = "sso"

// formView is the login form's model.
type formView struct {
	ID                 string
	Username, Password web.Field
}

func (p *Pages) formView(id, username string) formView {
	return formView{ID: id,
		Username: web.Field{Name: "username", Label: msgUsername, Value: username, Autocomplete: "username",
			Autofocus: username == "", Required: true},
		Password: web.Field{Name: "password", Label: msgPassword, Type: "password", Autocomplete: "current-password",
			Autofocus: username != "", Required: true},
	}
}

// open loads the OIDC login of the request's {id} for this browser. A
// completed login continues to the protocol; an expired one gets the
// ended page; one whose first factor is done goes to the prompt. Those
// return handled = true.
func (p *Pages) open(w http.ResponseWriter, r *http.Request) (mfa.LoginRequest, mfa.Integration, bool, error) {
	id := r.PathValue("id")
	var secret string
	if c, err := r.Cookie(mfa.LoginBindingCookie(id)); err == nil {
		secret = c.Value
	}
	lr, in, err := p.flow.FirstFactorLogin(r.Context(), id, secret)
	if err != nil {
		return lr, in, false, err
	}
	switch {
	case lr.Completed():
		return lr, in, true, web.Redirect(w, r, lr.Continue)
	case lr.Expired(p.now()):
		return lr, in, true, p.tmpl.RenderPublic(w, r, http.StatusGone, "ended.html", web.View{Title: msgEndedTitle, App: in.Name})
	case !lr.NeedsFirstFactor():
		return lr, in, true, web.Redirect(w, r, mfa.LoginPromptPath(lr.ID))
	}
	return lr, in, false, nil
}

// form serves GET /login/{id}: single sign-on when this browser's session
// holds a recent enough login and the application did not ask for a new
// one; the form otherwise.
func (p *Pages) form(w http.ResponseWriter, r *http.Request) error {
	lr, in, handled, err := p.open(w, r)
	if handled || err != nil {
		return err
	}
	if !lr.ForceLogin {
		sess, err := web.SessionOf(r)
		if err != nil {
			return err
		}
		var sso authflow.SSO
		if err := sess.GetJSON(ssoKey, &sso); err == nil {
			maxAge := p.sso
			if lr.MaxAge > 0 && time.Duration(lr.MaxAge)*time.Second < maxAge {
				maxAge = time.Duration(lr.MaxAge) * time.Second
			}
			done, err := p.flow.ResumeLogin(r.Context(), lr.ID, sso, maxAge)
			switch {
			case err == nil:
				return web.Redirect(w, r, done.Continue)
			case errors.Is(err, authflow.ErrSSOUnusable):
				// Log in again below.
			default:
				return err
			}
		}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "login.html", web.View{Title: msgLoginTitle, App: in.Name,
		Data: p.formView(lr.ID, "")})
}

// submit serves POST /login/{id}: the first factor. A right password
// records the user on the login and sends the browser to the prompt; a
// wrong one (or an unknown user) shows the form again with one message
// for both.
func (p *Pages) submit(w http.ResponseWriter, r *http.Request) error {
	lr, in, handled, err := p.open(w, r)
	if handled || err != nil {
		return err
	}
	username := r.PostFormValue("username")
	if len(username) > 255 {
		username = username[:255]
	}
	view := web.View{Title: msgLoginTitle, App: in.Name, Data: p.formView(lr.ID, username)}
	web.Form(r, p.tmpl, "login.html", view)
	res, err := p.flow.CheckPassword(r.Context(), authflow.PasswordRequest{Surface: authflow.SurfaceOIDC, Integration: in,
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
	if _, err := p.flow.SetLoginUser(r.Context(), lr.ID, res); err != nil {
		if errors.Is(err, mfa.ErrConflict) {
			return web.Redirect(w, r, mfa.LoginPasswordPath(lr.ID)) // finished or expired meanwhile: open says which
		}
		return err
	}
	// A new identity in this browser: a new session id.
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	if err := sess.RenewToken(); err != nil {
		return err
	}
	return web.Redirect(w, r, mfa.LoginPromptPath(lr.ID))
}

// done serves GET /login/{id}/done, where the prompt returns the browser:
// an allowed login is kept in the session for single sign-on (under a new
// session id), then the browser continues to the protocol, which answers
// the application.
func (p *Pages) done(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var secret string
	if c, err := r.Cookie(mfa.LoginBindingCookie(id)); err == nil {
		secret = c.Value
	}
	lr, _, err := p.flow.FirstFactorLogin(r.Context(), id, secret)
	if err != nil {
		return err
	}
	if !lr.Completed() {
		return web.Redirect(w, r, mfa.LoginPasswordPath(id))
	}
	if lr.Result == mfa.LoginAllow && lr.UserID != "" {
		sess, err := web.SessionOf(r)
		if err != nil {
			return err
		}
		var prev authflow.SSO
		_ = sess.GetJSON(ssoKey, &prev)
		if prev.UserID != lr.UserID || prev.TxID != lr.AuthTxID {
			if err := sess.RenewToken(); err != nil {
				return err
			}
			if err := sess.PutJSON(ssoKey, authflow.SSO{UserID: lr.UserID, Username: lr.Username, FirstFactor: lr.FirstFactor,
				Factor: lr.Factor, TxID: lr.AuthTxID, AuthTime: lr.AuthTime}); err != nil {
				return err
			}
		}
	}
	return web.Redirect(w, r, lr.Continue)
}

// logout serves GET /oidc/end_session: the provider checks the request,
// the session ends, and the browser goes back to the application when it
// named a registered post_logout_redirect_uri.
func (p *Pages) logout(w http.ResponseWriter, r *http.Request) error {
	if p.endSession == nil {
		return mfa.E(mfa.NotFound, "not found")
	}
	next, app, err := p.endSession(r)
	if err != nil {
		return err
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	sess.Destroy()
	if next != "" {
		if err := web.AllowFormAction(r, next); err != nil {
			return err
		}
		return web.Redirect(w, r, next)
	}
	return p.tmpl.RenderPublic(w, r, http.StatusOK, "loggedout.html", web.View{Title: msgLoggedOutTitle, App: app,
		Data: struct{ Next string }{}})
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
