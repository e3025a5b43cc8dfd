// Package smtp is an mfa.Notifier that sends email through an SMTP
// server with github.com/wneessen/go-mail: enrollment and activation
// links, fraud alerts, lockout notices and account-change notices.
//
// Each message is multipart/alternative: the plain text twostep wrote and
// an HTML rendering of the same text (html/template, every character of
// the text escaped; links starting with https:// become anchors), both
// naming the organization. Connections use STARTTLS (required, never
// opportunistic) or implicit TLS, certificates checked against the system
// roots or a configured CA; plaintext only to a loopback relay.
// Authentication is PLAIN, LOGIN or SCRAM, whichever the server offers, and
// never goes over an unencrypted connection to another host.
//
// Each attempt has a timeout; network errors, timeouts and 4xx replies are
// retried a bounded number of times, 5xx replies (a refused recipient,
// bad credentials) never. Every failure is mfa.Unavailable naming the
// cause (the SMTP reply), never the body, which may hold a link that
// works once, and never the password.
//
// It imports only mfa of ours.
package smtp
