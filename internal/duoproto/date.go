package duoproto

import (
	"net/http"
	"net/mail"
	"time"
)

// DefaultSkew is the clock difference a [Verifier] allows between a request's
// timestamp and its own clock when Verifier.Skew is zero. Duo does not publish
// its window; Duo's own mock server uses 300 seconds.
const DefaultSkew = 300 * time.Second

// maxDateLen bounds the timestamp header that ParseDate will look at. The
// longest RFC 2822 date a client sends is about 31 bytes.
const maxDateLen = 64

// ParseDate parses a request timestamp as Duo clients send it in Date or
// X-Duo-Date: RFC 2822 with a numeric zone ("-0000" from Python, "+0000"
// from Go and duo_unix, any local offset such as "-0500" from Postman) or
// "GMT" (Node's toUTCString). It also accepts the other HTTP date forms.
//
// The parsed time is used only for the skew check. The signature always
// covers the header string byte for byte, never a reformatted date.
func ParseDate(s string) (time.Time, bool) {
	if s == "" || len(s) > maxDateLen {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC1123Z, s); err == nil {
		return t, true
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	if t, err := http.ParseTime(s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// withinSkew reports whether t is no more than skew away from now, in either
// direction.
func withinSkew(t, now time.Time, skew time.Duration) bool {
	d := now.Sub(t)
	return -skew <= d && d <= skew
}
