package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
)

// Signature is Twilio's X-Twilio-Signature of a callback: the base64 of
// HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio
// requested (scheme, host, path and query) followed by every POST
// parameter's name and value, sorted by name (values of a repeated name in
// their order).
func Signature(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range form[k] {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidSignature reports whether sig is the signature of the callback, in
// constant time.
func ValidSignature(authToken, fullURL string, form url.Values, sig string) bool {
	if authToken == "" || sig == "" {
		return false
	}
	want := Signature(authToken, fullURL, form)
	return hmac.Equal([]byte(want), []byte(sig))
}
