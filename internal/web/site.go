package web

import (
	"context"
	"crypto/rand"
	"embed"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

//go:embed templates/*.html templates/*.svg static/*
var files embed.FS

// Session timeouts when Deps leaves them zero.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
)

// Deps are the browser surface's dependencies. Every field may be left
// zero: then the pages need no database (sessions are refused with a 503
// page), the organisation is "twostep" with twostep's own mark, the brand
// colour is DefaultBrandColor and the timeouts are the defaults.
type Deps struct {
	Logger *slog.Logger
	// Sessions keeps the browser sessions (the server passes its store).
	Sessions mfa.SessionStore
	Now      func() time.Time
	Rand     io.Reader
	// Organization is shown on every page (config organization).
	Organization string
	// Logo is a PNG shown on every page (config logo_file); nil shows
	// twostep's own mark.
	Logo []byte
	// BrandColor is "#rrggbb" (config web.brand_color).
	BrandColor string
	// SessionIdle ends a session not used for this long; SessionLifetime
	// ends every session this long after it began, used or not.
	SessionIdle, SessionLifetime time.Duration
	// HelpContact is whom a person should contact for help, such as a
	// locked-out user (config web.help_contact: a name, address or phone);
	// "" says "your administrator or help desk". A page's own contact
	// (web.LockedOut's) wins.
	HelpContact string
	// RequestID returns the request id of ctx (server.RequestID); nil reads
	// the X-Request-Id response header the server sets.
	RequestID func(ctx context.Context) string
}

// Site is the browser surface's foundation: the middleware every page runs
// behind (security headers, sessions, CSRF), the base layout and
// components, the error pages and the static files. Feature packages
// (prompt, portal, console) register their pages through it.
type Site struct {
	log      *slog.Logger
	sessions mfa.SessionStore
	now      func() time.Time
	rand     io.Reader
	org      string
	logo     []byte
	css      []byte
	idle     time.Duration
	lifetime time.Duration
	reqID    func(ctx context.Context) string
	contact  string
	cop      *http.CrossOriginProtection
	pages    *Templates // web's own pages: errors, activate, install
}

// New makes the site. The templates are embedded, so a parse failure is a
// build defect: New panics on it (and every test catches it). A BrandColor
// that is not "#rrggbb" panics too: config validation refuses it first.
func New(d Deps) *Site {
	s := &Site{log: d.Logger, sessions: d.Sessions, now: d.Now, rand: d.Rand, org: d.Organization, logo: d.Logo,
		idle: d.SessionIdle, lifetime: d.SessionLifetime, reqID: d.RequestID, contact: d.HelpContact}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.org == "" {
		s.org = "twostep"
	}
	if s.idle <= 0 {
		s.idle = DefaultSessionIdle
	}
	if s.lifetime <= 0 {
		s.lifetime = DefaultSessionLifetime
	}
	brand := d.BrandColor
	if brand == "" {
		brand = DefaultBrandColor
	}
	css, err := stylesheet(brand)
	if err != nil {
		panic(err)
	}
	s.css = css
	s.cop = http.NewCrossOriginProtection()
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &mfa.Error{Kind: mfa.Denied, Msg: msgCrossOrigin})
	}))
	s.pages = s.MustParseTemplates(files, "templates/*.html")
	return s
}

// HelpContact is whom people should contact for help ("" when not
// configured).
func (s *Site) HelpContact() string { return s.contact }

// Organization is the organisation's name shown on every page.
func (s *Site) Organization() string { return s.org }

// LogoURL is the address of the logo shown on every page.
func (s *Site) LogoURL() string {
	if s.logo != nil {
		return "/static/logo.png"
	}
	return "/static/mark.svg"
}

// template funcs every page template may use.
func (s *Site) funcs() template.FuncMap {
	return template.FuncMap{
		"field": fieldOf,
	}
}
