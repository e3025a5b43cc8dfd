// Command twostep is the twostep authenticator app for people at a
// terminal: it plays the part of a phone's authenticator, speaking the
// device API (docs/device-api.md) to a twostep server.
//
//	twostep activate CODE|URL|QR.png   register this device with a server
//	twostep code [ACCOUNT] [--next]     show passcodes (offline)
//	twostep refresh [ACCOUNT]           move to the next passcode
//	twostep watch                       wait for login requests, approve or deny them
//	twostep pending | approve | deny    the same, non-interactively
//	twostep add otpauth://...           add any site's TOTP/HOTP account
//	twostep accounts | rename | remove  manage accounts
//	twostep export FILE | import FILE   move accounts to another device
//
// Accounts live in an encrypted vault file; see docs/authenticator.md.
//
// The command must not import the server side (deviceapi, authflow, admin,
// sqlstore): it knows the server only through internal/deviceclient, and
// its accounts only through internal/vault.
package main
