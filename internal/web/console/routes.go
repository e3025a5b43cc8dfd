package console

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

// Default session timeouts of the console (config console.idle_timeout
// and console.session_lifetime). The site's own session timeouts
// (web.session_idle_timeout, web.session_lifetime) bound them too.
const (
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultSessionLifetime = 8 * time.Hour
)

// Deps are the console's dependencies.
type Deps struct {
	Site  *web.Site
	Admin *admin.Service
	Flow  *authflow.Service
	Now   func() time.Time
	// IdleTimeout signs an administrator out after this long without a
	// request; SessionLifetime this long after signing in, used or not.
	IdleTimeout, SessionLifetime time.Duration
	// Issuer names the account in authenticator apps (the organisation).
	Issuer string
	Logger *slog.Logger
	// ImportHook, for tests, follows background token imports.
	ImportHook ImportHook
	// Outbox, when set (the development carrier "outbox" only), is read
	// by the outbox page; nil: no page, no link.
	Outbox OutboxReader
}

// Pages are the console's pages.
type Pages struct {
	site     *web.Site
	admin    *admin.Service
	flow     *authflow.Service
	now      func() time.Time
	idle     time.Duration
	lifetime time.Duration
	issuer   string
	log      *slog.Logger
	tmpl     *web.Templates
	outbox   OutboxReader

	imports    importJobs
	importHook ImportHook
}

