package portal

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// Session keys of the portal.
const (
	keySignIn = "portal:signin" // signIn, JSON
	keyTOTP   = "portal:totp"   // pendingTOTP, JSON: the seed until confirmed
	keyPhone  = "portal:phone"  // pendingPhone, JSON
	keyAct    = "portal:act"    // the activation id the add-app page waits for
	keyNotice = "portal:notice" // a one-time alert for the next page
)

// signIn is who is signed in to the portal, since when, and whether only
// enrolment is allowed (the password alone, for a user with no device).
type signIn struct {
	UserID string    `json:"u"`
	At     time.Time `json:"t"`
	Enrol  bool      `json:"e,omitempty"`
}

// who is the signed-in user of a request.
type who struct {
	user  mfa.User
	actor admin.Actor
	enrol bool
	sess  *web.Session
}

var errSignedOut = errors.New("signed out")

// current returns the signed-in user, or errSignedOut. A sign-in older
// than the portal's MaxAge, of a user deleted or no longer active, ends.
func (p *Pages) current(r *http.Request) (*who, error) {
	sess, err := web.SessionOf(r)
	if err != nil {
		return nil, err
	}
	var si signIn
	if err := sess.GetJSON(keySignIn, &si); err != nil || si.UserID == "" {
		return nil, errSignedOut
	}
	if p.now().Sub(si.At) > p.maxAge || si.At.After(p.now()) {
		sess.Delete(keySignIn)
		return nil, errSignedOut
	}
	a := admin.UserActor(mfa.User{ID: si.UserID}, clientIP(r))
	u, err := p.admin.SelfUser(r.Context(), a)
	if errors.Is(err, mfa.ErrNotFound) || (err == nil && u.Status != mfa.StatusActive && u.Status != mfa.StatusBypass) {
		sess.Delete(keySignIn)
		return nil, errSignedOut
	}
	if err != nil {
		return nil, err
	}
	return &who{user: u, actor: admin.UserActor(u, clientIP(r)), enrol: si.Enrol, sess: sess}, nil
}

// SignedIn answers who is signed in to the portal for r: the user's id,
// and whether someone fully signed in (password and second factor). A
// password-only enrolment sign-in does not count. Other pages (the
// self-service PIN) use it to act for the portal's user.
func (p *Pages) SignedIn(r *http.Request) (userID string, ok bool) {
	w, err := p.current(r)
	if err != nil || w.enrol {
		return "", false
	}
	return w.user.ID, true
}

// page runs h for a fully signed-in user; others go to the login page (an
// enrolment-only sign-in to the enrolment pages).
func (p *Pages) page(w http.ResponseWriter, r *http.Request, h func(*who) error) error {
	me, err := p.current(r)
	if errors.Is(err, errSignedOut) {
		return p.toLogin(w, r)
	}
	if err != nil {
		return err
	}
	if me.enrol {
		p.notice(me.sess, web.AlertInfo, msgEnrolOnly)
		return web.Redirect(w, r, "/portal/devices/add")
	}
	return h(me)
}

// enrolPage runs h for a signed-in user, or one signed in for enrolment
// who still has no device.
func (p *Pages) enrolPage(w http.ResponseWriter, r *http.Request, h func(*who) error) error {
	me, err := p.current(r)
	if errors.Is(err, errSignedOut) {
		return p.toLogin(w, r)
	}
	if err != nil {
		return err
	}
	if me.enrol {
		devs, err := p.admin.SelfDevices(r.Context(), me.actor)
		if err != nil {
			return err
		}
		if len(devs) > 0 {
			return web.Redirect(w, r, "/portal/enrolled")
		}
	}
	return h(me)
}

func (p *Pages) toLogin(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return mfa.E(mfa.Unauthorized, "Your session has ended. Log in again, then try once more.")
	}
	return web.Redirect(w, r, LoginPath)
}

// notice keeps a one-time alert for the next page.
func (p *Pages) notice(sess *web.Session, kind, text string) {
	_ = sess.PutJSON(keyNotice, web.Alert{Kind: kind, Text: text}) // a struct of strings: cannot fail
}

// view is the view of a signed-in page, with the navigation and any
// pending notice.
func (p *Pages) view(me *who, current, title string, data any, alerts ...web.Alert) web.View {
	v := web.View{Title: title, Layout: web.LayoutWide, User: me.user.Username, Data: data}
	if !me.enrol {
		for _, n := range []web.NavItem{{Label: "My Settings & Devices", URL: "/portal/"}, {Label: "Add a device", URL: "/portal/devices/add"},
			{Label: "Recent activity", URL: "/portal/activity"}} {
			n.Current = n.URL == current
			v.Nav = append(v.Nav, n)
		}
		for _, n := range p.extra {
			n.Current = n.URL == current
			v.Nav = append(v.Nav, n)
		}
	}
	var a web.Alert
	if err := me.sess.GetJSON(keyNotice, &a); err == nil && a.Text != "" {
		v.Alerts = append(v.Alerts, a)
		me.sess.Delete(keyNotice)
	}
	v.Alerts = append(v.Alerts, alerts...)
	return v
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
