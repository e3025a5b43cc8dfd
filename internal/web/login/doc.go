// Package login serves the first-factor pages: where a person gives
// their username and password when twostep is the whole login (its OIDC
// provider now; the portal and the console reuse it), before the prompt
// (internal/web/prompt) runs the second factor.
//
//	GET  /login/{id}        the form (or, with a recent login in this browser's session, single sign-on)
//	POST /login/{id}        username + password -> authflow.CheckPassword -> the prompt
//	GET  /login/{id}/done   the prompt's return: single sign-on recorded, then on to the protocol
//	GET  /oidc/end_session  RP-initiated logout: the session ends
//
// A login is an mfa.LoginRequest bound to the browser that started it
// (the binding cookie, as for the prompt). Pages call authflow only, never
// the store; they import web and authflow, never another edge.
package login
