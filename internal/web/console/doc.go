// Package console is the administrators' console at /console/: sign-in
// (email, password and the administrator's own TOTP code, enrolled at the
// first sign-in, with the forced change of a generated password), the
// dashboard, users (search, the user page, unlock, removing a lost or
// stolen device, bypass codes) and the Owner's pages.
//
// Every page calls the same services as the Admin API and the CLI:
// internal/admin with admin.AdminActor of the signed-in administrator, so
// every role rule holds in one place, and internal/authflow for the
// sign-in. It never imports the store (internal/sqlstore), another page
// package, or an API edge; archtest enforces it.
package console
