package web

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// activateView is the activation page's view model.
type activateView struct {
	Code    string // the full activation code, as in the link
	Command string // the app's command line that redeems it
}

// activate shows how to activate the app with the code in the link: its QR
// code to scan, the code to copy, and the command to run. The page cannot
// tell whether the code is valid or when it expires without redeeming it
// (only a keyed hash is stored, and looking it up burns it), so it says
// that a code works once and for a limited time.
func (s *Site) activate(w http.ResponseWriter, r *http.Request) error {
	code := strings.TrimSpace(r.PathValue("code"))
	switch {
	case code == "":
		return mfa.InvalidField("code", "required")
	case len(code) > MaxQRValue:
		return mfa.InvalidField("code", fmt.Sprintf("longer than %d bytes", MaxQRValue))
	case !utf8.ValidString(code) || strings.IndexFunc(code, unicode.IsControl) >= 0:
		return mfa.InvalidField("code", "not an activation code")
	}
	NoStore(w)
	return s.pages.RenderPublic(w, r, http.StatusOK, "activate.html", View{Title: "Activate twostep on this device",
		Data: activateView{Code: code, Command: "twostep activate " + code}})
}

// install shows how to install the app (the installation_url).
func (s *Site) install(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	return s.pages.RenderPublic(w, r, http.StatusOK, "install.html", View{Title: "Install twostep"})
}
