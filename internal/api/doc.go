// Package api is the plumbing shared by the HMAC-signed API surfaces
// (internal/authapi, internal/adminapi): it verifies a signed request
// against the stored integrations, checks that the integration's type may
// call the surface, adapts `func(w, r, caller) error` handlers, and maps
// domain error kinds to Duo's error answers, once.
//
// It imports mfa and duoproto; it must not import sqlstore, the services'
// packages or web.
package api
