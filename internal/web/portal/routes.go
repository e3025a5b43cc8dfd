package portal

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

//go:embed static/portal.js
var static embed.FS

// Paths of the portal.
const (
	Prefix     = "/portal/"
	LoginPath  = "/portal/login"
	LogoutPath = "/portal/logout"
	ScriptPath = "/static/portal.js"
	// BypassPath is the self-service bypass page (another package); the
	// login page links to it.
	BypassPath = "/portal/bypass"
)

// Deps are the portal's dependencies.
type Deps struct {
	Site  *web.Site
	Flow  *authflow.Service
	Admin *admin.Service
	Now   func() time.Time
	Rand  interface{ Read([]byte) (int, error) }
	// MaxAge bounds a portal sign-in whatever the activity (default
	// DefaultMaxAge); the web session's idle timeout ends it sooner.
	MaxAge time.Duration
	// Contact is whom a locked-out user should contact.
	Contact string
	Logger  *slog.Logger
	// Extra are more links of the settings navigation (the coordinator
	// wires "Self-service PIN" here), shown after the portal's own.
	Extra []web.NavItem
	// SecurityKeys offers "Security key or passkey" among the ways to add
	// a device (the pages are internal/web/keys, at /portal/keys).
	SecurityKeys bool
}

// DefaultMaxAge is how long a portal sign-in lasts at most.
const DefaultMaxAge = time.Hour

// Pages serves the portal.
type Pages struct {
	site    *web.Site
	flow    *authflow.Service
	admin   *admin.Service
	now     func() time.Time
	rand    interface{ Read([]byte) (int, error) }
	maxAge  time.Duration
	contact string
	log     *slog.Logger
	extra   []web.NavItem
	addOpts []AddOption
	keys    bool // security keys are on: listed with the devices
	tmpl    *web.Templates
}

// New makes the portal's pages.
func New(d Deps) *Pages {
	p := &Pages{site: d.Site, flow: d.Flow, admin: d.Admin, now: d.Now, rand: d.Rand, maxAge: d.MaxAge,
		contact: d.Contact, log: d.Logger, extra: d.Extra}
	if p.now == nil {
		p.now = time.Now
	}
	if p.maxAge <= 0 {
		p.maxAge = DefaultMaxAge
	}
	p.addOpts, p.keys = AddOptions, d.SecurityKeys
	if d.SecurityKeys {
		p.addOpts = append(append([]AddOption{}, AddOptions...), SecurityKeyOption)
	}
	if p.contact == "" {
		p.contact = d.Site.HelpContact() // web.help_contact
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.tmpl = d.Site.MustParseTemplates(templates, "templates/*.html")
	return p
}

// Form bodies are small: 4 KiB at most.
const maxForm = 4 << 10

// Register lists every route of the portal.
func (p *Pages) Register(mux *http.ServeMux) {
	h := func(pattern string, f web.HandlerFunc, opts ...web.Option) { p.site.Handle(mux, pattern, f, opts...) }
	form := web.MaxBody(maxForm)
	h("GET /portal/{$}", p.home)
	h("GET "+LoginPath, p.loginForm)
	h("POST "+LoginPath, p.login, form)
	h("GET /portal/login/{id}/done", p.loginDone)
	h("POST "+LogoutPath, p.logout, form)

	h("GET /portal/devices/add", p.addChoice)
	h("GET /portal/devices/add/app", p.appForm)
	h("POST /portal/devices/add/app", p.appStart, form)
	h("GET /portal/devices/add/app/status", p.appStatus)
	h("POST /portal/devices/add/app/check", p.appCheck, form)
	h("GET /portal/devices/add/totp", p.totpForm)
	h("POST /portal/devices/add/totp", p.totpSave, form)
	h("GET /portal/devices/add/phone", p.phoneForm)
	h("POST /portal/devices/add/phone", p.phoneSend, form)
	h("GET /portal/devices/add/phone/check", p.phoneCheckForm)
	h("POST /portal/devices/add/phone/check", p.phoneCheck, form)
	h("GET /portal/enrolled", p.enrolled)

	h("GET /portal/devices/{id}/rename", p.renameForm)
	h("POST /portal/devices/{id}/rename", p.rename, form)
	h("GET /portal/devices/{id}/remove", p.removeForm)
	h("POST /portal/devices/{id}/remove", p.remove, form)
	h("POST /portal/devices/{id}/sms", p.sms, form)
	h("POST /portal/devices/{id}/reactivate", p.reactivate, form)

	h("POST /portal/default", p.setDefault, form)
	h("GET /portal/activity", p.activity)
	h("GET /portal/activity/{txid}/report", p.reportForm)
	h("POST /portal/activity/{txid}/report", p.report, form)

	h("GET "+ScriptPath, func(w http.ResponseWriter, r *http.Request) error {
		b, err := static.ReadFile("static/portal.js")
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(b)
		return nil
	}, web.Plain())
}
