package twilio_test

import (
	"net/url"
	"testing"

	"github.com/twostep-auth/twostep/internal/notify/twilio"
)

// Twilio's published request-validation example (auth token 12345).
const (
	vectorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorSig = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
)

func vectorForm() url.Values {
	return url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
}

func TestSignatureVector(t *testing.T) {
	if got := twilio.Signature("12345", vectorURL, vectorForm()); got != vectorSig {
		t.Errorf("Signature(published example) = %s, want %s", got, vectorSig)
	}
	tests := []struct {
		name  string
		token string
		url   string
		form  func(url.Values)
		sig   string
		want  bool
	}{
		{"valid", "12345", vectorURL, func(url.Values) {}, vectorSig, true},
		{"other token", "54321", vectorURL, func(url.Values) {}, vectorSig, false},
		{"extra query", "12345", vectorURL + "&extra=1", func(url.Values) {}, vectorSig, false},
		{"other host", "12345", "https://evil.example/myapp.php?foo=1&bar=2", func(url.Values) {}, vectorSig, false},
		{"tampered digit", "12345", vectorURL, func(f url.Values) { f.Set("Digits", "9") }, vectorSig, false},
		{"added param", "12345", vectorURL, func(f url.Values) { f.Set("CallStatus", "completed") }, vectorSig, false},
		{"removed param", "12345", vectorURL, func(f url.Values) { f.Del("Caller") }, vectorSig, false},
		{"empty signature", "12345", vectorURL, func(url.Values) {}, "", false},
		{"empty token", "", vectorURL, func(url.Values) {}, vectorSig, false},
		{"garbage", "12345", vectorURL, func(url.Values) {}, "not base64 ✗", false},
	}
	for _, tt := range tests {
		f := vectorForm()
		tt.form(f)
		if got := twilio.ValidSignature(tt.token, tt.url, f, tt.sig); got != tt.want {
			t.Errorf("ValidSignature(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
