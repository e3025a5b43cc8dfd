// Package twilio is an mfa.Notifier that texts and calls through Twilio's
// REST API (or any service speaking the same wire format at another base
// URL): SMS with POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
// voice with POST .../Calls.json and inline TwiML whose <Gather> action
// comes back to twostep, which checks every callback's X-Twilio-Signature
// (Signature, ValidSignature) before it believes it.
//
// Requests use HTTP basic authentication with the account SID and auth
// token, or an API key SID and secret. Each attempt has a timeout; network
// errors, timeouts and 5xx answers are retried a bounded number of times,
// 4xx answers never (they will not get better). Every failure is
// mfa.Unavailable naming the cause (status, Twilio's error code and
// message), never the message body, which holds passcodes.
//
// It imports only mfa of ours, and the standard library; the HTTP
// callbacks are served by internal/server, which hands keypresses to
// authflow.
package twilio
