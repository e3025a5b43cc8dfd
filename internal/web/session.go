package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// CookieName is the session cookie's name. The __Host- prefix makes
// browsers accept it only with Secure, Path=/ and no Domain, from an https
// origin: no subdomain or plain-http page can plant or read it.
const CookieName = "__Host-twostep_session"

// tokenBytes is the size of a session token and of a CSRF token.
const tokenBytes = 32

// touchEvery is how stale a session's idle expiry may get before a request
// that changes nothing writes the later expiry: it saves a database write
// per page view at the cost of ending a session up to this much early.
const touchEvery = time.Minute

// Session is one browser session: values kept in the database under the
// SHA-256 of a random token that only the browser's cookie holds. Get one
// with SessionOf; changes are saved before the answer starts. A session
// that was never given a value (or a CSRF token) is not stored and sets
// no cookie.
type Session struct {
	site    *Site
	key     string // SessionKey of the current token; "" until stored
	token   string // a new token for the cookie, set by commit
	created time.Time
	expires time.Time
	values  map[string]string
	csrf    string

	expired   bool // the request carried a cookie of a session that has ended
	dirty     bool
	renew     bool
	destroyed bool
}

// sessionData is the stored encoding of a session's values.
type sessionData struct {
	Values map[string]string `json:"v,omitempty"`
	CSRF   string            `json:"c,omitempty"`
}

// SessionOf returns the request's session, loading it from the store the
// first time it is asked for. A request without a live session gets a new,
// empty one (stored only once something is put in it). The error is
// Unavailable when sessions are not configured or the store fails.
func SessionOf(r *http.Request) (*Session, error) {
	st := stateOf(r)
	if st == nil {
		return nil, errors.New("web.SessionOf outside a web.Handle route")
	}
	if !st.loaded {
		st.loaded = true
		st.sess, st.sessErr = st.site.loadSession(r)
	}
	return st.sess, st.sessErr
}

func (s *Site) loadSession(r *http.Request) (*Session, error) {
	if s.sessions == nil {
		return nil, mfa.E(mfa.Unavailable, "sessions are not configured")
	}
	sess := &Session{site: s, values: map[string]string{}}
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return sess, nil
	}
	now := s.now()
	stored, err := s.sessions.GetSession(r.Context(), mfa.SessionKey(c.Value), now)
	if errors.Is(err, mfa.ErrNotFound) {
		sess.expired = true
		return sess, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if !stored.Created.Add(s.lifetime).After(now) {
		// Past the absolute timeout (a lifetime shortened since it began).
		if err := s.sessions.DeleteSession(r.Context(), stored.Key); err != nil {
			return nil, fmt.Errorf("end session: %w", err)
		}
		sess.expired = true
		return sess, nil
	}
	var d sessionData
	if err := json.Unmarshal(stored.Data, &d); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	sess.key, sess.created, sess.expires, sess.csrf = stored.Key, stored.Created, stored.Expires, d.CSRF
	if d.Values != nil {
		sess.values = d.Values
	}
	return sess, nil
}

// Get returns the value stored under key, or "".
func (s *Session) Get(key string) string { return s.values[key] }

// Put stores value under key (creating the session if it was new).
func (s *Session) Put(key, value string) {
	if s.values[key] != value {
		s.values[key], s.dirty = value, true
	}
}

// Delete removes the value under key.
func (s *Session) Delete(key string) {
	if _, ok := s.values[key]; ok {
		delete(s.values, key)
		s.dirty = true
	}
}

// PutJSON stores v, encoded as JSON, under key.
func (s *Session) PutJSON(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("session value %s: %w", key, err)
	}
	s.Put(key, string(b))
	return nil
}

// GetJSON decodes the JSON stored under key into v; NotFound if there is
// none.
func (s *Session) GetJSON(key string, v any) error {
	b, ok := s.values[key]
	if !ok {
		return mfa.NotFoundf("no %s in the session", key)
	}
	if err := json.Unmarshal([]byte(b), v); err != nil {
		return fmt.Errorf("session value %s: %w", key, err)
	}
	return nil
}

