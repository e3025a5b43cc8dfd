package prompt

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// maxPasscode is the longest passcode the form accepts (a YubiKey OTP is
// 44 characters).
const maxPasscode = 44

// passcodeView is the passcode form's model.
type passcodeView struct {
	Passcode     web.Field
	Device       string // the chosen device's name
	DeviceIcon   string
	DeviceID     string
	SMS          bool   // the device takes SMS: offer "Text me new codes"
	NextCode     string // the next SMS passcode's first digit
	RememberDays int
	Remember     bool
}

func (p *Pages) passcodeView(l *login, devs []authflow.Device) passcodeView {
	v := passcodeView{
		Passcode: web.Field{Name: "passcode", Label: "Passcode", Type: "text", InputMode: "numeric",
			Autocomplete: "one-time-code", Autofocus: true, Required: true,
			Hint: "From the twostep app (tap Show), your hardware token, or a text message."},
		RememberDays: l.in.TrustedDeviceDays, Remember: l.st.Remember,
	}
	if d, ok := findDevice(devs, l.st.Device); ok {
		v.Device, v.DeviceID, v.NextCode, v.DeviceIcon = d.DisplayName, d.ID, d.SMSNextCode, "phone"
		if d.Type == authflow.DeviceToken {
			v.Device, v.DeviceIcon = "Hardware token "+d.Name, "key"
		}
		for _, m := range authflow.Methods(d) {
			v.SMS = v.SMS || m.Factor == mfa.FactorSMS
		}
	}
	if v.NextCode != "" {
		v.Passcode.Hint = fmt.Sprintf("The next SMS passcode starts with %s.", v.NextCode)
	}
	return v
}

// passcodeForm serves GET /frame/prompt/{id}/passcode.
func (p *Pages) passcodeForm(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	devs, err := p.devices(r, l)
	if err != nil {
		return handled(err)
	}
	return handled(p.render(w, r, l, http.StatusOK, "passcode.html", msgPasscodeTitle, p.passcodeView(l, devs)))
}

// passcode serves POST /frame/prompt/{id}/passcode: one passcode attempt
// through the engine (its lockout, replay refusal, rate limits and auth
// log apply). Allow completes the login; a wrong or used passcode shows
// the form again saying what to do; the attempt that locks the account
// shows the locked-out page.
func (p *Pages) passcode(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	if r.PostForm.Has("remember") || r.PostForm.Has("remember-shown") {
		l.st.Remember = r.PostFormValue("remember") == "yes" && l.in.TrustedDeviceDays > 0
		l.save()
	}
	devs, err := p.devices(r, l)
	if err != nil {
		return handled(err)
	}
	v := p.passcodeView(l, devs)
	code := strings.TrimSpace(r.PostFormValue("passcode"))
	fail := func(status int, msg string) error {
		view := p.view(l, msgPasscodeTitle, v) // the field empty: a used or wrong code is no use again
		view.Errors = []web.FieldError{{Field: "passcode", Msg: msg}}
		return p.tmpl.Render(w, r, status, "passcode.html", view)
	}
	switch {
	case code == "":
		return fail(http.StatusBadRequest, msgPasscodeMissing)
	case len(code) > maxPasscode:
		return fail(http.StatusBadRequest, msgPasscodeLong)
	}
	req := l.authRequest(r, mfa.FactorPasscode)
	req.Passcode = mfa.Passcode(code)
	res, err := p.flow.Auth(r.Context(), req)
	if err != nil {
		return err // RateLimited: the 429 page with the wait; Unavailable: 503
	}
	switch {
	case res.Result == authflow.ResultAllow:
		return handled(p.finish(w, r, l, mfa.LoginAllow, res.LogTxID, res.LogFactor, res.TrustedDeviceToken))
	case res.Status == authflow.StatusLockedOut:
		return handled(p.lockedOut(w, r, l, res))
	case res.Status == authflow.StatusSent: // "sms" typed as the passcode
		l.notice(web.AlertSuccess, authflow.MsgSMSSent)
		return handled(p.redirect(w, r, passcodePath(l.lr.ID)))
	case res.StatusMsg == authflow.MsgUsed:
		return fail(http.StatusOK, msgUsed)
	case res.StatusMsg == authflow.MsgIncorrect:
		return fail(http.StatusOK, msgIncorrect)
	}
	return fail(http.StatusOK, res.StatusMsg)
}

// sms serves POST /frame/prompt/{id}/sms: "Text me new codes" on the
// passcode form.
func (p *Pages) sms(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	devs, err := p.devices(r, l)
	if err != nil {
		return handled(err)
	}
	dev, ok := findDevice(devs, r.PostFormValue("device"))
	if !ok {
		return handled(p.renderChoose(w, r, l, http.StatusBadRequest, devs, web.Alert{Kind: web.AlertError, Text: msgNoDevice}))
	}
	l.st.Device = dev.ID
	l.save()
	return handled(p.sendSMS(w, r, l, devs, dev))
}

// sendSMS texts a new batch of passcodes to dev and shows the passcode
// form with the next passcode's first digit.
func (p *Pages) sendSMS(w http.ResponseWriter, r *http.Request, l *login, devs []authflow.Device, dev authflow.Device) error {
	req := l.authRequest(r, mfa.FactorSMS)
	req.Device = dev.ID
	res, err := p.flow.Auth(r.Context(), req)
	var me *mfa.Error
	switch {
	case errors.As(err, &me) && me.Kind == mfa.Unavailable:
		return p.renderChoose(w, r, l, http.StatusServiceUnavailable, devs, web.Alert{Kind: web.AlertError, Text: msgSMSFailed})
	case errors.As(err, &me) && me.Kind == mfa.Invalid:
		return p.renderChoose(w, r, l, http.StatusBadRequest, devs, web.Alert{Kind: web.AlertError, Text: msgNoDevice})
	case err != nil:
		return err
	case res.Status == authflow.StatusLockedOut:
		return p.lockedOut(w, r, l, res)
	case res.Status != authflow.StatusSent:
		return p.renderChoose(w, r, l, http.StatusOK, devs, web.Alert{Kind: web.AlertError, Text: res.StatusMsg})
	}
	msg := fmt.Sprintf(msgSMSSent, dev.Number)
	if devs, err := p.devices(r, l); err == nil {
		if d, ok := findDevice(devs, dev.ID); ok && d.SMSNextCode != "" {
			msg = fmt.Sprintf(msgSMSSentNext, dev.Number, d.SMSNextCode)
		}
	}
	l.notice(web.AlertSuccess, msg)
	return p.redirect(w, r, passcodePath(l.lr.ID))
}

// leave serves POST /frame/prompt/{id}/leave: a person who cannot log in
// now (not enrolled yet) returns to the application, the login denied
// with its decision logged.
func (p *Pages) leave(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	return handled(p.settle(w, r, l))
}
