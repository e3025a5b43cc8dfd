package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duosecurity/duo_api_golang/authapi"
)

// TestAdminToAuthEndToEnd crosses both APIs of one real server: a user and
// a hardware token made with `twostepd admin`, then Duo's Auth API client
// logging in with the token's codes (RFC 4226's secret, so the codes are
// published vectors, not computed by our otp package).
func TestAdminToAuthEndToEnd(t *testing.T) {
	in := startServe(t, nil)
	a := adminE2E{t, in}
	a.ok("user", "add", "frank")
	file := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(file, []byte("serial,secret,counter\nRFC4226,3132333435363738393031323334353637383930,0\n"), 0o600)
	a.ok("token", "import", file, "--type", "h6", "--assign", "frank")

	creds, _ := readCredentials(t, in.data)
	client := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, trustCA(t, creds.CAFile))

	pre, err := client.Preauth(authapi.PreauthUsername("frank"))
	if err != nil || pre.Stat != "OK" || pre.Response.Result != "auth" {
		t.Fatalf("Preauth(frank) = %+v, %v; want auth", pre, err)
	}
	tests := []struct {
		give       string
		wantResult string
		wantMsg    string
	}{
		{"755224", "allow", ""},                  // counter 0
		{"755224", "deny", "already been used"},  // replayed
		{"359152", "allow", ""},                  // counter 2: within the look-ahead window
		{"287082", "deny", "already been used"},  // counter 1: behind the counter now
		{"000000", "deny", "Incorrect passcode"}, // wrong
	}
	// Each attempt names its own ipaddr: byte-identical signed requests in
	// one second are one request, accepted once (replay protection); the
	// passcode replays here must reach the counter check.
	for i, tt := range tests {
		res, err := client.Auth("passcode", authapi.AuthUsername("frank"), authapi.AuthPasscode(tt.give),
			authapi.AuthIpAddr(fmt.Sprintf("198.51.100.%d", 10+i)))
		if err != nil || res.Stat != "OK" {
			t.Fatalf("Auth(%s) = %+v, %v", tt.give, res, err)
		}
		if res.Response.Result != tt.wantResult || !strings.Contains(res.Response.Status_Msg, tt.wantMsg) {
			t.Errorf("Auth(%s) = %s %q, want %s containing %q", tt.give, res.Response.Result, res.Response.Status_Msg, tt.wantResult, tt.wantMsg)
		}
	}
	// A bypass code with reuse_count 2 (help desk: seed 004) works exactly twice.
	a.ok("bypass", "create", "frank", "--codes", "246813579", "--reuse-count", "2")
	for i, want := range []string{"allow", "allow", "deny"} {
		res, err := client.Auth("passcode", authapi.AuthUsername("frank"), authapi.AuthPasscode("246813579"),
			authapi.AuthIpAddr(fmt.Sprintf("198.51.100.%d", 20+i)))
		if err != nil || res.Stat != "OK" || res.Response.Result != want {
			t.Errorf("Auth(bypass code, use %d) = %+v, %v; want %s", i+1, res, err, want)
		}
	}
	// Every decision is in the authentication log, readable by the CLI.
	out := a.ok("logs", "auth", "--since", "1h", "--user", "frank")
	if n := strings.Count(out, "frank"); n < len(tests) {
		t.Errorf("logs auth shows %d records for frank, want %d:\n%s", n, len(tests), out)
	}
}
