// Package authapi serves Duo's Auth API: /auth/v2/* and, for the duo_unix
// releases Debian ships, the legacy /rest/v1/*. Handlers translate requests
// into calls of the authflow service and answers into Duo's envelopes.
//
// It imports mfa, authflow, admin (Auth API enroll), duoproto and api; it
// must not import sqlstore, web or the other API surfaces.
package authapi
