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

// chooseView is the method choice: the user's devices and what each can do.
type chooseView struct {
	Devices      []deviceView
	Several      bool
	RememberDays int // > 0: offer "Remember me for N days"
	Remember     bool
	// Keys: the user has a usable security key ("Use a security key");
	// KeyDefault: it is their default way, listed first and focused.
	Keys, KeyDefault bool
}

// deviceView is one device with the methods the factor table gives it.
type deviceView struct {
	ID, Name, Icon            string
	Push, Call, SMS, Passcode bool
	NextCode                  string // first digit of the next SMS passcode
	IsToken                   bool
	// Primary is the method shown as the main button and focused: the
	// user's default method on their default device, else push.
	Primary string
	Default bool
}

func deviceViews(devs []authflow.Device) []deviceView {
	out := make([]deviceView, 0, len(devs))
	for _, d := range devs {
		v := deviceView{ID: d.ID, Name: d.DisplayName, Icon: "phone", NextCode: d.SMSNextCode, IsToken: d.Type == authflow.DeviceToken,
			Primary: string(mfa.FactorPush), Default: d.Default}
		switch {
		case d.UserApp:
			v.Icon, v.Name = "shield", "Authenticator app "+d.Name
		case v.IsToken:
			v.Icon, v.Name = "key", "Hardware token "+d.Name
		}
		for _, m := range authflow.Methods(d) {
			switch m.Factor {
			case mfa.FactorPush:
				v.Push = true
			case mfa.FactorPhone:
				v.Call = true
			case mfa.FactorSMS:
				v.SMS = true
			case mfa.FactorPasscode:
				v.Passcode = true
			}
		}
		if d.Default && d.DefaultMethod != "" {
			v.Primary = d.DefaultMethod
		}
		out = append(out, v)
	}
	return out
}

// choose serves GET /frame/prompt/{id}: what preauth says decides the page.
// A user who must authenticate chooses a device and method; one let
// through (bypass, a remembered device, the enroll policy) or turned away
// (disabled, unenrolled under a deny policy) goes straight back to the
// application with the decision logged; a locked-out user learns whom to
// contact; an unenrolled user is told how to enrol.
func (p *Pages) choose(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	if l.st.TxID != "" {
		return handled(p.redirect(w, r, waitPath(l.lr.ID)))
	}
	var token string
	if c, err := r.Cookie(RememberCookie(l.in.IKey)); err == nil {
		token = c.Value
	}
	pre, err := p.flow.Preauth(r.Context(), authflow.PreauthRequest{Integration: l.in,
		Who: authflow.Who{Username: l.lr.Username}, IP: clientIP(r), TrustedDeviceToken: token, VerifiedPush: true})
	if err != nil {
		return err
	}
	switch pre.Result {
	case authflow.ResultAuth:
		return handled(p.renderChoose(w, r, l, http.StatusOK, pre.Devices))
	case authflow.ResultAllow:
		if pre.LogTxID != "" { // a remembered device: preauth logged it
			return handled(p.finish(w, r, l, mfa.LoginAllow, pre.LogTxID, pre.LogFactor, ""))
		}
		return handled(p.settle(w, r, l))
	case authflow.ResultDeny:
		return handled(p.settle(w, r, l))
	}
	return handled(p.render(w, r, l, http.StatusOK, "enroll.html", msgEnrollTitle, enrollView{PortalURL: pre.EnrollPortalURL}))
}

func (p *Pages) renderChoose(w http.ResponseWriter, r *http.Request, l *login, status int, devs []authflow.Device, alerts ...web.Alert) error {
	v := chooseView{Devices: deviceViews(devs), RememberDays: l.in.TrustedDeviceDays, Remember: l.st.Remember}
	v.Several = len(v.Devices) > 1
	keys, err := p.flow.LoginKeys(r.Context(), l.lr.Username)
	if err != nil {
		return err
	}
	otherDefault := false // a phone or token the user chose (preauth marks it)
	for _, d := range devs {
		otherDefault = otherDefault || d.Default
	}
	for _, k := range keys {
		if !k.Cloned {
			v.Keys = true
			// A key is the default when the person chose it at the
			// portal; with no choice made, when they have used one to
			// log in, or have nothing else.
			v.KeyDefault = v.KeyDefault || k.Default || !otherDefault && (!k.LastUsed.IsZero() || len(devs) == 0)
		}
	}
	return p.render(w, r, l, status, "choose.html", msgChooseTitle, v, alerts...)
}

