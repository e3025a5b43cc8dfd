package console

import (
	"encoding/base32"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// loginView is the sign-in form's model.
type loginView struct {
	Email, Password web.Field
}

func loginFields(email string) loginView {
	return loginView{
		Email: web.Field{Name: "email", Label: msgEmail, Type: "email", Value: email, Autocomplete: "username",
			Autofocus: email == "", Required: true},
		Password: web.Field{Name: "password", Label: msgPassword, Type: "password", Autocomplete: "current-password",
			Autofocus: email != "", Required: true},
	}
}

// loginForm serves GET /console/login.
func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) error {
	v := web.View{Title: msgSignInTitle, Data: loginFields("")}
	switch {
	case r.URL.Query().Get("ended") != "":
		v.Alerts = []web.Alert{{Kind: web.AlertInfo, Text: msgSessionEnded}}
	case r.URL.Query().Get("out") != "":
		v.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgSignedOut}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "login.html", v)
}

// login serves POST /console/login: the password. A right one starts the
// second step under a new session id.
func (p *Pages) login(w http.ResponseWriter, r *http.Request) error {
	email := r.PostFormValue("email")
	if len(email) > 255 {
		email = email[:255]
	}
	view := web.View{Title: msgSignInTitle, Data: loginFields(email)}
	web.Form(r, p.tmpl, "login.html", view)
	ad, err := p.flow.CheckAdminPassword(r.Context(), authflow.AdminPasswordRequest{Email: email,
		Password: mfa.Passcode(r.PostFormValue("password")), IP: clientIP(r)})
	var me *mfa.Error
	switch {
	case err == nil:
	case errors.As(err, &me) && me.Kind == mfa.Unauthorized:
		view.Errors = []web.FieldError{{Field: "password", Msg: me.Msg}}
		return p.tmpl.Render(w, r, http.StatusUnauthorized, "login.html", view)
	case errors.As(err, &me) && me.Kind == mfa.Denied:
		return web.LockedOut(me.Msg, msgAskOwner)
	default:
		return err
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	if err := sess.RenewToken(); err != nil {
		return err
	}
	sess.Delete(keyAdmin)
	sess.Delete(keyPwChange)
	sess.Put(keyPending, ad.ID)
	sess.Put(keyPendAt, unix(p.now()))
	enrolled, err := p.flow.AdminTOTPState(r.Context(), ad.ID)
	if err != nil {
		return err
	}
	if !enrolled {
		return web.Redirect(w, r, "/console/login/enroll")
	}
	return web.Redirect(w, r, "/console/login/code")
}

// codeField is the TOTP code field.
func codeField() web.Field {
	return web.Field{Name: "code", Label: msgCode, Hint: msgCodeHint, Autocomplete: "one-time-code", InputMode: "numeric",
		Autofocus: true, Required: true}
}

// codeForm serves GET /console/login/code.
func (p *Pages) codeForm(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	id := p.pending(sess)
	if id == "" {
		return web.Redirect(w, r, "/console/login")
	}
	v, err := p.codeData(r, sess, id)
	if err != nil {
		return err
	}
	web.NoStore(w)
	return p.tmpl.Render(w, r, http.StatusOK, "code.html", web.View{Title: msgCodeTitle, Data: v})
}

// code serves POST /console/login/code: the second factor.
func (p *Pages) code(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	id := p.pending(sess)
	if id == "" {
		return web.Redirect(w, r, "/console/login?ended=1")
	}
	v, err := p.codeData(r, sess, id)
	if err != nil {
		return err
	}
	web.Form(r, p.tmpl, "code.html", web.View{Title: msgCodeTitle, Data: v})
	return p.checkCode(w, r, sess, id)
}

// checkCode checks the code of the pending administrator and, when it is
// right, signs them in (or asks for a new password first).
func (p *Pages) checkCode(w http.ResponseWriter, r *http.Request, sess *web.Session, id string) error {
	ad, err := p.flow.CheckAdminTOTP(r.Context(), id, r.PostFormValue("code"), clientIP(r))
	var me *mfa.Error
	switch {
	case err == nil:
	case errors.As(err, &me) && me.Kind == mfa.Denied:
		sess.Destroy()
		return web.LockedOut(me.Msg, msgAskOwner)
	default:
		return err
	}
	return p.signInDone(w, r, sess, ad)
}

// signInDone ends a sign-in whose second factor passed: signed in, or a
// new password first.
func (p *Pages) signInDone(w http.ResponseWriter, r *http.Request, sess *web.Session, ad mfa.Admin) error {
	sess.Delete(keyKeyLogin)
	if ad.PasswordChangeRequired {
		if err := sess.RenewToken(); err != nil {
			return err
		}
		sess.Delete(keyPending)
		sess.Put(keyPwChange, ad.ID)
		return web.Redirect(w, r, "/console/login/password")
	}
	if err := p.begin(sess, ad); err != nil {
		return err
	}
	return web.Redirect(w, r, "/console/")
}

// enrollView is the authenticator set-up page's model: the secret is
// shown only here, as a QR code (a data: URL, never a URL the browser
// fetches) and as text to type.
type enrollView struct {
	QR     any
	Secret string
	URI    template.URL // otpauth://, which html/template would refuse as a link
	Code   web.Field
}

// enrollData begins (or continues) the pending administrator's set-up.
func (p *Pages) enrollData(r *http.Request, id string) (enrollView, error) {
	secret, err := p.flow.PendingAdminTOTP(r.Context(), id)
	if errors.Is(err, mfa.ErrNotFound) {
		secret, err = p.flow.BeginAdminTOTP(r.Context(), id)
	}
	if err != nil {
		return enrollView{}, err
	}
	ad, err := p.flow.ConsoleAdmin(r.Context(), id)
	if err != nil {
		return enrollView{}, err
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret.Reveal())
	uri := otpauthURI(p.issuer, ad.Email, b32)
	qr, err := web.QRDataURI(uri)
	if err != nil {
		return enrollView{}, err
	}
	return enrollView{QR: qr, Secret: groups(b32), URI: template.URL(uri), Code: codeField()}, nil
}

// otpauthURI is the Key Uri Format authenticator apps read. The label is
// "issuer:account"; an issuer with a colon in it (which the format does
// not allow there) is left out of the label and named by the issuer
// parameter alone, so that apps do not cut the name at its colon.
func otpauthURI(issuer, account, secret string) string {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", strconv.Itoa(authflow.AdminTOTPDigits))
	q.Set("period", strconv.Itoa(authflow.AdminTOTPPeriod))
	label := account
	if !strings.Contains(issuer, ":") {
		label = issuer + ":" + account
	}
	return "otpauth://totp/" + url.PathEscape(label) + "?" + q.Encode()
}

// groups spaces a secret in groups of four for reading aloud or typing.
func groups(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if i > 0 && i%4 == 0 {
			b = append(b, ' ')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// enrollForm serves GET /console/login/enroll: before anything else, an
// administrator without an authenticator sets one up.
func (p *Pages) enrollForm(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	id := p.pending(sess)
	if id == "" {
		return web.Redirect(w, r, "/console/login")
	}
	v, err := p.enrollData(r, id)
	if errors.Is(err, mfa.ErrConflict) {
		return web.Redirect(w, r, "/console/login/code") // set up meanwhile
	}
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "enroll.html", web.View{Title: msgEnrollTitle, Script: true, Data: v})
}

// enroll serves POST /console/login/enroll: the first code confirms the
// new authenticator and signs in.
func (p *Pages) enroll(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	id := p.pending(sess)
	if id == "" {
		return web.Redirect(w, r, "/console/login?ended=1")
	}
	v, err := p.enrollData(r, id)
	if errors.Is(err, mfa.ErrConflict) {
		return web.Redirect(w, r, "/console/login/code")
	}
	if err != nil {
		return err
	}
	web.Form(r, p.tmpl, "enroll.html", web.View{Title: msgEnrollTitle, Script: true, Data: v})
	return p.checkCode(w, r, sess, id)
}

// passwordView is the new-password form's model.
type passwordView struct {
	New, Confirm web.Field
}

func passwordFields() passwordView {
	return passwordView{
		New: web.Field{Name: "new_password", Label: msgNewPassword, Type: "password", Autocomplete: "new-password",
			Hint: msgNewPasswordHint, Autofocus: true, Required: true},
		Confirm: web.Field{Name: "confirm_password", Label: msgConfirmPassword, Type: "password", Autocomplete: "new-password",
			Required: true},
	}
}

// passwordForm serves GET /console/login/password.
func (p *Pages) passwordForm(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	if sess.Get(keyPwChange) == "" {
		return web.Redirect(w, r, "/console/login")
	}
	return p.tmpl.Render(w, r, http.StatusOK, "password.html", web.View{Title: msgPasswordTitle, Data: passwordFields()})
}

// password serves POST /console/login/password: the forced change of a
// generated password, after both factors.
func (p *Pages) password(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	id := sess.Get(keyPwChange)
	if id == "" {
		return web.Redirect(w, r, "/console/login?ended=1")
	}
	web.Form(r, p.tmpl, "password.html", web.View{Title: msgPasswordTitle, Data: passwordFields()})
	ad, err := p.flow.ConsoleAdmin(r.Context(), id)
	if err != nil {
		return err
	}
	pw := r.PostFormValue("new_password")
	if pw != r.PostFormValue("confirm_password") {
		return mfa.InvalidField("confirm_password", msgPasswordsDiffer)
	}
	if err := p.admin.ChangeOwnPassword(r.Context(), admin.AdminActor(ad), mfa.Passcode(pw)); err != nil {
		return err
	}
	ad.PasswordChangeRequired = false
	if err := p.begin(sess, ad); err != nil {
		return err
	}
	return web.Redirect(w, r, "/console/")
}

// logout serves POST /console/logout: the session ends.
func (p *Pages) logout(w http.ResponseWriter, r *http.Request) error {
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	sess.Destroy()
	return web.Redirect(w, r, "/console/login?out=1")
}
