// Package web is the foundation of twostep's browser surface, on its own
// mux apart from the signed APIs: the middleware every page runs behind,
// the base layout and components, the error pages and the static files.
// It knows no feature: the prompt, the portal and the console are packages
// under it that register their pages through a *Site.
//
// Every route registered with Site.Handle gets:
//   - WEB.md's Content-Security-Policy (no inline script or style, no
//     framing; AllowFormAction adds an origin to form-action), nosniff,
//     Referrer-Policy no-referrer, X-Frame-Options DENY, and Cache-Control
//     no-store unless the handler sets another;
//   - a server-side session (SessionOf), stored through mfa.SessionStore
//     under the SHA-256 of a random token held only in the
//     __Host-twostep_session cookie (Secure, HttpOnly, SameSite=Lax), with
//     idle and absolute timeouts, RenewToken and Destroy;
//   - on every state-changing request: http.CrossOriginProtection, a body
//     limit, and the session's CSRF token in the form (field csrf_token);
//   - one mapping from a returned mfa.Error kind to a page.
//
// Its own routes (routes.go): GET /frame/qr, /activate/{code}, /install
// and /static/*.
//
// It may import mfa and the services; it must not import sqlstore, notify
// or the API packages (internal/archtest enforces it).
package web
