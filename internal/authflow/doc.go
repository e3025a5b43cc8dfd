// Package authflow is the authentication service behind the Auth API (and,
// later, the browser prompt, OIDC and RADIUS): preauth (what may this user
// do?) and auth (verify a second factor), with the user status rules,
// replay protection, atomic lockout counting, per-user and per-IP attempt
// throttling (in memory on each node, and optionally in the store across
// nodes: WithDurableLimits) and the authentication log.
//
// Every authentication decision is one mfa.AuthWrite applied with
// Store.ApplyAuth: the guarded counter move (HOTP counter, TOTP step,
// YubiKey counter, bypass use, SMS code) together with the failure count or
// success reset and exactly one auth log record, so that concurrent
// requests on any number of nodes cannot both consume one passcode or pass
// the lockout threshold. Preauth is not an authentication and writes no log.
//
// Every front end (the Auth API v2, the legacy /rest/v1 API, the browser
// prompt, OIDC, RADIUS) calls these methods and adds no rule or record of
// its own: the engine makes every txid, every transaction (also the
// completed one kept for an async answer decided at once: decided.go) and
// every auth log record.
//
// It depends on the mfa contracts and the pure otp package only: it must
// not import sqlstore, net/http, database/sql, duoproto, api, server, any
// edge package or a vendor SDK.
package authflow
