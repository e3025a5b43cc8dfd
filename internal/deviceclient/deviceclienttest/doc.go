// Package deviceclienttest is a fake twostep device API (/push/v2/*) over
// real TLS, for testing device clients (internal/deviceclient, the twostep
// app) without the real server.
//
// It is written from docs/device-api.md alone and checks what the real
// server checks, so that a client bug fails the test: activation codes are
// single use and need pkpush=rsa-sha512 and an RSA public key of 2048 to
// 4096 bits; every device request must carry an X-Duo-Date within 300 s of
// the fake's clock and an Authorization signature that verifies
// (RSASSA-PKCS1-v1_5, SHA-512, over duoproto.CanonV2 of the request as
// received) under the public key given at activation. Failures are Duo
// envelopes with the documented codes.
//
// It imports only the standard library and internal/duoproto (for the
// envelope, CanonV2 and the date parser), never the client it tests.
package deviceclienttest
