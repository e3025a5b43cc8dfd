// Package otp computes and verifies one-time passcodes: RFC 4226 HOTP,
// RFC 6238 TOTP (HMAC-SHA1), and Yubico OTP (the AES-128 "YubiKey OTP"
// emitted by YubiKeys in Yubico OTP mode). It also parses OTP seeds as
// tokens and key URIs deliver them (hex, base32), and classifies what a user
// typed into a single passcode box (digits, YubiKey OTP or a keyword such as
// "push2").
//
// The package is pure: no storage, no clock, no randomness, no logging. The
// caller passes the time and the counter state and persists what comes back
// (the matched HOTP counter, the matched TOTP step), refusing replays with a
// conditional update in the store. Codes are compared in constant time.
//
// Errors never contain a secret, a seed or a passcode.
//
// otp imports only the standard library and nothing of ours; a test in
// internal/archtest enforces it.
package otp
