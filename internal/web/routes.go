package web

import "net/http"

// routes lists web's own routes: one place to see them. Feature packages
// list theirs in their own routes.go.
func (s *Site) routes() []route {
	return []route{
		{"GET /frame/qr", s.qr, []Option{Plain()}},
		{"GET /activate/{code}", s.activate, nil},
		{"GET /install", s.install, nil},
		{"GET /static/twostep.css", s.stylesheet, []Option{Plain()}},
		{"GET /static/twostep.js", s.staticFile("static/twostep.js", "text/javascript; charset=utf-8"), []Option{Plain()}},
		// The WebAuthn ceremony of the prompt, the portal's keys and the
		// console's (navigator.credentials).
		{"GET /static/webauthn.js", s.staticFile("static/webauthn.js", "text/javascript; charset=utf-8"), []Option{Plain()}},
		{"GET /static/mark.svg", s.staticFile("static/mark.svg", "image/svg+xml"), []Option{Plain()}},
		{"GET /static/logo.png", s.logoPNG, []Option{Plain()}},
	}
}

type route struct {
	pattern string
	handler HandlerFunc
	opts    []Option
}

// Register adds web's own routes to mux.
func (s *Site) Register(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		s.Handle(mux, rt.pattern, rt.handler, rt.opts...)
	}
}
