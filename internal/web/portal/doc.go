// Package portal serves the self-service portal at /portal/: a user logs
// in (username and password through authflow.CheckPassword, then the
// second factor at the prompt, as a login request of the built-in
// "Self-service portal" application) and manages their own devices: the
// list with what each can do, last use and platform; the default device
// and method the prompt preselects; adding the twostep app (QR code and
// activation link, the page noticing the activation by itself), a
// standard authenticator app (otpauth:// TOTP, saved only after a valid
// code) or a phone (checked with a code by text or call before it is
// saved); renaming, removing (with a warning before the last), reactivating
// the app, "Text me new codes"; and their recent logins, with "I didn't do
// this". A user with no device yet gets only the enrolment pages after the
// password.
//
// Every change goes through internal/admin's self-service methods (an
// admin.UserActor, allowed only on the user's own devices) or authflow,
// so the admin log records it with the source address. The package
// imports web, authflow, admin and mfa; never the store, never another
// page package (the self-service bypass pages are wired to it by
// internal/server through SignedIn and Deps.PINPage).
package portal
