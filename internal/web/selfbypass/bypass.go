package selfbypass

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// stateKey is where the session keeps a passed password check.
const stateKey = "selfbypass"

// checkLifetime is how long a passed password check waits for the
// identity answer.
const checkLifetime = 10 * time.Minute

// state is a passed password check: who, when, and its one-time proof.
type state struct {
	UserID   string    `json:"u"`
	Username string    `json:"n"`
	Proof    string    `json:"p"`
	At       time.Time `json:"t"`
}

// passwordView is the password form's model.
type passwordView struct {
	Username, Password web.Field
	Lifetime           string
}

func passwordFields(username string) passwordView {
	return passwordView{
		Username: web.Field{Name: "username", Label: msgUsername, Value: username, Autocomplete: "username",
			Autofocus: username == "", Required: true},
		Password: web.Field{Name: "password", Label: msgPassword, Type: "password", Autocomplete: "current-password",
			Autofocus: username != "", Required: true},
	}
}

// policy returns the settings, rendering the "not available" page (and
// handled = true) when the feature is off.
func (p *Pages) policy(w http.ResponseWriter, r *http.Request) (admin.SelfBypassPolicy, bool, error) {
	pol, err := p.admin.SelfBypassPolicy(r.Context())
	if err != nil {
		return pol, true, err
	}
	if !pol.On {
		return pol, true, p.tmpl.RenderPublic(w, r, http.StatusOK, "unavailable.html", web.View{Title: msgUnavailableTitle})
	}
	return pol, false, nil
}

func (p *Pages) passwordView(pol admin.SelfBypassPolicy, username string) web.View {
	d := passwordFields(username)
	d.Lifetime = web.Wait(pol.Lifetime)
	return web.View{Title: msgTitle, Data: d}
}

// passwordForm serves GET /portal/bypass.
func (p *Pages) passwordForm(w http.ResponseWriter, r *http.Request) error {
	pol, handled, err := p.policy(w, r)
	if handled || err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "bypass.html", p.passwordView(pol, ""))
}

