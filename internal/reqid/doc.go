// Package reqid carries the id the server gives each HTTP request (the
// X-Request-Id response header) in the request's context, so that every
// edge and service that logs can add it as request_id. It imports only the
// standard library, so any package may use it without breaking the
// dependency rules.
package reqid
