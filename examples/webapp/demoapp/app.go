// Package demoapp is a small web application that protects its login with
// twostep through Duo's Universal Prompt, using Duo's own Go SDK
// (github.com/duosecurity/duo_universal_golang) unchanged: the only
// twostep-specific thing is the API host (and, for twostep's generated
// certificate, an HTTP client that trusts its CA).
//
// The flow, step by step, is in login and callback below; an application of
// your own does the same.
package demoapp

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/duosecurity/duo_universal_golang/duouniversal"
)

//go:embed templates/*.html static/*.css
var files embed.FS

// Config is what the application knows about twostep.
type Config struct {
	ClientID     string // the websdk integration's key (ikey)
	ClientSecret string // its secret key (skey)
	APIHost      string // twostep's host[:port], e.g. "localhost:8443"
	RedirectURI  string // this application's callback, registered on the integration
	// HTTPClient talks to twostep; it must trust twostep's certificate.
	// Nil uses Duo's default, which trusts only Duo's own CAs.
	HTTPClient *http.Client
	// FailClosed refuses logins when twostep cannot be reached; otherwise
	// (fail open) the user logs in with the first factor alone.
	FailClosed bool
	Logger     *slog.Logger
}

// App is the demo application: an http.Handler.
type App struct {
	duo        *duouniversal.Client
	twostep    string // https://<APIHost>, where the login form's redirect goes
	failClosed bool
	log        *slog.Logger
	tmpl       *template.Template
	mux        *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session
}

// session is one browser's state, kept in memory (a demo: a real
// application keeps it wherever it keeps its sessions).
type session struct {
	pendingUser string // first factor done, waiting for the second
	state       string // the state sent to twostep, checked on return
	user        string // logged in
	result      *duouniversal.TokenResponse
	expires     time.Time
}

const sessionCookie = "demo_session"

// New checks cfg and builds the application.
func New(cfg Config) (*App, error) {
	if cfg.RedirectURI == "" || cfg.APIHost == "" {
		return nil, errors.New("demoapp: APIHost and RedirectURI are required")
	}
	// Step 1: a Duo Universal client, pointed at twostep.
	var c *duouniversal.Client
	var err error
	if cfg.HTTPClient != nil {
		c, err = duouniversal.NewClient(cfg.ClientID, cfg.ClientSecret, cfg.APIHost, cfg.RedirectURI,
			duouniversal.WithHTTPClient(cfg.HTTPClient))
	} else {
		c, err = duouniversal.NewClient(cfg.ClientID, cfg.ClientSecret, cfg.APIHost, cfg.RedirectURI)
	}
	if err != nil {
		return nil, fmt.Errorf("demoapp: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{duo: c, twostep: "https://" + cfg.APIHost, failClosed: cfg.FailClosed, log: log, sessions: map[string]*session{},
		tmpl: template.Must(template.ParseFS(files, "templates/*.html"))}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /duo-callback", a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	mux.Handle("GET /static/", http.FileServerFS(files))
	a.mux = mux
	return a, nil
}

// ServeHTTP serves the application with a strict CSP and cross-origin POSTs
// refused.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// form-action names twostep too: the login form's answer is a redirect
	// there, and browsers apply form-action to the redirects after a form.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self' "+a.twostep+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	http.NewCrossOriginProtection().Handler(a.mux).ServeHTTP(w, r)
}

type page struct {
	Error  string
	Notice string
	User   string
	Result *duouniversal.TokenResponse
}

func (a *App) render(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := a.tmpl.ExecuteTemplate(w, "page.html", p); err != nil {
		a.log.Error("render", "error", err)
	}
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if s != nil && s.user != "" {
		a.render(w, http.StatusOK, page{User: s.user, Result: s.result})
		return
	}
	a.render(w, http.StatusOK, page{})
}

// login checks the first factor and hands the second to twostep.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	if user == "" || password == "" {
		a.render(w, http.StatusBadRequest, page{Error: "Enter a username and a password."})
		return
	}
	// This is where your application checks the password. The demo accepts
	// any: twostep is the point.

	// Step 2: is twostep reachable? If not, fail closed or open.
	if _, err := a.duo.HealthCheck(); err != nil {
		a.log.Warn("twostep health check failed", "error", err)
		if a.failClosed {
			a.render(w, http.StatusServiceUnavailable, page{Error: "Two-step login is unavailable; try again later."})
			return
		}
		a.start(w, &session{user: user}) // fail open
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	// Step 3: a fresh state, kept in this browser's session.
	state, err := a.duo.GenerateState()
	if err != nil {
		a.render(w, http.StatusInternalServerError, page{Error: "Could not start the login."})
		return
	}
	// Step 4: the prompt's URL, and off the browser goes.
	u, err := a.duo.CreateAuthURL(user, state)
	if err != nil {
		a.render(w, http.StatusBadRequest, page{Error: "Could not start the login: " + err.Error()})
		return
	}
	a.start(w, &session{pendingUser: user, state: state})
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// callback is where twostep sends the browser back.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	q := r.URL.Query()
	// Step 5: the state must be the one this browser was sent with.
	if s == nil || s.pendingUser == "" || s.state == "" || q.Get("state") != s.state {
		a.render(w, http.StatusBadRequest, page{Error: "This login link is not for this browser, or it was already used. Log in again."})
		return
	}
	user := s.pendingUser
	s.state, s.pendingUser = "", "" // one use
	if e := q.Get("error"); e != "" {
		a.render(w, http.StatusUnauthorized, page{Error: "Two-step login did not succeed (" + e + "). Log in again."})
		return
	}
	// Step 6: exchange the code for the result, for this username only.
	res, err := a.duo.ExchangeAuthorizationCodeFor2faResult(q.Get("duo_code"), user)
	if err != nil {
		a.log.Warn("code exchange failed", "error", err)
		a.render(w, http.StatusUnauthorized, page{Error: "Two-step login could not be confirmed. Log in again."})
		return
	}
	if res.AuthResult.Result != "allow" {
		a.render(w, http.StatusUnauthorized, page{Error: "Two-step login was denied: " + res.AuthResult.StatusMsg})
		return
	}
	// Step 7: logged in.
	a.start(w, &session{user: user, result: res})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	a.render(w, http.StatusOK, page{Notice: "You are logged out."})
}

// start gives the browser a new session (a new id at every step, so a
// session id seen before login is worthless after it).
func (a *App) start(w http.ResponseWriter, s *session) {
	b := make([]byte, 24)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	s.expires = time.Now().Add(time.Hour)
	a.mu.Lock()
	for k, v := range a.sessions {
		if time.Now().After(v.expires) {
			delete(a.sessions, k)
		}
	}
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (a *App) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}
