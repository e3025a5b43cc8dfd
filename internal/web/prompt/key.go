package prompt

import (
	"errors"
	"net/http"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// "Use a security key": GET begins a WebAuthn login ceremony (its state
// kept in the session, never in the page) and shows the page whose script
// asks the browser for the key's answer; POST finishes it through the
// engine (lockout, clone detection, auth log), once.

// maxKeyForm bounds the security key form: an assertion is well under
// 8 KiB even with a long user handle.
const maxKeyForm = 16 << 10

type keyView struct {
	Options      string
	RememberDays int
	Remember     bool
}

func keyPath(id string) string { return mfa.LoginPromptPath(id) + "/key" }

// keyForm serves GET /frame/prompt/{id}/key.
func (p *Pages) keyForm(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	return handled(p.renderKey(w, r, l, http.StatusOK))
}

// renderKey begins a ceremony and shows the key page; alerts explain a
// previous attempt.
func (p *Pages) renderKey(w http.ResponseWriter, r *http.Request, l *login, status int, alerts ...web.Alert) error {
	c, err := p.flow.BeginKeyLogin(r.Context(), l.authRequest(r, ""))
	var me *mfa.Error
	if errors.As(err, &me) && (me.Kind == mfa.Invalid || me.Kind == mfa.Unavailable) {
		l.notice(web.AlertError, me.Msg)
		return p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID))
	}
	if err != nil {
		return err
	}
	l.st.Key = c.State
	l.save()
	web.NoStore(w)
	return p.render(w, r, l, status, "key.html", msgKeyTitle,
		keyView{Options: string(c.Options), RememberDays: l.in.TrustedDeviceDays, Remember: l.st.Remember}, alerts...)
}

// key serves POST /frame/prompt/{id}/key.
func (p *Pages) key(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	if r.PostForm.Has("remember") || r.PostForm.Has("remember-shown") {
		l.st.Remember = r.PostFormValue("remember") == "yes" && l.in.TrustedDeviceDays > 0
	}
	state := l.st.Key
	l.st.Key = "" // a ceremony is finished at most once, whatever happens
	l.save()
	resp := r.PostFormValue("credential")
	if resp == "" || state == "" {
		return handled(p.renderKey(w, r, l, http.StatusBadRequest, web.Alert{Kind: web.AlertError, Text: msgKeyMissing}))
	}
	res, err := p.flow.FinishKeyLogin(r.Context(), l.authRequest(r, ""), state, []byte(resp))
	var me *mfa.Error
	switch {
	case errors.As(err, &me) && me.Kind == mfa.Invalid:
		return handled(p.renderKey(w, r, l, http.StatusBadRequest, web.Alert{Kind: web.AlertError, Text: me.Msg}))
	case err != nil:
		return err // RateLimited: the 429 page with the wait
	case res.Result == authflow.ResultAllow:
		return handled(p.finish(w, r, l, mfa.LoginAllow, res.LogTxID, res.LogFactor, res.TrustedDeviceToken))
	case res.Status == authflow.StatusLockedOut:
		return handled(p.lockedOut(w, r, l, res))
	case res.StatusMsg == authflow.MsgKeyCloned:
		l.notice(web.AlertError, res.StatusMsg)
		return handled(p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID)))
	}
	return handled(p.renderKey(w, r, l, http.StatusOK, web.Alert{Kind: web.AlertError, Text: res.StatusMsg}))
}
