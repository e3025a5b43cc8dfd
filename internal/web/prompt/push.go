package prompt

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// start sends a push or places a call to dev (asynchronously: the engine
// answers with the transaction's txid, which the session keeps) and shows
// the waiting page. An answer decided at once (a muted device, no capable
// device) is shown on the method choice.
func (p *Pages) start(w http.ResponseWriter, r *http.Request, l *login, devs []authflow.Device, f mfa.Factor, dev authflow.Device) error {
	req := l.authRequest(r, f)
	req.Device, req.Async = dev.ID, true
	res, err := p.flow.Auth(r.Context(), req)
	var me *mfa.Error
	switch {
	case errors.As(err, &me) && me.Kind == mfa.Invalid:
		return p.renderChoose(w, r, l, http.StatusBadRequest, devs, web.Alert{Kind: web.AlertError, Text: msgNoDevice})
	case errors.As(err, &me) && me.Kind == mfa.Unavailable && f == mfa.FactorPhone:
		return p.renderChoose(w, r, l, http.StatusServiceUnavailable, devs, web.Alert{Kind: web.AlertError, Text: msgCallFailed})
	case err != nil:
		return err
	case res.Result != "":
		if res.Status == authflow.StatusLockedOut {
			return p.lockedOut(w, r, l, res)
		}
		return p.renderChoose(w, r, l, http.StatusOK, devs, web.Alert{Kind: web.AlertError, Text: res.StatusMsg})
	}
	l.st.TxID, l.st.TxFactor, l.st.Code = res.TxID, string(f), res.VerificationCode
	l.save()
	return p.redirect(w, r, waitPath(l.lr.ID))
}

// waitView is the waiting page's model.
type waitView struct {
	Call      bool
	Code      string // Verified Push: the code to type in the app
	Device    string
	StatusURL string
	Lost      string // shown by the script when polling fails
}

// wait serves GET /frame/prompt/{id}/wait: the push or call in progress,
// its status kept live by static/prompt.js.
func (p *Pages) wait(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	if l.st.TxID == "" {
		return handled(p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID)))
	}
	return handled(p.renderWait(w, r, l, http.StatusOK))
}

func (p *Pages) renderWait(w http.ResponseWriter, r *http.Request, l *login, status int, alerts ...web.Alert) error {
	v := waitView{Call: l.st.TxFactor == string(mfa.FactorPhone), Code: l.st.Code,
		StatusURL: StatusPath + "?id=" + l.lr.ID, Lost: msgStatusLost}
	title := msgWaitPushTitle
	if v.Call {
		title = msgWaitCallTitle
	}
	return p.render(w, r, l, status, "wait.html", title, v, alerts...)
}

// statusAnswer is the JSON of GET /frame/prompt/status.
type statusAnswer struct {
	Result  string `json:"result"` // waiting, allow, deny or error
	Message string `json:"message"`
}

// status serves GET /frame/prompt/status?id=: a long poll (authflow's: the
// first poll answers at once, later ones when the push or call ends or
// after authflow.StatusPollWait) that the waiting page's script repeats
// until the answer is final, then submits the page's Continue form. It
// changes nothing itself: the decision is recorded by that POST.
func (p *Pages) status(w http.ResponseWriter, r *http.Request) error {
	web.NoStore(w)
	id := r.URL.Query().Get("id")
	l, err := p.open(w, r, id)
	if errors.Is(err, errHandled) {
		return nil // completed or ended: a page or a redirect, which the script follows by reloading
	}
	if err != nil {
		return jsonError(w, err)
	}
	if l.st.TxID == "" {
		return writeJSON(w, http.StatusConflict, statusAnswer{Result: "error", Message: msgNothingPending})
	}
	res, err := p.flow.AuthStatusAsked(r.Context(), l.in, l.st.TxID, authflow.StatusPollWait, l.st.Remember)
	if err != nil {
		return jsonError(w, err)
	}
	return writeJSON(w, http.StatusOK, statusAnswer{Result: res.Result, Message: statusMessage(l, res)})
}

