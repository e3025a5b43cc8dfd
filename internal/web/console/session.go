package console

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// Session values of the console (the site's server-side session).
const (
	keyAdmin    = "console.admin"    // the signed-in administrator's id
	keySince    = "console.since"    // when they signed in (unix seconds)
	keySeen     = "console.seen"     // their last request (unix seconds)
	keyPending  = "console.pending"  // password checked, second factor next: the administrator's id
	keyPendAt   = "console.pend_at"  // when the password was checked (unix seconds)
	keyPwChange = "console.pwchange" // both factors passed, a new password is required: the id
)

// pendingFor is how long a checked password waits for the second factor.
const pendingFor = 10 * time.Minute

// seenEvery is how stale keySeen may get before a request writes it: a
// session may end up to this much early, for one write a minute at most.
const seenEvery = time.Minute

// req is a signed-in request: who, and the actor the services authorize.
type req struct {
	Admin mfa.Admin
	Actor admin.Actor
	Sess  *web.Session
}

// handler is a page for a signed-in administrator.
type handler func(w http.ResponseWriter, r *http.Request, c req) error

// signedIn wraps a page: without a live console session (never signed
// in, idle or absolute timeout, the administrator disabled, locked out or
// deleted since) it sends the browser to the sign-in page, saying why.
func (p *Pages) signedIn(f handler) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := web.SessionOf(r)
		if err != nil {
			return err
		}
		id := sess.Get(keyAdmin)
		if id == "" {
			if sess.Expired() {
				return web.Redirect(w, r, "/console/login?ended=1")
			}
			return web.Redirect(w, r, "/console/login")
		}
		now := p.now()
		since, seen := unixOf(sess.Get(keySince)), unixOf(sess.Get(keySeen))
		if !since.Add(p.lifetime).After(now) || !seen.Add(p.idle).After(now) {
			sess.Destroy()
			return web.Redirect(w, r, "/console/login?ended=1")
		}
		ad, err := p.flow.ConsoleAdmin(r.Context(), id)
		if err != nil {
			if errors.Is(err, mfa.ErrNotFound) || mfa.KindOf(err) == mfa.Denied {
				sess.Destroy()
				return web.Redirect(w, r, "/console/login?ended=1")
			}
			return err
		}
		// An administrator whose authenticator was reset (lost) is signed
		// out everywhere: every session needs a set-up authenticator. (A
		// session idle from the reset until a new one is set up is not
		// caught: the store keeps no history of authenticators.)
		if _, err := p.flow.PendingAdminTOTP(r.Context(), id); mfa.KindOf(err) != mfa.Conflict {
			if err != nil && !errors.Is(err, mfa.ErrNotFound) {
				return err
			}
			sess.Destroy()
			return web.Redirect(w, r, "/console/login?ended=1")
		}
		if now.Sub(seen) >= seenEvery {
			sess.Put(keySeen, unix(now))
		}
		return f(w, r, req{Admin: ad, Actor: admin.AdminActor(ad), Sess: sess})
	}
}

// begin signs the administrator in: a new session id, and the times the
// timeouts count from.
func (p *Pages) begin(sess *web.Session, ad mfa.Admin) error {
	if err := sess.RenewToken(); err != nil {
		return err
	}
	now := unix(p.now())
	sess.Delete(keyPending)
	sess.Delete(keyPendAt)
	sess.Delete(keyPwChange)
	sess.Put(keyAdmin, ad.ID)
	sess.Put(keySince, now)
	sess.Put(keySeen, now)
	return nil
}

// pending returns the administrator whose password this session checked
// less than pendingFor ago, or "".
func (p *Pages) pending(sess *web.Session) string {
	id := sess.Get(keyPending)
	if id == "" || !unixOf(sess.Get(keyPendAt)).Add(pendingFor).After(p.now()) {
		return ""
	}
	return id
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func unixOf(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
