package vault_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/vault"
)

var now = time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC)

func TestParseKeyURI(t *testing.T) {
	// JBSWY3DPEHPK3PXP is "Hello!\xde\xad\xbe\xef".
	key := vault.Secret("Hello!\xde\xad\xbe\xef")
	tests := []struct {
		give string
		want vault.Account
	}{
		{
			"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			vault.Account{Name: "Example:alice@google.com", Kind: vault.KindOTPAuth, Secret: key, Algorithm: vault.SHA1,
				Digits: 6, Period: 30, UseTOTP: true, Issuer: "Example", Label: "alice@google.com", Created: now},
		},
		{
			"otpauth://totp/ACME%20Co:john.doe@email.com?secret=jbswy3dpehpk3pxp&issuer=ACME%20Co&algorithm=SHA512&digits=8&period=60",
			vault.Account{Name: "ACME Co:john.doe@email.com", Kind: vault.KindOTPAuth, Secret: key, Algorithm: vault.SHA512,
				Digits: 8, Period: 60, UseTOTP: true, Issuer: "ACME Co", Label: "john.doe@email.com", Created: now},
		},
		{
			// An issuer with a colon in it, named in the label too.
			"otpauth://totp/Example:%20Corp:admin@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example%3A%20Corp",
			vault.Account{Name: "Example: Corp:admin@example.com", Kind: vault.KindOTPAuth, Secret: key, Algorithm: vault.SHA1,
				Digits: 6, Period: 30, UseTOTP: true, Issuer: "Example: Corp", Label: "admin@example.com", Created: now},
		},
		{
			"otpauth://hotp/bob?secret=JBSWY3DPEHPK3PXP&counter=42&algorithm=sha256",
			vault.Account{Name: "bob", Kind: vault.KindOTPAuth, Secret: key, Algorithm: vault.SHA256,
				Digits: 6, Counter: 42, Label: "bob", Created: now},
		},
		{
			"otpauth://hotp/Site:bob?secret=JBSW%20Y3DP%20EHPK%203PXP====",
			vault.Account{Name: "Site:bob", Kind: vault.KindOTPAuth, Secret: key, Algorithm: vault.SHA1,
				Digits: 6, Issuer: "Site", Label: "bob", Created: now},
		},
		{
			"  OTPAUTH://TOTP/?secret=JBSWY3DPEHPK3PXP&issuer=OnlyIssuer  ",
			vault.Account{Name: "OnlyIssuer", Kind: vault.KindOTPAuth, Secret: key, Algorithm: vault.SHA1,
				Digits: 6, Period: 30, UseTOTP: true, Issuer: "OnlyIssuer", Created: now},
		},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := vault.ParseKeyURI(tt.give, now)
			if err != nil {
				t.Fatalf("ParseKeyURI() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseKeyURI() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKeyURIErrors(t *testing.T) {
	tests := []struct {
		give string
		want string // in the message
	}{
		{"", "no scheme"},
		{"JBSWY3DPEHPK3PXP", "no scheme"},
		{"https://example.com/totp", `scheme "https"`},
		{"otpauth-migration://offline?data=abc", "otpauth-migration"},
		{"otpauth://sms/a?secret=JBSWY3DPEHPK3PXP", `type "sms"`},
		{"otpauth:///a?secret=JBSWY3DPEHPK3PXP", "no type"},
		{"otpauth://totp/a", "secret: missing"},
		{"otpauth://totp/a?secret=JBSWY3DP!HPK3PXP", "secret: base32: invalid character at position 9"},
		{"otpauth://totp/a?secret=JBSW", "secret:"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", `algorithm "MD5"`},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=5", `digits "5"`},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=six", `digits "six"`},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0", `period "0"`},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=-30", `period "-30"`},
		{"otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=-1", `counter "-1"`},
		{"otpauth://totp/?secret=JBSWY3DPEHPK3PXP", "label: missing"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&x=%zz", "query string"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			_, err := vault.ParseKeyURI(tt.give, now)
			if err == nil {
				t.Fatalf("ParseKeyURI(%q) = nil error, want %q", tt.give, tt.want)
			}
			if !errors.Is(err, vault.ErrKeyURI) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseKeyURI(%q) = %v, want ErrKeyURI mentioning %q", tt.give, err, tt.want)
			}
			if strings.Contains(err.Error(), "JBSWY3DP") {
				t.Errorf("ParseKeyURI(%q) error %q echoes the secret", tt.give, err)
			}
		})
	}
}

func TestKeyURIRoundTrip(t *testing.T) {
	for _, give := range []string{
		"otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60",
		"otpauth://hotp/bob?secret=JBSWY3DPEHPK3PXP&counter=7",
		"otpauth://totp/Example:%20Corp:admin@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example%3A%20Corp",
	} {
		a, err := vault.ParseKeyURI(give, now)
		if err != nil {
			t.Fatal(err)
		}
		uri, err := a.KeyURI()
		if err != nil {
			t.Fatal(err)
		}
		b, err := vault.ParseKeyURI(uri, now)
		if err != nil {
			t.Fatalf("ParseKeyURI(KeyURI() = %q): %v", uri, err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("round trip of %q via %q (-want +got):\n%s", give, uri, diff)
		}
	}
	tw := vault.Account{Name: "x", Kind: vault.KindTwostep}
	if _, err := tw.KeyURI(); err == nil {
		t.Error("KeyURI() of a twostep install = nil error, want one")
	}
}