// New makes the pages.
func New(d Deps) *Pages {
	p := &Pages{site: d.Site, admin: d.Admin, flow: d.Flow, now: d.Now, idle: d.IdleTimeout, lifetime: d.SessionLifetime,
		issuer: d.Issuer, log: d.Logger, importHook: d.ImportHook, outbox: d.Outbox}
	p.imports.jobs = map[string]*importJob{}
	if p.now == nil {
		p.now = time.Now
	}
	if p.idle <= 0 {
		p.idle = DefaultIdleTimeout
	}
	if p.lifetime <= 0 {
		p.lifetime = DefaultSessionLifetime
	}
	if p.issuer == "" {
		p.issuer = d.Site.Organization()
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.tmpl = d.Site.MustParseTemplates(templates, "templates/*.html")
	return p
}

// Form size limits: sign-in forms carry an email, a password or a code
// and the CSRF token; the others a few short fields.
const (
	maxSignInForm = 4 << 10
	maxForm       = 8 << 10
)

// Register lists every route of the console.
func (p *Pages) Register(mux *http.ServeMux) {
	h := func(pattern string, f web.HandlerFunc, opts ...web.Option) { p.site.Handle(mux, pattern, f, opts...) }
	// Sign-in (no administrator yet).
	h("GET /console/login", p.loginForm)
	h("POST /console/login", p.login, web.MaxBody(maxSignInForm))
	h("GET /console/login/enroll", p.enrollForm)
	h("POST /console/login/enroll", p.enroll, web.MaxBody(maxSignInForm))
	h("GET /console/login/code", p.codeForm)
	h("POST /console/login/code", p.code, web.MaxBody(maxSignInForm))
	h("GET /console/login/password", p.passwordForm)
	h("POST /console/login/password", p.password, web.MaxBody(maxSignInForm))
	h("POST /console/login/key", p.keyLogin, web.MaxBody(maxKeyForm))
	h("POST /console/logout", p.logout, web.MaxBody(maxSignInForm))

	// Signed in.
	h("GET /console/{$}", p.signedIn(p.dashboard))
	h("GET /console/users", p.signedIn(p.users))
	h("GET /console/users/new", p.signedIn(p.newUserForm))
	h("POST /console/users/new", p.signedIn(p.createUser), web.MaxBody(maxForm))
	h("GET /console/users/{id}", p.signedIn(p.user))
	h("GET /console/users/{id}/edit", p.signedIn(p.editUserForm))
	h("POST /console/users/{id}/edit", p.signedIn(p.updateUser), web.MaxBody(maxForm))
	h("GET /console/users/{id}/delete", p.signedIn(p.deleteUserForm))
	h("POST /console/users/{id}/delete", p.signedIn(p.deleteUser), web.MaxBody(maxForm))
	h("POST /console/users/{id}/enroll", p.signedIn(p.enrollUser), web.MaxBody(maxForm))
	h("GET /console/users/{id}/phones/new", p.signedIn(p.newPhoneForm))
	h("POST /console/users/{id}/phones/new", p.signedIn(p.addPhone), web.MaxBody(maxForm))
	h("POST /console/users/{id}/phones/{phone}/activation-sms", p.signedIn(p.sendActivationSMS), web.MaxBody(maxForm))
	h("POST /console/users/{id}/phones/{phone}/activation-qr", p.signedIn(p.activationQR), web.MaxBody(maxForm))
	h("GET /console/users/{id}/tokens/assign", p.signedIn(p.assignTokenForm))
	h("POST /console/users/{id}/tokens/assign", p.signedIn(p.assignToken), web.MaxBody(maxForm))
	h("GET /console/users/{id}/tokens/{token}/resync", p.signedIn(p.resyncTokenForm))
	h("POST /console/users/{id}/tokens/{token}/resync", p.signedIn(p.resyncToken), web.MaxBody(maxForm))
	h("POST /console/users/{id}/unlock", p.signedIn(p.unlock), web.MaxBody(maxForm))
	h("GET /console/users/{id}/phones/{phone}/remove", p.signedIn(p.removePhoneForm))
	h("POST /console/users/{id}/phones/{phone}/remove", p.signedIn(p.removePhone), web.MaxBody(maxForm))
	h("GET /console/users/{id}/tokens/{token}/remove", p.signedIn(p.removeTokenForm))
	h("POST /console/users/{id}/tokens/{token}/remove", p.signedIn(p.removeToken), web.MaxBody(maxForm))
	h("GET /console/users/{id}/keys/{key}/remove", p.signedIn(p.removeKeyForm))
	h("POST /console/users/{id}/keys/{key}/remove", p.signedIn(p.removeKey), web.MaxBody(maxForm))
	h("GET /console/users/{id}/bypass", p.signedIn(p.bypassForm))
	h("POST /console/users/{id}/bypass", p.signedIn(p.bypass), web.MaxBody(maxForm))
	h("GET /console/tokens", p.signedIn(p.tokens))
	h("POST /console/tokens/import", p.signedIn(p.importTokens), web.MaxBody(maxUpload))
	h("GET /console/tokens/import/{job}", p.signedIn(p.importJob))
	h("GET /console/logs/auth", p.signedIn(p.authLog))
	h("GET /console/logs/auth.csv", p.signedIn(p.authLogCSV))
	h("GET /console/logs/admin", p.signedIn(p.adminLog))
	h("GET /console/logs/telephony", p.signedIn(p.telephonyLog))
	h("GET /console/admins", p.signedIn(p.admins))
	h("POST /console/admins/{id}/reset", p.signedIn(p.resetAdmin), web.MaxBody(maxForm))
	h("GET /console/admins/{id}", p.signedIn(p.adminEdit))
	h("POST /console/admins/{id}", p.signedIn(p.updateAdmin), web.MaxBody(maxForm))
	h("POST /console/admins/{id}/authenticator", p.signedIn(p.resetAuthenticator), web.MaxBody(maxForm))
	h("GET /console/admins/{id}/delete", p.signedIn(p.deleteAdminForm))
	h("POST /console/admins/{id}/delete", p.signedIn(p.deleteAdmin), web.MaxBody(maxForm))
	h("POST /console/admins/invite", p.signedIn(p.invite), web.MaxBody(maxForm))
	h("POST /console/admins/invitations/{id}/withdraw", p.signedIn(p.withdraw), web.MaxBody(maxForm))
	h("GET /console/integrations", p.signedIn(p.integrations))
	h("POST /console/integrations", p.signedIn(p.createIntegration), web.MaxBody(maxForm))
	h("GET /console/integrations/{ikey}", p.signedIn(p.integration))
	h("POST /console/integrations/{ikey}", p.signedIn(p.updateIntegration), web.MaxBody(maxForm))
	h("GET /console/integrations/{ikey}/delete", p.signedIn(p.deleteIntegrationForm))
	h("POST /console/integrations/{ikey}/delete", p.signedIn(p.deleteIntegration), web.MaxBody(maxForm))
	h("GET /console/outbox", p.signedIn(p.outboxPage))
	h("GET /console/settings", p.signedIn(p.settings))
	h("POST /console/settings", p.signedIn(p.updateSettings), web.MaxBody(maxForm))
	h("GET "+AccountKeysPath, p.signedIn(p.accountKeys))
	h("POST "+AccountKeysPath+"/add", p.signedIn(p.addAccountKey), web.MaxBody(maxForm))
	h("POST "+AccountKeysPath+"/finish", p.signedIn(p.finishAccountKey), web.MaxBody(maxKeyForm))
	h("POST "+AccountKeysPath+"/{key}/remove", p.signedIn(p.removeAccountKey), web.MaxBody(maxForm))
}
