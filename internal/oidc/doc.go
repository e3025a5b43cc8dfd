// Package oidc speaks Duo's Universal Prompt wire protocol (OIDC with
// HS512 request objects and client_secret_jwt, DUO-WIRE.md section 6) for
// websdk integrations, so that an application written for Duo's Web SDK v4
// works against twostep by changing only its API host:
//
//	POST /oauth/v1/health_check          client_assertion -> {stat:OK}
//	GET  /oauth/v1/authorize             request JWT -> a LoginRequest, binding cookie, 303 to the prompt
//	GET  /oauth/v1/authorize/return?id=  after the prompt: single-use code, 303 to the application
//	POST /oauth/v1/token                 code + client_assertion -> id_token
//	GET  /.well-known/openid-configuration
//
// It owns the protocol only: the person does the second factor on the
// prompt's pages (internal/web/prompt, at mfa.LoginPromptPath), which
// complete the mfa.LoginRequest through the store; this package then hands
// the browser back to the application. The hand-off contract lives in mfa
// (LoginRequest, LoginRequestStore, LoginPromptPath, LoginBindingCookie)
// because edges may not import each other.
//
// These are browser and protocol endpoints, not HMAC-signed API calls: they
// are authenticated by JWTs keyed with the integration's secret key and by
// the browser-binding cookie. Every answer carries no-store caching and a
// Content-Security-Policy that allows nothing and forbids framing.
//
// oidc imports mfa and internal/api (the shared auth-log record shape),
// never sqlstore, another edge, or authflow's internals.
package oidc
