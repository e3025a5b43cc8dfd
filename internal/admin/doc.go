// Package admin is the service behind the Admin API, the admin console and
// the `twostepd admin` CLI: users, phones, tokens, bypass codes,
// activations, integrations, administrators and settings, with actor-based
// authorization and the administrator log. It also bootstraps a new
// installation.
//
// It depends on the mfa contracts only: it must not import sqlstore,
// net/http, duoproto, web or any vendor SDK.
package admin
