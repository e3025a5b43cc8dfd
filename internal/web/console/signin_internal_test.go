package console

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/vault"
)

// TestOTPAuthURI: the set-up link names the organisation and the
// administrator's email as authenticator apps (the twostep app's own
// parser here) read them, even with spaces, a colon or non-ASCII letters
// in the organisation's name; and as the Key Uri Format wants them, for
// other apps.
func TestOTPAuthURI(t *testing.T) {
	for _, org := range []string{"twostep", "Example Corp", "Example: Corp", "Société Générale", "A&B?C/D"} {
		uri := otpauthURI(org, "admin+1@example.com", "JBSWY3DPEHPK3PXP")
		// The Key Uri Format allows one colon in the label, between the
		// issuer and the account: other apps cut the name at the first.
		u, err := url.Parse(uri)
		if err != nil {
			t.Errorf("%q: %q: %v", org, uri, err)
			continue
		}
		if strings.Count(u.Path, ":") > 1 || u.Query().Get("issuer") != org {
			t.Errorf("%q: %q: label %q has more than one colon, or the issuer parameter is not the organisation", org, uri, u.Path)
		}
		a, err := vault.ParseKeyURI(uri, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Errorf("%q: ParseKeyURI(%q): %v", org, uri, err)
			continue
		}
		if a.Issuer != org || a.Label != "admin+1@example.com" || a.Name != org+":admin+1@example.com" ||
			!a.UseTOTP || a.Digits != 6 || a.Period != 30 || a.Algorithm != vault.SHA1 {
			t.Errorf("%q: %q reads as issuer %q, label %q, name %q, totp %v, %d digits, %d s, %s",
				org, uri, a.Issuer, a.Label, a.Name, a.UseTOTP, a.Digits, a.Period, a.Algorithm)
		}
	}
}
