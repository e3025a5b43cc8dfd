package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Layouts of the base template.
const (
	// LayoutCard is a centred card about 28rem wide with the organisation's
	// logo and name at the top: the prompt and web's own pages.
	LayoutCard = "card"
	// LayoutWide is a header with navigation and content up to about 72rem:
	// the portal and the console.
	LayoutWide = "wide"
)

// View is the model every page is rendered with. A handler fills the
// page's fields; Render fills the site's.
type View struct {
	Title  string // the page's title (the <title> and, by convention, its <h1>)
	Layout string // LayoutCard (default) or LayoutWide
	// App is the application the person is logging in to (the prompt).
	App string
	// User is the signed-in person (or the one logging in), shown in the
	// header or card.
	User string
	// Nav is the header's navigation (LayoutWide).
	Nav    []NavItem
	Alerts []Alert
	// Errors are the form's errors, listed in a summary at the top (which
	// takes focus) and beside their fields (see Field).
	Errors []FieldError
	// Script loads /static/twostep.js (copy buttons, live status).
	Script bool
	// Data is the page's own model.
	Data any

	// Set by Render.
	Org       string
	LogoURL   string
	CSRFToken string
}

// NavItem is one link of the header's navigation.
type NavItem struct {
	Label, URL string
	Current    bool
}

// Alert kinds.
const (
	AlertInfo    = "info"
	AlertSuccess = "success"
	AlertWarning = "warning"
	AlertError   = "error"
)

// Alert is a message box at the top of the page.
type Alert struct {
	Kind  string // AlertInfo, AlertSuccess, AlertWarning or AlertError
	Title string
	Text  string
}

// FieldError is an error about one form field.
type FieldError struct {
	Field string // the field's Name (its id is "f-" + Name)
	Msg   string
}

// Field is a form field for the "field" component: label, hint, input and
// its error. Templates render it with
// {{template "field" (field $ .Data.SomeField)}}, which fills Error from
// the view's Errors.
type Field struct {
	Name         string
	Label        string
	Hint         string
	Type         string // "text" when empty
	Value        string
	Error        string
	Autocomplete string
	InputMode    string // "numeric" for passcodes
	Autofocus    bool
	Required     bool
}

// ID is the field's element id.
func (f Field) ID() string { return "f-" + f.Name }

// fieldOf is the "field" template func.
func fieldOf(v View, f Field) Field {
	if f.Type == "" {
		f.Type = "text"
	}
	if f.Error == "" {
		for _, e := range v.Errors {
			if e.Field == f.Name {
				f.Error = e.Msg
				break
			}
		}
	}
	if f.Error != "" {
		f.Autofocus = false // focus goes to the error summary
	}
	return f
}

// Templates are a feature's pages, each parsed together with the base
// layout and components.
type Templates struct {
	site  *Site
	pages map[string]*template.Template
}

// ParseTemplates parses the page templates in fsys matching patterns (such
// as "templates/*.html"), each together with the base layout. A page file
// defines "content" (and may define "head" for extra <head> elements);
// files whose names start with "_" are partials, parsed into every page of
// the set. Pages are named by their file name ("device.html").
func (s *Site) ParseTemplates(fsys fs.FS, patterns ...string) (*Templates, error) {
	base, err := template.New("").Funcs(s.funcs()).ParseFS(files, "templates/_*.html", "templates/_*.svg")
	if err != nil {
		return nil, fmt.Errorf("parse base templates: %w", err)
	}
	var pages, partials []string
	for _, p := range patterns {
		m, err := fs.Glob(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("templates %s: %w", p, err)
		}
		for _, f := range m {
			if strings.HasPrefix(path.Base(f), "_") {
				partials = append(partials, f)
			} else {
				pages = append(pages, f)
			}
		}
	}
	if len(partials) > 0 && fsys != fs.FS(files) {
		if base, err = base.ParseFS(fsys, partials...); err != nil {
			return nil, fmt.Errorf("parse partials: %w", err)
		}
	}
	t := &Templates{site: s, pages: map[string]*template.Template{}}
	for _, p := range pages {
		c, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := c.ParseFS(fsys, p); err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		t.pages[path.Base(p)] = c
	}
	if len(t.pages) == 0 {
		return nil, fmt.Errorf("no page templates match %q", patterns)
	}
	return t, nil
}

// MustParseTemplates is ParseTemplates for embedded templates, where a
// failure is a build defect: it panics.
func (s *Site) MustParseTemplates(fsys fs.FS, patterns ...string) *Templates {
	t, err := s.ParseTemplates(fsys, patterns...)
	if err != nil {
		panic(err)
	}
	return t
}

// Render writes the page name with v and status, whole: the site's fields
// of v are filled (organisation, logo, the session's CSRF token, which
// creates the session), the session is saved, and a template error is
// returned before anything is written.
func (t *Templates) Render(w http.ResponseWriter, r *http.Request, status int, name string, v View) error {
	return t.render(w, r, status, name, v, true)
}

func (t *Templates) render(w http.ResponseWriter, r *http.Request, status int, name string, v View, csrf bool) error {
	page, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("render: no page template %q", name)
	}
	v.Org, v.LogoURL = t.site.org, t.site.LogoURL()
	if v.Layout == "" {
		v.Layout = LayoutCard
	}
	if csrf {
		sess, err := SessionOf(r)
		if err != nil {
			return err
		}
		if v.CSRFToken, err = sess.CSRFToken(); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	if err := page.ExecuteTemplate(&b, "base", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	if st := stateOf(r); st != nil {
		if err := st.prepare(w, r); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
	return nil
}

// RenderPublic is Render for a page with no form: it neither needs nor
// creates a session.
func (t *Templates) RenderPublic(w http.ResponseWriter, r *http.Request, status int, name string, v View) error {
	return t.render(w, r, status, name, v, false)
}

// Redirect answers 303 See Other to url (a path of ours, or an origin
// allowed with AllowFormAction), after saving the session.
func Redirect(w http.ResponseWriter, r *http.Request, url string) error {
	if st := stateOf(r); st != nil {
		if err := st.prepare(w, r); err != nil {
			return err
		}
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
	return nil
}

// Form registers the form page to show again when this request's handler
// returns an Invalid error: name rendered with v, the error beside its
// field (or in the summary) and status 400. Call it with the page's view
// before calling the service.
func Form(r *http.Request, t *Templates, name string, v View) {
	if st := stateOf(r); st != nil {
		st.form = &formPage{t: t, name: name, view: v}
	}
}

type formPage struct {
	t    *Templates
	name string
	view View
}

// invalidForm renders the registered form with err, if there is one and
// err is Invalid.
func (st *state) invalidForm(w http.ResponseWriter, r *http.Request, err error) bool {
	var me *mfa.Error
	if st == nil || st.form == nil || !errors.As(err, &me) || me.Kind != mfa.Invalid {
		return false
	}
	v := st.form.view
	v.Errors = append(append([]FieldError{}, v.Errors...), FieldError{Field: me.Field, Msg: me.Msg})
	if err := st.form.t.Render(w, r, http.StatusBadRequest, st.form.name, v); err != nil {
		st.site.log.ErrorContext(r.Context(), "form page failed", "request_id", st.site.requestID(w, r), "error", err)
		return false
	}
	return true
}
