// Package deviceapi serves /push/v2/*, the API an authenticator app speaks
// (docs/device-api.md, modelled on Duo Mobile's protocol, DUO-WIRE 7.6):
// activation with a single-use code, then requests signed with the
// install's RSA key to list and answer login requests and, a twostep
// extension, to deregister the install. It translates HTTP to authflow
// calls and authflow errors to Duo's envelope; the rules live in authflow.
// It must not import sqlstore, web or the admin service.
package deviceapi