// statusMessage is what the page says about a status.
func statusMessage(l *login, res authflow.StatusResult) string {
	switch res.Result {
	case authflow.ResultWaiting:
		if l.st.TxFactor == string(mfa.FactorPhone) {
			return msgWaitingCall
		}
		if res.VerificationCode != "" {
			return msgWaitingCode
		}
		return msgWaitingPush
	case authflow.ResultAllow:
		return msgApproved
	}
	return denyMessage(l, res)
}

func denyMessage(l *login, res authflow.StatusResult) string {
	switch res.Status {
	case authflow.StatusTimeout:
		if l.st.TxFactor == string(mfa.FactorPhone) {
			return msgCallTimedOut
		}
		return msgTimedOut
	case authflow.StatusFraud:
		return msgFraud
	case authflow.StatusDeny:
		if res.StatusMsg == authflow.MsgCancelled {
			return msgCancelled
		}
		return msgDenied
	case authflow.StatusPushFail:
		return msgCallFailed
	}
	if res.StatusMsg != "" {
		return res.StatusMsg
	}
	return msgDenied
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// jsonError answers the status poll's refusals as JSON (the script shows
// the message and offers Continue).
func jsonError(w http.ResponseWriter, err error) error {
	var me *mfa.Error
	if !errors.As(err, &me) {
		return err // the 500 page, logged with the request id
	}
	status := http.StatusBadRequest
	switch me.Kind {
	case mfa.NotFound:
		status = http.StatusNotFound
	case mfa.Denied:
		status = http.StatusForbidden
	case mfa.RateLimited:
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", "5")
	case mfa.Unavailable:
		status = http.StatusServiceUnavailable
	case mfa.Conflict:
		status = http.StatusConflict
	}
	return writeJSON(w, status, statusAnswer{Result: "error", Message: me.Msg})
}

// checkWait is how long the Continue button's one poll waits for a push
// still pending.
const checkWait = 2 * time.Second

// check serves POST /frame/prompt/{id}/check: Continue on the waiting page
// (pressed, or submitted by the script once the status is final). An
// approved push or call completes the login; a denied or timed-out one
// goes back to the method choice saying so; one still pending shows the
// waiting page again.
func (p *Pages) check(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	if l.st.TxID == "" {
		l.notice(web.AlertInfo, msgNothingPending)
		return handled(p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID)))
	}
	res, err := p.flow.AuthStatusAsked(r.Context(), l.in, l.st.TxID, checkWait, l.st.Remember)
	if err != nil {
		return err
	}
	switch res.Result {
	case authflow.ResultWaiting:
		msg := msgNotYet
		if l.st.TxFactor == string(mfa.FactorPhone) {
			msg = msgNotYetCall
		}
		return handled(p.renderWait(w, r, l, http.StatusOK, web.Alert{Kind: web.AlertWarning, Text: msg}))
	case authflow.ResultAllow:
		m, _ := authflow.MethodOf(mfa.Factor(l.st.TxFactor))
		return handled(p.finish(w, r, l, mfa.LoginAllow, l.st.TxID, m.LogFactor(), res.TrustedDeviceToken))
	}
	msg := denyMessage(l, res)
	l.st.TxID, l.st.TxFactor, l.st.Code = "", "", ""
	l.notice(web.AlertError, msg)
	return handled(p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID)))
}

// cancel serves POST /frame/prompt/{id}/cancel: the person gives up on the
// push or call (seed 002: cancel it to reach "Enter a Passcode"); the
// engine ends it as denied (user_cancelled, one auth log record) and the
// method choice shows again. One that ended meanwhile is checked instead.
func (p *Pages) cancel(w http.ResponseWriter, r *http.Request) error {
	l, err := p.open(w, r, r.PathValue("id"))
	if err != nil {
		return handled(err)
	}
	if l.st.TxID == "" {
		return handled(p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID)))
	}
	err = p.flow.Cancel(r.Context(), l.in, l.st.TxID)
	if errors.Is(err, mfa.ErrConflict) {
		return p.check(w, r) // it ended first: its own answer counts
	}
	if err != nil {
		return err
	}
	l.st.TxID, l.st.TxFactor, l.st.Code = "", "", ""
	l.notice(web.AlertInfo, msgCancelled)
	return handled(p.redirect(w, r, mfa.LoginPromptPath(l.lr.ID)))
}
