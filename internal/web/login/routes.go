package login

import (
	"embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// EndSessionPath is the OIDC RP-initiated logout endpoint (served here,
// because it ends the browser's session; the protocol checks are the
// provider's, through Deps.EndSession).
const EndSessionPath = "/oidc/end_session"

// Deps are the pages' dependencies.
type Deps struct {
	Site *web.Site
	Flow *authflow.Service
	Now  func() time.Time
	// SSOLifetime bounds single sign-on: a login older than this is not
	// reused (config oidc.session_lifetime; the browser session's own
	// timeouts bound it too).
	SSOLifetime time.Duration
	// EndSession checks an RP-initiated logout request (its client_id,
	// id_token_hint and post_logout_redirect_uri) and returns where to
	// send the browser afterwards ("" for nowhere) and the application's
	// name; an error is shown as a page. nil refuses every logout request.
	EndSession func(r *http.Request) (next, app string, err error)
	// Contact is whom a locked-out user should contact.
	Contact string
	Logger  *slog.Logger
}

// Pages are the first-factor pages.
type Pages struct {
	site       *web.Site
	flow       *authflow.Service
	now        func() time.Time
	sso        time.Duration
	endSession func(r *http.Request) (string, string, error)
	contact    string
	log        *slog.Logger
	tmpl       *web.Templates
}

// DefaultSSOLifetime bounds single sign-on when Deps leaves it zero.
const DefaultSSOLifetime = 8 * time.Hour

// New makes the pages.
func New(d Deps) *Pages {
	p := &Pages{site: d.Site, flow: d.Flow, now: d.Now, sso: d.SSOLifetime, endSession: d.EndSession,
		contact: d.Contact, log: d.Logger}
	if p.contact == "" {
		p.contact = d.Site.HelpContact() // web.help_contact
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sso <= 0 {
		p.sso = DefaultSSOLifetime
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.tmpl = d.Site.MustParseTemplates(templates, "templates/*.html")
	return p
}

// maxForm bounds the login form: a username, a password (at most
// mfa.MaxPasswordLen) and the CSRF token.
const maxForm = 4 << 10

// Register lists every route of the first-factor pages.
func (p *Pages) Register(mux *http.ServeMux) {
	h := func(pattern string, f web.HandlerFunc, opts ...web.Option) { p.site.Handle(mux, pattern, f, opts...) }
	h("GET /login/{id}", p.form)
	h("POST /login/{id}", p.submit, web.MaxBody(maxForm))
	h("GET /login/{id}/done", p.done)
	h("GET "+EndSessionPath, p.logout)
}