// Expired reports whether the request carried the cookie of a session
// that has ended (idle, absolute timeout or logout): a page may say so
// instead of starting over silently.
func (s *Session) Expired() bool { return s.expired }

// isNew reports whether the session is not stored yet.
func (s *Session) isNew() bool { return s.key == "" }

// CSRFToken returns the session's CSRF token, creating it (and so the
// session) if needed. Render puts it in every view as .CSRFToken; forms
// carry it with {{template "csrf" .}}.
func (s *Session) CSRFToken() (string, error) {
	if s.csrf == "" {
		t, err := s.site.token()
		if err != nil {
			return "", err
		}
		s.csrf, s.dirty = t, true
	}
	return s.csrf, nil
}

// RenewToken gives the session a new id (and a new CSRF token), keeping
// its values: call it at login and at every privilege change, so that an
// id planted or seen before is worth nothing after. The old id stops
// working when the answer is sent.
func (s *Session) RenewToken() error {
	t, err := s.site.token()
	if err != nil {
		return err
	}
	s.csrf, s.renew, s.dirty = t, true, true
	return nil
}

// Destroy ends the session (logout): its row is deleted and the cookie
// cleared when the answer is sent. Values put afterwards start a new
// session.
func (s *Session) Destroy() {
	s.destroyed, s.dirty = true, false
	s.values, s.csrf = map[string]string{}, ""
}

func (s *Site) token() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// commit saves the session's changes and sets the cookie.
func (s *Session) commit(ctx context.Context, w http.ResponseWriter) error {
	st := s.site.sessions
	now := s.site.now()
	if s.destroyed {
		if s.key != "" {
			if err := st.DeleteSession(ctx, s.key); err != nil {
				return fmt.Errorf("end session: %w", err)
			}
			s.key = ""
		}
		http.SetCookie(w, s.site.cookie("", -1))
		s.destroyed = false
		if !s.dirty {
			return nil
		}
	}
	if s.key == "" && !s.dirty {
		return nil // nothing to keep
	}
	data, err := json.Marshal(sessionData{Values: s.values, CSRF: s.csrf})
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	if s.key == "" || s.renew {
		created := s.created
		if s.key == "" {
			created = now
		}
		token, err := s.site.token()
		if err != nil {
			return err
		}
		key := mfa.SessionKey(token)
		expires := s.site.expiry(created, now)
		if err := st.CreateSession(ctx, mfa.Session{Key: key, Data: data, Created: created, Expires: expires}); err != nil {
			return fmt.Errorf("store session: %w", err)
		}
		if s.key != "" {
			if err := st.DeleteSession(ctx, s.key); err != nil {
				return fmt.Errorf("end the renewed session: %w", err)
			}
		}
		s.key, s.token, s.created, s.expires, s.renew, s.dirty = key, token, created, expires, false, false
		http.SetCookie(w, s.site.cookie(token, 0))
		return nil
	}
	expires := s.site.expiry(s.created, now)
	if !s.dirty && expires.Sub(s.expires) < touchEvery {
		return nil
	}
	if err := st.UpdateSession(ctx, s.key, data, expires, now); errors.Is(err, mfa.ErrNotFound) {
		return mfa.E(mfa.Unauthorized, msgSessionEnded)
	} else if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	s.expires, s.dirty = expires, false
	return nil
}

// expiry is a session's idle expiry at now, capped by its absolute one.
func (s *Site) expiry(created, now time.Time) time.Time {
	e := now.Add(s.idle)
	if abs := created.Add(s.lifetime); abs.Before(e) {
		e = abs
	}
	return e
}

// cookie is the session cookie holding token; maxAge < 0 deletes it. The
// cookie itself has no expiry: the server ends the session.
func (s *Site) cookie(token string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: token, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}
