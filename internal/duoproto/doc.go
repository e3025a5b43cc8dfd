// Package duoproto speaks the wire protocol of Duo Security's public APIs, so
// that Duo's own client libraries work against twostep unchanged.
//
// It owns:
//
//   - the canonical strings that clients sign (signature versions 1, 2, 4
//     and 5) and RFC 3986 parameter canonicalization ([CanonParams]);
//   - HMAC-SHA1/HMAC-SHA512 signing ([SignSHA1], [SignSHA512], and the
//     client-side [SignRequest] used by tests and tooling);
//   - server-side request verification ([Verifier]): the Authorization
//     header, integration key lookup, the request timestamp and its allowed
//     clock skew, and matching the signature against every canonical form a
//     real Duo client may have used;
//   - the response envelopes: {"stat":"OK","response":...} and
//     {"stat":"FAIL","code":N,"message":...}, with the Duo error codes
//     ([Error], [WriteOK], [WriteError]).
//
// The reference for what clients actually send is
// docs/DUO-WIRE.md, sections 1.1 to 1.7; where that page and a real client
// disagree, the client wins, and the tests carry the clients' published
// vectors.
//
// duoproto is pure: it imports only the standard library. It must not import
// any other twostep package (not even mfa), a database driver, or a vendor
// SDK. Integration keys reach it through the [KeyLookup] function, and time
// through [Verifier.Now]. Secret keys never appear in its errors or logs.
package duoproto
