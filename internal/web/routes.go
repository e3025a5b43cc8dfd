package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/twostep-auth/twostep/internal/mfa"
)

//go:embed templates/*.html static/*
var files embed.FS

// CSP is the Content-Security-Policy of every response: nothing but images
// and stylesheets from this server, no scripts, no framing.
const CSP = "default-src 'none'; img-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Deps are the browser surface's dependencies.
type Deps struct {
	Logger *slog.Logger
}

// Handler serves the browser pages.
type Handler struct {
	log  *slog.Logger
	tmpl *template.Template
}

// New makes the browser handler. The templates are embedded, so a parse
// failure is a build defect: New panics on it (and every test catches it).
func New(d Deps) *Handler {
	t := template.Must(template.New("").ParseFS(files, "templates/*.html"))
	return &Handler{log: d.Logger, tmpl: t}
}

// handlerFunc is a page handler: a returned error is answered by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	pattern string
	handler handlerFunc
}

// routes lists every browser route: one place to see the surface.
func (h *Handler) routes() []route {
	return []route{
		{"GET /frame/qr", h.qr},
		{"GET /activate/{code}", h.activate},
		{"GET /install", h.install},
		{"GET /static/twostep.css", h.stylesheet},
	}
}

// Register adds every browser route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, rt := range h.routes() {
		mux.Handle(rt.pattern, h.handle(rt.handler))
	}
}

// handle sets the security headers and maps a returned error to its answer.
func (h *Handler) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if err := fn(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// fail answers an error as plain text: its message for the client's
// mistakes, a generic one (logged) for everything else.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Internal server error"
	var me *mfa.Error
	if errors.As(err, &me) {
		switch me.Kind {
		case mfa.Invalid:
			status, msg = http.StatusBadRequest, me.Msg
			if me.Field != "" {
				msg = me.Field + ": " + msg
			}
		case mfa.NotFound:
			status, msg = http.StatusNotFound, "Not found"
		}
	}
	if status == http.StatusInternalServerError && h.log != nil {
		h.log.ErrorContext(r.Context(), "page failed", "route", r.Pattern, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}

// page renders the named template with view, whole before writing, so a
// template error is answered as an error and not as half a page.
func (h *Handler) page(w http.ResponseWriter, name string, view any) error {
	var b bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&b, name, view); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
	return nil
}

func (h *Handler) stylesheet(w http.ResponseWriter, r *http.Request) error {
	b, err := files.ReadFile("static/twostep.css")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
	return nil
}
