// Package outbox is the development and test default mfa.Notifier: instead
// of sending an SMS, placing a call or mailing, it writes each message as
// one JSON file into a directory, where a developer, an end-to-end test or
// `ls` can read it.
//
// # FOR DEVELOPMENT AND TESTS ONLY
//
// The files hold message bodies IN PLAINTEXT, and message bodies carry
// secrets: SMS passcodes, activation links and codes, enrollment links.
// Anyone who can read the outbox directory can log in as the recipients.
// That is the point of an outbox (a test must read the passcode it was
// sent), and the reason it must never be a production deployment's
// notifier: production uses a carrier adapter (internal/notify/twilio,
// internal/notify/webhook, ...), which hands the body to the carrier and
// keeps nothing.
//
// To limit the damage anyway, the directory is made mode 0700 and every
// file 0600, files appear atomically (written to a temporary file, then
// linked into place), and the package never logs: a body reaches only its
// file. mfa.Message's Body is an mfa.Passcode, which redacts itself in fmt,
// slog and JSON, so printing a Message or a Stored shows no body either.
//
// # Files
//
// One file per message, named "<unixnano>-<seq>-<channel>.json" with both
// numbers zero-padded, so that sorting the names gives the order in which
// Send accepted the messages (times never go backwards within an Outbox,
// and seq breaks ties). Each file is a JSON object with the fields
// channel, to, subject, body, context, user_id and time (RFC 3339), and
// for calls txid (the call id `twostepd outbox answer` takes) and
// extension.
// List reads them back in that order; Last finds the newest for one
// recipient.
//
// It imports only mfa of ours, and the standard library.
package outbox
