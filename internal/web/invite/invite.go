package invite

import (
	"context"
	"embed"
	"errors"
	"net"
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// Service is what the pages need of the admin service.
type Service interface {
	AdminActivationByCode(ctx context.Context, code string) (mfa.AdminActivation, error)
	RedeemAdminActivation(ctx context.Context, code, name, password, ip string) (mfa.Admin, error)
}

// Pages are the activation pages.
type Pages struct {
	site *web.Site
	svc  Service
	tmpl *web.Templates
}

// New makes the pages.
func New(site *web.Site, svc Service) *Pages {
	return &Pages{site: site, svc: svc, tmpl: site.MustParseTemplates(templates, "templates/*.html")}
}

// maxForm bounds the form: a name, two passwords and the CSRF token.
const maxForm = 8 << 10

// Register lists the routes.
func (p *Pages) Register(mux *http.ServeMux) {
	p.site.Handle(mux, "GET "+admin.AdminActivationPath+"{code}", p.form)
	p.site.Handle(mux, "POST "+admin.AdminActivationPath+"{code}", p.submit, web.MaxBody(maxForm))
}

// Words of the pages that are not in the templates.
const (
	msgTitle       = "Become a twostep administrator"
	msgDoneTitle   = "Your administrator account is ready"
	msgBadTitle    = "This activation link does not work"
	msgName        = "Your name"
	msgPassword    = "Choose a password"
	msgPasswordHnt = "At least 12 characters. A long phrase is easier to type and harder to guess."
	msgConfirm     = "Type the password again"
	msgMismatch    = "The two passwords are not the same."
)

type formView struct {
	Code                      string
	Email, Role               string
	Expires                   string
	Name, Password, Password2 web.Field
}

func (p *Pages) view(code string, act mfa.AdminActivation, name string) web.View {
	return web.View{Title: msgTitle, Data: formView{Code: code, Email: act.Email, Role: string(act.Role),
		Expires: act.Expires.UTC().Format("2 January 2006, 15:04 MST"),
		Name:    web.Field{Name: "name", Label: msgName, Value: name, Autocomplete: "name", Autofocus: name == "", Required: true},
		Password: web.Field{Name: "password", Label: msgPassword, Hint: msgPasswordHnt, Type: "password",
			Autocomplete: "new-password", Autofocus: name != "", Required: true},
		Password2: web.Field{Name: "password2", Label: msgConfirm, Type: "password", Autocomplete: "new-password", Required: true},
	}}
}

// open loads the invitation; an unusable code gets its page (handled).
func (p *Pages) open(w http.ResponseWriter, r *http.Request) (mfa.AdminActivation, bool, error) {
	web.NoStore(w)
	act, err := p.svc.AdminActivationByCode(r.Context(), r.PathValue("code"))
	if errors.Is(err, mfa.ErrNotFound) {
		return act, true, p.tmpl.RenderPublic(w, r, http.StatusNotFound, "bad.html", web.View{Title: msgBadTitle})
	}
	return act, false, err
}

func (p *Pages) form(w http.ResponseWriter, r *http.Request) error {
	act, handled, err := p.open(w, r)
	if handled || err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "activate.html", p.view(r.PathValue("code"), act, ""))
}

func (p *Pages) submit(w http.ResponseWriter, r *http.Request) error {
	act, handled, err := p.open(w, r)
	if handled || err != nil {
		return err
	}
	code, name := r.PathValue("code"), r.PostFormValue("name")
	if len(name) > 200 {
		name = name[:200]
	}
	v := p.view(code, act, name)
	web.Form(r, p.tmpl, "activate.html", v)
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		return mfa.InvalidField("password2", msgMismatch)
	}
	ad, err := p.svc.RedeemAdminActivation(r.Context(), code, name, pw, clientIP(r))
	switch {
	case errors.Is(err, mfa.ErrNotFound):
		// Used or expired meanwhile.
		return p.tmpl.RenderPublic(w, r, http.StatusNotFound, "bad.html", web.View{Title: msgBadTitle})
	case err != nil:
		return err
	}
	sess, err := web.SessionOf(r)
	if err != nil {
		return err
	}
	if err := sess.RenewToken(); err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "done.html", web.View{Title: msgDoneTitle,
		Data: struct{ Email, Role string }{ad.Email, string(ad.Role)}})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