// password serves POST /portal/bypass: the first factor, then whether
// this user may get a code at all; on success the session (under a new
// id) holds the passed check and the browser goes to the identity check.
func (p *Pages) password(w http.ResponseWriter, r *http.Request) error {
	pol, handled, err := p.policy(w, r)
	if handled || err != nil {
		return err
	}
	username := r.PostFormValue("username")
	if len(username) > 255 {
		username = username[:255]
	}
	view := p.passwordView(pol, username)
	web.Form(r, p.tmpl, "bypass.html", view)
	res, err := p.flow.CheckPassword(r.Context(), authflow.PasswordRequest{Surface: authflow.SurfacePortal,
		Integration: mfa.Integration{Name: msgTitle}, Username: username,
		Password: mfa.Passcode(r.PostFormValue("password")), IP: clientIP(r)})
	var me *mfa.Error
	switch {
	case err == nil:
	case errors.As(err, &me) && me.Kind == mfa.Unauthorized:
		view.Errors = []web.FieldError{{Field: "password", Msg: me.Msg}}
		return p.tmpl.Render(w, r, http.StatusUnauthorized, "bypass.html", view)
	case errors.As(err, &me) && me.Kind == mfa.Denied && me.Msg == authflow.MsgPasswordLocked:
		return web.LockedOut(me.Msg, p.contact)
	default:
		return err
	}
	actor := admin.SelfServiceActor(res.User, clientIP(r))
	if _, err := p.admin.StartSelfBypass(r.Context(), actor); err != nil {
		return p.refuse(w, r, err, res.User.Username)
	}
	proof := make([]byte, 18)
	if _, err := rand.Read(proof); err != nil {
		return err
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	// A new identity in this browser: a new session id.
	if err := sess.RenewToken(); err != nil {
		return err
	}
	if err := sess.PutJSON(stateKey, state{UserID: res.User.ID, Username: res.User.Username,
		Proof: base64.RawURLEncoding.EncodeToString(proof), At: p.now()}); err != nil {
		return err
	}
	return web.Redirect(w, r, VerifyPath)
}

// refuse shows why a user who passed the password cannot get a code (no
// device, no answer on record, disabled, locked out), or the error page
// for anything else.
func (p *Pages) refuse(w http.ResponseWriter, r *http.Request, err error, username string) error {
	var me *mfa.Error
	switch {
	case errors.As(err, &me) && me.Kind == mfa.Denied && me.Msg == admin.MsgSelfBypassLocked:
		return web.LockedOut(me.Msg, p.contact)
	case errors.As(err, &me) && me.Kind == mfa.Denied:
		return p.tmpl.Render(w, r, http.StatusForbidden, "refused.html", web.View{Title: msgRefusedTitle, User: username,
			Data: struct{ Msg string }{me.Msg}})
	case errors.As(err, &me) && me.Kind == mfa.Unavailable && me.Msg == admin.MsgSelfBypassOff:
		return p.tmpl.RenderPublic(w, r, http.StatusOK, "unavailable.html", web.View{Title: msgUnavailableTitle})
	}
	return err
}

// verifyView is the identity check's model.
type verifyView struct {
	Check               string
	PIN, DOB, IDLast4   web.Field
	Lifetime, StartOver string
}

func (p *Pages) verifyView(pol admin.SelfBypassPolicy, st state, dob string) web.View {
	d := verifyView{Check: string(pol.Check), Lifetime: web.Wait(pol.Lifetime), StartOver: BypassPath,
		PIN: web.Field{Name: admin.FieldPIN, Label: msgPIN, Hint: msgPINHint, Type: "password", InputMode: "numeric",
			Autocomplete: "off", Autofocus: true, Required: true},
		DOB: web.Field{Name: admin.FieldDOB, Label: msgDOB, Hint: msgDOBHint, Type: "date", Value: dob, Autocomplete: "bday",
			Autofocus: true, Required: true},
		IDLast4: web.Field{Name: admin.FieldIDLast4, Label: msgIDLast4, Hint: msgIDLast4Hint, Type: "password",
			InputMode: "numeric", Autocomplete: "off", Required: true},
	}
	return web.View{Title: msgVerifyTitle, User: st.Username, Data: d}
}

// load returns the session's passed password check, or ok false when
// there is none or it is too old (the caller sends the browser back to
// the start).
func (p *Pages) load(r *http.Request) (*web.Session, state, bool, error) {
	sess, err := web.SessionOf(r)
	if err != nil {
		return nil, state{}, false, err
	}
	var st state
	if err := sess.GetJSON(stateKey, &st); err != nil || st.UserID == "" || st.Proof == "" {
		return sess, st, false, nil
	}
	if age := p.now().Sub(st.At); age < 0 || age > checkLifetime {
		sess.Delete(stateKey)
		return sess, st, false, nil
	}
	return sess, st, true, nil
}

// verifyForm serves GET /portal/bypass/verify.
func (p *Pages) verifyForm(w http.ResponseWriter, r *http.Request) error {
	pol, handled, err := p.policy(w, r)
	if handled || err != nil {
		return err
	}
	_, st, ok, err := p.load(r)
	if err != nil {
		return err
	}
	if !ok {
		return web.Redirect(w, r, BypassPath)
	}
	return p.tmpl.Render(w, r, http.StatusOK, "verify.html", p.verifyView(pol, st, ""))
}

// codeView is the code page's model.
type codeView struct {
	Code     string
	Expires  string // "14:05 UTC"
	Lifetime string
	Portal   string
}

// verify serves POST /portal/bypass/verify: one identity answer. A right
// one ends the passed check and shows the code once; a wrong one shows
// the form again with one message, whatever was wrong.
func (p *Pages) verify(w http.ResponseWriter, r *http.Request) error {
	pol, handled, err := p.policy(w, r)
	if handled || err != nil {
		return err
	}
	sess, st, ok, err := p.load(r)
	if err != nil {
		return err
	}
	if !ok {
		return web.Redirect(w, r, BypassPath)
	}
	dob := r.PostFormValue(admin.FieldDOB)
	if len(dob) > 32 {
		dob = dob[:32]
	}
	view := p.verifyView(pol, st, dob)
	web.Form(r, p.tmpl, "verify.html", view)
	actor := admin.SelfServiceActor(mfa.User{ID: st.UserID, Username: st.Username}, clientIP(r))
	code, err := p.admin.SelfBypass(r.Context(), actor, admin.IdentityAnswer{PIN: r.PostFormValue(admin.FieldPIN),
		DOB: dob, IDLast4: r.PostFormValue(admin.FieldIDLast4)}, st.Proof)
	var me *mfa.Error
	switch {
	case err == nil:
	case errors.As(err, &me) && me.Kind == mfa.Unauthorized:
		view.Errors = []web.FieldError{{Field: firstField(pol.Check), Msg: me.Msg}}
		return p.tmpl.Render(w, r, http.StatusUnauthorized, "verify.html", view)
	case errors.As(err, &me) && me.Kind == mfa.Invalid && me.Field == "count":
		sess.Delete(stateKey)
		return p.tmpl.Render(w, r, http.StatusConflict, "refused.html", web.View{Title: msgRefusedTitle, User: st.Username,
			Data: struct{ Msg string }{me.Msg}})
	case errors.As(err, &me) && (me.Kind == mfa.Denied || me.Kind == mfa.Unavailable):
		sess.Delete(stateKey)
		return p.refuse(w, r, err, st.Username)
	case errors.As(err, &me) && me.Kind == mfa.Conflict:
		sess.Delete(stateKey)
		return err
	default:
		return err
	}
	sess.Delete(stateKey)
	web.NoStore(w)
	return p.tmpl.Render(w, r, http.StatusOK, "code.html", web.View{Title: msgCodeTitle, User: st.Username, Script: true,
		Data: codeView{Code: string(code.Code), Expires: code.Expires.UTC().Format("15:04 UTC"), Lifetime: web.Wait(pol.Lifetime),
			Portal: PortalPath}})
}

// firstField is the field a wrong answer's message sits beside.
func firstField(c mfa.IdentityCheck) string {
	if c == mfa.IdentityDOBID {
		return admin.FieldDOB
	}
	return admin.FieldPIN
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
