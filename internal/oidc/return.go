package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// MaxIDLen bounds a login request id in a URL.
const MaxIDLen = 64

// authorizeReturn serves GET /oauth/v1/authorize/return?id=: where the
// prompt sends the browser when the second factor is done. Only the browser
// that started the login (its binding cookie) may finish it. An allowed
// login gets a single-use code and goes back to the application with it;
// a denied or expired one goes back with access_denied.
func (h *Handler) authorizeReturn(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	if id == "" || len(id) > MaxIDLen {
		return badLogin("The login id is missing or invalid.")
	}
	lr, err := h.store.GetLoginRequest(r.Context(), id)
	if errors.Is(err, mfa.ErrNotFound) {
		return &pageError{Status: http.StatusNotFound, Title: "This login has ended",
			Message: "The login was not found; it may have expired."}
	}
	if err != nil {
		return fmt.Errorf("authorize return: %w", err)
	}
	cookie, _ := r.Cookie(mfa.LoginBindingCookie(id))
	if cookie == nil || !lr.BoundTo(cookie.Value) {
		return &pageError{Status: http.StatusForbidden, Title: "This login belongs to another browser",
			Message: "The login was started in another browser or window, or its cookie is missing."}
	}
	now := h.now()
	clearCookie := func() {
		http.SetCookie(w, &http.Cookie{Name: mfa.LoginBindingCookie(id), Value: "", Path: "/", MaxAge: -1,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	switch {
	case !lr.Completed() && !lr.Expired(now) && lr.NeedsFirstFactor():
		// An OIDC login before its first factor: back to the password page.
		http.Redirect(w, r, mfa.LoginPasswordPath(id), http.StatusSeeOther)
		return nil
	case !lr.Completed() && !lr.Expired(now):
		// Not finished: back to the prompt.
		http.Redirect(w, r, PromptPath(id), http.StatusSeeOther)
		return nil
	case !lr.Completed():
		clearCookie()
		return &redirectError{RedirectURI: lr.RedirectURI, Code: "access_denied",
			Description: "The login timed out.", State: lr.State}
	case lr.Result != mfa.LoginAllow:
		clearCookie()
		return &redirectError{RedirectURI: lr.RedirectURI, Code: "access_denied",
			Description: "The second factor was not completed.", State: lr.State}
	}
	code, err := mfa.NewBindingSecret(h.rand) // 256 random bits, base64url
	if err != nil {
		return err
	}
	err = h.store.IssueLoginCode(r.Context(), id, mfa.CodeHash(code), now, now.Add(CodeLifetime))
	if errors.Is(err, mfa.ErrConflict) {
		clearCookie()
		return &pageError{Status: http.StatusConflict, Title: "This login has already finished",
			Message: "Its result was already handed to the application, or it expired."}
	}
	if err != nil {
		return fmt.Errorf("authorize return: %w", err)
	}
	clearCookie()
	name := "duo_code"
	if !lr.UseDuoCode {
		name = "code"
	}
	http.Redirect(w, r, withQuery(lr.RedirectURI, url.Values{name: {code}, "state": {lr.State}}), http.StatusSeeOther)
	return nil
}
