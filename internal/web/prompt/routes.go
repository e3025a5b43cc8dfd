package prompt

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

//go:embed static/*
var static embed.FS

// Paths of the prompt's own routes (the prompt page itself is
// mfa.LoginPromptPath(id)).
const (
	// StatusPath is the JSON long poll of a waiting push or call
	// (?id=<login id>). It is a fixed path so that the server can give it
	// the long-poll write deadline (server.longPollRoutes).
	StatusPath = "/frame/prompt/status"
	ScriptPath = "/static/prompt.js"
	StylePath  = "/static/prompt.css"
)

// Deps are the prompt's dependencies.
type Deps struct {
	Site *web.Site
	Flow *authflow.Service
	Now  func() time.Time
	// Contact is whom a locked-out user should contact (a name, address
	// or phone); empty says "your administrator or help desk".
	Contact string
	Logger  *slog.Logger
}

// Pages are the prompt's pages.
type Pages struct {
	site    *web.Site
	flow    *authflow.Service
	now     func() time.Time
	contact string
	log     *slog.Logger
	tmpl    *web.Templates
}

// New makes the prompt's pages; the templates are embedded, so a parse
// failure panics (a build defect every test catches).
func New(d Deps) *Pages {
	p := &Pages{site: d.Site, flow: d.Flow, now: d.Now, contact: d.Contact, log: d.Logger}
	if p.contact == "" {
		p.contact = d.Site.HelpContact() // web.help_contact
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.tmpl = d.Site.MustParseTemplates(templates, "templates/*.html")
	return p
}

// Register lists every route of the prompt.
func (p *Pages) Register(mux *http.ServeMux) {
	h := func(pattern string, f web.HandlerFunc, opts ...web.Option) { p.site.Handle(mux, pattern, f, opts...) }
	h("GET /frame/prompt/{id}", p.choose)
	h("POST /frame/prompt/{id}", p.choice, web.MaxBody(maxForm))
	h("GET /frame/prompt/{id}/passcode", p.passcodeForm)
	h("POST /frame/prompt/{id}/passcode", p.passcode, web.MaxBody(maxForm))
	h("POST /frame/prompt/{id}/sms", p.sms, web.MaxBody(maxForm))
	h("GET /frame/prompt/{id}/key", p.keyForm)
	h("POST /frame/prompt/{id}/key", p.key, web.MaxBody(maxKeyForm))
	h("GET /frame/prompt/{id}/wait", p.wait)
	h("POST /frame/prompt/{id}/check", p.check, web.MaxBody(maxForm))
	h("POST /frame/prompt/{id}/cancel", p.cancel, web.MaxBody(maxForm))
	h("POST /frame/prompt/{id}/leave", p.leave, web.MaxBody(maxForm))
	h("GET "+StatusPath, p.status)
	h("GET "+ScriptPath, staticFile("static/prompt.js", "text/javascript; charset=utf-8"), web.Plain())
	h("GET "+StylePath, staticFile("static/prompt.css", "text/css; charset=utf-8"), web.Plain())
}

// maxForm bounds every prompt form: a passcode, a choice, a checkbox and
// the CSRF token fit in far less.
const maxForm = 4 << 10

func staticFile(name, contentType string) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		b, err := static.ReadFile(name)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(b)
		return nil
	}
}
