package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRadiusLocalFirstFactorRadclient: first_factor = "local" checks the
// password with twostep itself (a twostep password set by the CLI) before
// the second factor, in append mode ("password,passcode") and in challenge
// mode (the password first, then the passcode); a wrong password is
// rejected with the first-factor message, logged, and spends no passcode.
func TestRadiusLocalFirstFactorRadclient(t *testing.T) {
	needProgram(t, "radclient", "freeradius-utils")
	needProgram(t, "oathtool", "oathtool")
	rs := startRadiusServe(t, `
[[radius.clients]]
name = "vpn-local"
networks = ["127.0.0.1/32"]
secret = "`+radiusSecret+`"
first_factor = "local"
timeout = "60s"
`, nil)
	secret := rs.hotpUser("erin")
	const pw = "correct horse battery staple"
	user := func(name, password string) []string {
		return []string{"User-Name = " + name, `User-Password = "` + password + `"`, "Calling-Station-Id = 198.51.100.9"}
	}
	setPassword(t, rs, "erin", pw)

	t.Run("append: wrong password", func(t *testing.T) {
		r := rs.radclient(radiusSecret, true, user("erin", "wrong password,"+oathHOTP(t, secret, 0))...)
		if r.Code != "Access-Reject" || !strings.Contains(r.Out, "Incorrect user name or password.") {
			t.Fatalf("wrong password = %q, want Access-Reject with the first-factor message:\n%s", r.Code, r.Out)
		}
		recs := rs.authLog("erin")
		if len(recs) != 1 || recs[0].Factor != "first_factor" || recs[0].Reason != "invalid_password" || recs[0].Application.Name != "vpn-local" {
			t.Errorf("auth log = %+v, want one first_factor/invalid_password by vpn-local", recs)
		}
	})
	t.Run("append: unknown user", func(t *testing.T) {
		r := rs.radclient(radiusSecret, true, user("nobody", pw+","+oathHOTP(t, secret, 0))...)
		if r.Code != "Access-Reject" || !strings.Contains(r.Out, "Incorrect user name or password.") {
			t.Errorf("unknown user = %q, want the same Access-Reject:\n%s", r.Code, r.Out)
		}
	})
	t.Run("append: right password and passcode", func(t *testing.T) {
		// The passcode the wrong-password request carried was not spent.
		r := rs.radclient(radiusSecret, true, user("erin", pw+","+oathHOTP(t, secret, 0))...)
		if r.Code != "Access-Accept" {
			t.Fatalf("password,passcode = %q, want Access-Accept:\n%s", r.Code, r.Out)
		}
	})
	t.Run("append: right password, no factor", func(t *testing.T) {
		r := rs.radclient(radiusSecret, true, user("erin", pw)...)
		if r.Code != "Access-Reject" || !strings.Contains(r.Out, "after your password with a comma") {
			t.Errorf("password alone = %q, want Access-Reject saying what to add:\n%s", r.Code, r.Out)
		}
	})

}

// TestRadiusLocalFirstFactorChallengeRadclient: challenge mode with
// first_factor = "local": the password first, then the passcode.
func TestRadiusLocalFirstFactorChallengeRadclient(t *testing.T) {
	needProgram(t, "radclient", "freeradius-utils")
	needProgram(t, "oathtool", "oathtool")
	rs := startRadiusServe(t, `
[[radius.clients]]
name = "vpn-local-challenge"
networks = ["127.0.0.1/32"]
secret = "`+radiusSecret+`"
first_factor = "local"
mode = "challenge"
`, nil)
	secret := rs.hotpUser("erin")
	const pw = "correct horse battery staple"
	setPassword(t, rs, "erin", pw)
	user := func(name, password string) []string {
		return []string{"User-Name = " + name, `User-Password = "` + password + `"`}
	}
	{
		sec := radiusSecret
		if r := rs.radclient(sec, true, user("erin", "wrong password")...); r.Code != "Access-Reject" ||
			!strings.Contains(r.Out, "Incorrect user name or password.") {
			t.Errorf("challenge, wrong password = %q, want Access-Reject:\n%s", r.Code, r.Out)
		}
		c := rs.radclient(sec, true, user("erin", pw)...)
		if c.Code != "Access-Challenge" || c.State == "" {
			t.Fatalf("challenge, right password = %q, want Access-Challenge:\n%s", c.Code, c.Out)
		}
		r := rs.radclient(sec, true, append(user("erin", oathHOTP(t, secret, 1)), "State = "+c.State)...)
		if r.Code != "Access-Accept" {
			t.Errorf("challenge answer = %q, want Access-Accept:\n%s", r.Code, r.Out)
		}
	}
}

// setPassword sets a user's twostep password with the CLI.
func setPassword(t *testing.T, rs *radiusServer, name, pw string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rs.a.ok("user", "set-password", name, "--password-file", file)
}
