package selfbypass

import (
	"embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Paths.
const (
	BypassPath = "/portal/bypass"
	VerifyPath = "/portal/bypass/verify"
	PINPath    = "/portal/pin"
	PortalPath = "/portal/"
)

// Deps are the pages' dependencies.
type Deps struct {
	Site  *web.Site
	Flow  *authflow.Service
	Admin *admin.Service
	Now   func() time.Time
	// Contact is whom a locked-out user should contact.
	Contact string
	Logger  *slog.Logger
}

// Pages are the pre-login self-service bypass pages.
type Pages struct {
	flow    *authflow.Service
	admin   *admin.Service
	site    *web.Site
	now     func() time.Time
	contact string
	log     *slog.Logger
	tmpl    *web.Templates
}

// New makes the pages.
func New(d Deps) *Pages {
	p := &Pages{flow: d.Flow, admin: d.Admin, site: d.Site, now: d.Now, contact: d.Contact, log: d.Logger}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.tmpl = d.Site.MustParseTemplates(templates, "templates/*.html")
	return p
}

// maxForm bounds the forms: a username and password (at most
// mfa.MaxPasswordLen), or an identity answer, and the CSRF token.
const maxForm = 4 << 10

// Register lists every route of the pre-login pages.
func (p *Pages) Register(mux *http.ServeMux) {
	h := func(pattern string, f web.HandlerFunc, opts ...web.Option) { p.site.Handle(mux, pattern, f, opts...) }
	h("GET "+BypassPath, p.passwordForm)
	h("POST "+BypassPath, p.password, web.MaxBody(maxForm))
	h("GET "+VerifyPath, p.verifyForm)
	h("POST "+VerifyPath, p.verify, web.MaxBody(maxForm))
}

// PINPage is the signed-in "Set your self-service PIN" page.
type PINPage struct {
	admin    *admin.Service
	site     *web.Site
	signedIn func(r *http.Request) (userID string, ok bool)
	tmpl     *web.Templates
	now      func() time.Time
}

// NewPINPage makes the PIN page; signedIn reports the portal's signed-in
// user of a request (ok false: not signed in, sent to the portal's login).
func NewPINPage(d Deps, signedIn func(r *http.Request) (userID string, ok bool)) *PINPage {
	pg := &PINPage{admin: d.Admin, site: d.Site, signedIn: signedIn, now: d.Now}
	if pg.now == nil {
		pg.now = time.Now
	}
	pg.tmpl = d.Site.MustParseTemplates(templates, "templates/*.html")
	return pg
}

// Register lists the PIN page's routes.
func (pg *PINPage) Register(mux *http.ServeMux) {
	pg.site.Handle(mux, "GET "+PINPath, pg.form)
	pg.site.Handle(mux, "POST "+PINPath, pg.set, web.MaxBody(maxForm))
}
