// Package server assembles twostepd's HTTP handler: it mounts the signed API
// surfaces (Auth API now; Admin API, device API later) and, separately, the
// browser surface, and adds the operational endpoints /healthz, /readyz and
// /metrics with request metrics, request ids and panic recovery.
//
// It is one of the two places (with cmd/*) allowed to wire several adapters
// together.
package server
