// Package adminapi serves Duo's Admin API (/admin/v1, /admin/v2) so that
// Duo's own client libraries manage twostep unchanged. Handlers parse and
// validate parameters, call the admin service with the calling integration
// as the actor, and render Duo's objects; every rule lives in the service.
//
// It imports mfa, admin, duoproto and api; it must not import sqlstore,
// authapi or web.
package adminapi
