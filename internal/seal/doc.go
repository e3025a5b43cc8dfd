// Package seal protects secrets at rest: XChaCha20-Poly1305 under a key
// derived with HKDF-SHA256 from a configured 32-byte master key, tagged with
// the master key's id so that several keys can coexist during a rotation
// (twostepd rekey).
//
// It owns the sealed-value format and master-key parsing. It imports only the
// standard library and golang.org/x/crypto; nothing else of twostep.
package seal
