package keys

import (
	"embed"
	"log/slog"
	"net/http"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Paths.
const (
	ListPath   = "/portal/keys"
	AddPath    = "/portal/keys/add"
	FinishPath = "/portal/keys/finish"
)

// Deps are the pages' dependencies.
type Deps struct {
	Site *web.Site
	Flow *authflow.Service
	// SignedIn names the signed-in user of r (the portal's session);
	// ok false sends the browser to SignInPath.
	SignedIn func(r *http.Request) (userID string, ok bool)
	// SignInPath is where a person who is not signed in goes ("/portal/"
	// when empty).
	SignInPath string
	// Nav is the portal's header navigation, shown on every page.
	Nav    []web.NavItem
	Logger *slog.Logger
}

// Pages are the security key pages.
type Pages struct {
	site     *web.Site
	flow     *authflow.Service
	signedIn func(*http.Request) (string, bool)
	signIn   string
	nav      []web.NavItem
	log      *slog.Logger
	tmpl     *web.Templates
}

// New makes the pages; the templates are embedded, so a parse failure
// panics (a build defect every test catches).
func New(d Deps) *Pages {
	p := &Pages{site: d.Site, flow: d.Flow, signedIn: d.SignedIn, signIn: d.SignInPath, nav: d.Nav, log: d.Logger}
	if p.signIn == "" {
		p.signIn = "/portal/"
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.tmpl = d.Site.MustParseTemplates(templates, "templates/*.html")
	return p
}

// maxForm bounds the name, rename and remove forms; maxKeyForm the
// finished ceremony (an attestation with a certificate chain).
const (
	maxForm    = 4 << 10
	maxKeyForm = 64 << 10
)

// Register lists every route of the pages.
func (p *Pages) Register(mux *http.ServeMux) {
	h := func(pattern string, f web.HandlerFunc, opts ...web.Option) { p.site.Handle(mux, pattern, f, opts...) }
	h("GET "+ListPath, p.list)
	h("GET "+AddPath, p.addForm)
	h("POST "+AddPath, p.add, web.MaxBody(maxForm))
	h("POST "+FinishPath, p.finish, web.MaxBody(maxKeyForm))
	h("GET "+ListPath+"/{key}/rename", p.renameForm)
	h("POST "+ListPath+"/{key}/rename", p.rename, web.MaxBody(maxForm))
	h("GET "+ListPath+"/{key}/remove", p.removeForm)
	h("POST "+ListPath+"/{key}/remove", p.remove, web.MaxBody(maxForm))
}
