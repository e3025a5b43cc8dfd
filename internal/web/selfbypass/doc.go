// Package selfbypass serves the self-service bypass code pages (issue 12,
// seed 003): a user whose phone is broken or away proves who they are with
// their password and the account's identity check (a PIN, or date of
// birth and the last four digits of an ID number) and gets one
// single-use bypass code, shown once, to log in now and add or reactivate
// a device.
//
//	GET  /portal/bypass         the password form (or "not available" when the feature is off)
//	POST /portal/bypass         username + password -> authflow.CheckPassword (SurfacePortal)
//	GET  /portal/bypass/verify  the identity check
//	POST /portal/bypass/verify  the answer -> admin.SelfBypass -> the code, shown once
//	GET  /portal/pin            (NewPINPage, mounted inside the signed-in portal) the user's PIN
//	POST /portal/pin            set it
//
// Every rule (feature switch, rate limits, lockout, the bypass code
// limits, the admin log) is the admin service's; the pages parse forms,
// call authflow and admin, and render. They import web, authflow and
// admin, never the store or another edge.
package selfbypass