// settle decides a login that needs no factor (authflow.Settle: one auth
// log record) and completes it; a locked-out user gets the locked-out
// page, with the way back to the application.
func (p *Pages) settle(w http.ResponseWriter, r *http.Request, l *login) error {
	res, err := p.flow.Settle(r.Context(), l.authRequest(r, ""))
	if errors.Is(err, authflow.ErrNeedsFactor) {
		l.notice(web.AlertInfo, msgChooseAgain)
		return p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID))
	}
	if err != nil {
		return err
	}
	if res.Status == authflow.StatusLockedOut {
		return p.lockedOut(w, r, l, res)
	}
	result := mfa.LoginDeny
	if res.Result == authflow.ResultAllow {
		result = mfa.LoginAllow
	}
	return p.finish(w, r, l, result, res.LogTxID, res.LogFactor, "")
}

// lockedOut completes the login with deny (the decision res logged) and
// shows the locked-out page: what happened, whom to contact, and the way
// back to the application.
func (p *Pages) lockedOut(w http.ResponseWriter, r *http.Request, l *login, res authflow.AuthResult) error {
	_, err := p.flow.CompleteLogin(r.Context(), l.lr.ID, mfa.LoginOutcome{Result: mfa.LoginDeny, AuthTxID: res.LogTxID,
		Factor: res.LogFactor, AuthTime: p.now()})
	if err != nil && !errors.Is(err, mfa.ErrConflict) {
		return err
	}
	l.clear()
	return p.render(w, r, l, http.StatusForbidden, "locked.html", msgLockedTitle, lockedView{Contact: p.contact})
}

type lockedView struct{ Contact string }

type enrollView struct{ PortalURL string }

// choice serves POST /frame/prompt/{id}: the button pressed names a method
// and a device ("push DP..."); the "remember me" box is kept for the
// decision.
func (p *Pages) choice(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	method, device, _ := strings.Cut(r.PostFormValue("choice"), " ")
	l.st.Remember = r.PostFormValue("remember") == "yes" && l.in.TrustedDeviceDays > 0
	l.st.Device = ""
	if method == "webauthn" {
		l.save()
		return handled(p.redirect(w, r, keyPath(l.lr.ID)))
	}
	devs, err := p.devices(r, l)
	if err != nil {
		return handled(err)
	}
	dev, ok := findDevice(devs, device)
	if !ok {
		return handled(p.renderChoose(w, r, l, http.StatusBadRequest, devs, web.Alert{Kind: web.AlertError, Text: msgNoDevice}))
	}
	l.st.Device = dev.ID
	l.save()
	switch method {
	case "push":
		return handled(p.start(w, r, l, devs, mfa.FactorPush, dev))
	case "phone":
		return handled(p.start(w, r, l, devs, mfa.FactorPhone, dev))
	case "sms":
		return handled(p.sendSMS(w, r, l, devs, dev))
	case "passcode":
		return handled(p.redirect(w, r, passcodePath(l.lr.ID)))
	}
	return handled(p.renderChoose(w, r, l, http.StatusBadRequest, devs, web.Alert{Kind: web.AlertError, Text: msgChooseAgain}))
}

// devices lists the user's devices (preauth, which writes nothing). A
// user who no longer has to authenticate with a factor is sent back to
// the prompt page, which settles the login.
func (p *Pages) devices(r *http.Request, l *login) ([]authflow.Device, error) {
	pre, err := p.flow.Preauth(r.Context(), authflow.PreauthRequest{Integration: l.in,
		Who: authflow.Who{Username: l.lr.Username}, IP: clientIP(r), VerifiedPush: true})
	if err != nil {
		return nil, err
	}
	if pre.Result != authflow.ResultAuth {
		return nil, fmt.Errorf("%w", errNotAuth)
	}
	return pre.Devices, nil
}

var errNotAuth = mfa.E(mfa.Conflict, "Your account changed while you were logging in. Reload the page to continue.")

func findDevice(devs []authflow.Device, id string) (authflow.Device, bool) {
	for _, d := range devs {
		if d.ID == id && id != "" {
			return d, true
		}
	}
	return authflow.Device{}, false
}

func passcodePath(id string) string { return mfa.LoginPromptPath(id) + "/passcode" }
func waitPath(id string) string     { return mfa.LoginPromptPath(id) + "/wait" }
