package prompt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// login is one request's view of the login it is about.
type login struct {
	lr   mfa.LoginRequest
	in   mfa.Integration
	sess *web.Session
	st   loginState
}

// loginState is what the session keeps about one login in this browser,
// under stateKey(id): the pending push or call (its txid is never taken
// from a form or URL), the device chosen, the "remember me" choice and a
// message for the next page.
type loginState struct {
	TxID     string `json:"t,omitempty"`
	TxFactor string `json:"f,omitempty"` // push or phone
	Code     string `json:"c,omitempty"` // Verified Push code
	Device   string `json:"d,omitempty"`
	Remember bool   `json:"r,omitempty"`
	Notice   string `json:"n,omitempty"`
	Kind     string `json:"k,omitempty"` // the notice's alert kind
	// Key is the security key ceremony under way (authflow's state,
	// kept server-side in the session).
	Key string `json:"w,omitempty"`
}

func stateKey(id string) string { return "prompt:" + id }

// errHandled means the answer was written (a redirect or a page) and the
// handler has nothing more to do.
var errHandled = errors.New("answered")

// open loads the login of the request's {id} for this browser: its
// binding cookie must match. A completed login is sent back to the
// application (its ReturnPath) and an expired one gets the ended page;
// both return errHandled.
func (p *Pages) open(w http.ResponseWriter, r *http.Request, id string) (*login, error) {
	var secret string
	if c, err := r.Cookie(mfa.LoginBindingCookie(id)); err == nil {
		secret = c.Value
	}
	lr, in, err := p.flow.Login(r.Context(), id, secret)
	if err != nil {
		return nil, err
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return nil, err
	}
	l := &login{lr: lr, in: in, sess: sess}
	if err := sess.GetJSON(stateKey(id), &l.st); err != nil && !errors.Is(err, mfa.ErrNotFound) {
		return nil, err
	}
	if err := web.AllowFormAction(r, lr.RedirectURI); err != nil {
		return nil, err
	}
	switch {
	case lr.Completed():
		l.clear()
		return nil, p.redirect(w, r, lr.ReturnPath)
	case lr.Expired(p.now()):
		l.clear()
		return nil, p.render(w, r, l, http.StatusGone, "ended.html", msgEndedTitle, nil)
	}
	return l, nil
}

// redirect answers 303 to url and errHandled.
func (p *Pages) redirect(w http.ResponseWriter, r *http.Request, url string) error {
	if err := web.Redirect(w, r, url); err != nil {
		return err
	}
	return errHandled
}

// render writes a prompt page for l and returns errHandled.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, l *login, status int, name, title string, data any, alerts ...web.Alert) error {
	if err := p.tmpl.Render(w, r, status, name, p.view(l, title, data, alerts...)); err != nil {
		return err
	}
	return errHandled
}

func (p *Pages) view(l *login, title string, data any, alerts ...web.Alert) web.View {
	v := web.View{Title: title, App: l.in.Name, User: l.lr.Username, Data: page{ID: l.lr.ID, ReturnPath: l.lr.ReturnPath, Data: data}}
	if l.st.Notice != "" {
		v.Alerts = append(v.Alerts, web.Alert{Kind: l.st.Kind, Text: l.st.Notice})
		l.st.Notice, l.st.Kind = "", ""
		l.save()
	}
	v.Alerts = append(v.Alerts, alerts...)
	return v
}

// page wraps every prompt page's model with the login's id (for its form
// addresses) and return path.
type page struct {
	ID         string
	ReturnPath string
	Data       any
}

// handled turns errHandled into success.
func handled(err error) error {
	if errors.Is(err, errHandled) {
		return nil
	}
	return err
}

// save stores l's state in the session.
func (l *login) save() {
	if l.st == (loginState{}) {
		l.sess.Delete(stateKey(l.lr.ID))
		return
	}
	_ = l.sess.PutJSON(stateKey(l.lr.ID), l.st) // a struct of strings: cannot fail
}

// clear forgets l's state.
func (l *login) clear() {
	l.st = loginState{}
	l.sess.Delete(stateKey(l.lr.ID))
}

// notice keeps a message for the next page.
func (l *login) notice(kind, msg string) {
	l.st.Notice, l.st.Kind = msg, kind
	l.save()
}

// finish records the decision (the auth-log record txid and its factor
// word), forgets the login's state, sets the remembered-device cookie when
// the engine issued a token, and sends the browser back through
// ReturnPath. A login completed or expired meanwhile goes back all the
// same: oidc answers what its record says.
func (p *Pages) finish(w http.ResponseWriter, r *http.Request, l *login, result mfa.LoginResult, txid, factor, token string) error {
	_, err := p.flow.CompleteLogin(r.Context(), l.lr.ID, mfa.LoginOutcome{Result: result, AuthTxID: txid, Factor: factor,
		AuthTime: p.now()})
	if err != nil && !errors.Is(err, mfa.ErrConflict) {
		return err
	}
	l.clear()
	if token != "" && result == mfa.LoginAllow && l.in.TrustedDeviceDays > 0 {
		http.SetCookie(w, &http.Cookie{Name: RememberCookie(l.in.IKey), Value: token, Path: "/",
			MaxAge: l.in.TrustedDeviceDays * 24 * 3600, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	return p.redirect(w, r, l.lr.ReturnPath)
}

// RememberCookiePrefix starts the name of every remembered-device cookie.
const RememberCookiePrefix = "__Host-twostep-remember-"

// RememberCookie is the name of the cookie holding this browser's
// remembered-device token for integration ikey (one per application, as
// the engine remembers devices per integration).
func RememberCookie(ikey string) string {
	h := sha256.Sum256([]byte(ikey))
	return RememberCookiePrefix + hex.EncodeToString(h[:8])
}

// authRequest is the engine request for l, from r.
func (l *login) authRequest(r *http.Request, f mfa.Factor) authflow.AuthRequest {
	return authflow.AuthRequest{Integration: l.in, Who: authflow.Who{Username: l.lr.Username}, Factor: f,
		IP: clientIP(r), VerifiedPush: true, AskRemember: true, Remember: l.st.Remember && l.in.TrustedDeviceDays > 0}
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
