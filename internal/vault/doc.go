// Package vault is the authenticator app's local account store: the
// accounts that `twostep` shows passcodes for and answers login requests
// with, in one file that is encrypted, locked and written atomically.
//
// It owns:
//
//   - the account model ([Account]): twostep installs (activated against a
//     twostep server, with their RSA device key and HOTP secret) and
//     third-party otpauth:// accounts (any site's TOTP/HOTP);
//   - passcodes: HOTP (RFC 4226) and TOTP (RFC 6238) with SHA-1, SHA-256
//     or SHA-512 ([Account.Passcode]), computed offline;
//   - the Google Authenticator key URI format ([ParseKeyURI], [Account.KeyURI]);
//   - the vault file ([Vault]): age (scrypt passphrase) encryption, or an
//     explicitly chosen unencrypted file that says so; an exclusive flock on
//     a lock file next to it around every read-modify-write ([Vault.Update])
//     so that concurrent writers never lose an update; writes to a temporary
//     file in the same directory, fsync, rename; file mode 0600, directory
//     0700. A file that cannot be read (corrupt, truncated, wrong
//     passphrase, not a vault) is reported and never overwritten;
//   - export bundles ([SealBundle], [OpenBundle]): accounts moved to another
//     device, encrypted under their own passphrase.
//
// The package is pure of network and terminal: passphrases come from the
// caller's [PassphraseFunc], time from the caller. It must not import
// net/http, the device client or anything of the server side; it may use
// internal/otp for seed parsing.
//
// Secrets (OTP keys, the device private key) never appear in errors; their
// types redact themselves in fmt and slog output.
package vault
