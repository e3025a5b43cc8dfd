// Package tokenfile reads hardware-token seed files as vendors deliver them
// and Duo's "Import Hardware Tokens" dialog accepts them: Duo's CSV layouts
// for HOTP and TOTP tokens (hex seeds), the YubiKey CSV layouts (Duo's
// three-column form, Yubico's production/"Yubico format" file and the
// YubiKey Personalization Tool's traditional log), and PSKC (RFC 6030)
// XML, including key material encrypted with a pre-shared AES-CBC key.
//
// Parse turns a file into Records and, for every row or key package it
// cannot use, a RowError naming the line (and serial or key id) and the
// reason; one bad row never hides the others. It does not create tokens:
// the admin service validates each record again as it would an Admin API
// request, and the CLI sends each through POST /admin/v1/tokens.
//
// The package is pure: it imports the standard library and internal/otp
// only, does no I/O beyond the reader it is given, and never puts a seed,
// key or private id into an error, a RowError or a Record's printed form.
package tokenfile
