// Package certs makes the local certificate authority and server
// certificate that let twostepd serve HTTPS with zero configuration: Duo
// clients only speak HTTPS, so a fresh install must too.
//
// Files live in the data directory: ca.pem (world-readable, so clients can
// trust it), ca-key.pem, server.pem and server-key.pem (keys 0600). It
// imports only the standard library.
package certs
