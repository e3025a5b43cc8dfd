// Package webhook is an mfa.Notifier that POSTs each SMS, call or email as
// JSON to an operator's URL, so that any SMS gateway or telephony system
// can deliver twostep's messages. Requests are signed:
//
//	X-Twostep-Timestamp: <Unix seconds>
//	X-Twostep-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// A call carries a keypress_url: the operator's system reports the key
// the person pressed (or how the call ended) there, signed the same way
// with the same secret (Verify checks it; internal/server serves it).
//
// Each attempt has a timeout; network errors, timeouts and 5xx answers
// are retried a bounded number of times, 4xx answers never. Failures are
// mfa.Unavailable naming the cause, never the body.
//
// It imports only mfa of ours, and the standard library.
package webhook
