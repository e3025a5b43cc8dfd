// Package keys serves a signed-in person's security key pages under
// /portal/keys/: "Add a security key" and "Add this device's passkey /
// biometrics" (a platform authenticator), each named by its owner, and the
// list of their keys with rename and remove. The WebAuthn ceremony runs
// through authflow (its state kept in the session, finished once); the
// browser side is a small static script (no inline script: CSP).
//
// The portal mounts these pages: New takes the portal's signedIn function,
// which names the signed-in user, and Register adds the routes. It imports
// authflow, mfa and web, never another page package or the store.
package keys
