package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// adminE2E runs `twostepd admin` against a real twostepd serve.
type adminE2E struct {
	t  *testing.T
	in *instance
}

func (a adminE2E) run(args ...string) (stdout, stderr string, err error) {
	a.t.Helper()
	var o, e bytes.Buffer
	full := append([]string{"admin", "--data", a.in.data}, args...)
	err = run(context.Background(), full, func(string) string { return "" }, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), err
}

// ok runs a command that must succeed and returns its stdout.
func (a adminE2E) ok(args ...string) string {
	a.t.Helper()
	out, errOut, err := a.run(args...)
	if err != nil {
		a.t.Fatalf("admin %q: %v\nstderr: %s", args, err, errOut)
	}
	return out
}

// fails runs a command that must fail with exit status code and an error
// containing want.
func (a adminE2E) fails(code int, want string, args ...string) {
	a.t.Helper()
	_, _, err := a.run(args...)
	if err == nil || exitCode(err) != code || !strings.Contains(err.Error(), want) {
		a.t.Errorf("admin %q error = %v (exit %d), want exit %d containing %q", args, err, exitCode(err), code, want)
	}
}

func jsonOf[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func TestAdminCLIEndToEnd(t *testing.T) {
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)

	t.Run("users", func(t *testing.T) {
		a := adminE2E{t, in}
		out := a.ok("user", "add", "alice", "--realname", "Alice Liddell", "--email", "alice@example.com", "--alias", "al")
		if !regexp.MustCompile(`^created user alice \(\S+\), status active\n$`).MatchString(out) {
			t.Errorf("user add = %q", out)
		}
		_, _, err := a.run("user", "add", "alice")
		if err == nil || !strings.HasPrefix(err.Error(), "create user: Invalid request parameters: ") ||
			!strings.Contains(err.Error(), "username") || !strings.HasSuffix(err.Error(), "(40002)") || exitCode(err) != 1 {
			t.Errorf("duplicate user add error = %v, want the server's 40002 naming username", err)
		}
		a.ok("user", "add", "bob")

		out = a.ok("user", "list")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "USER ID ") || !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "Alice Liddell") {
			t.Errorf("user list =\n%s", out)
		}
		users := jsonOf[[]map[string]any](t, a.ok("user", "list", "--json"))
		if len(users) != 2 {
			t.Errorf("user list --json has %d users, want 2", len(users))
		}
		only := jsonOf[[]map[string]any](t, a.ok("user", "list", "--json", "--username", "bob"))
		if len(only) != 1 || only[0]["username"] != "bob" {
			t.Errorf("user list --username bob = %v", only)
		}

		alice := jsonOf[map[string]any](t, a.ok("user", "show", "alice", "--json"))
		id, _ := alice["user_id"].(string)
		if id == "" || alice["alias1"] != "al" {
			t.Fatalf("user show --json = %v", alice)
		}
		out = a.ok("user", "show", id)
		if !strings.Contains(out, "Username:    alice") || !strings.Contains(out, "Aliases:     al") {
			t.Errorf("user show by id =\n%s", out)
		}
		a.fails(1, `user "nobody" not found`, "user", "show", "nobody")

		out = a.ok("user", "set-status", "alice", "bypass")
		if out != "user alice ("+id+") is now bypass\n" {
			t.Errorf("set-status = %q", out)
		}
		a.fails(2, "sleepy", "user", "set-status", "alice", "sleepy")
		a.fails(2, "--yes", "user", "delete", "bob")
		a.ok("user", "delete", "bob", "--yes")
		a.fails(1, `user "bob" not found`, "user", "show", "bob")
	})

	t.Run("phones", func(t *testing.T) {
		a := adminE2E{t, in}
		a.ok("user", "add", "carol")
		phone := jsonOf[map[string]any](t, a.ok("phone", "add", "carol", "+15555550123", "--json", "--name", "work"))
		pid, _ := phone["phone_id"].(string)
		if pid == "" || phone["number"] != "+15555550123" {
			t.Fatalf("phone add --json = %v", phone)
		}
		if out := a.ok("user", "show", "carol"); !strings.Contains(out, "+15555550123") || !strings.Contains(out, pid) {
			t.Errorf("user show after phone add lacks the phone:\n%s", out)
		}
		a.fails(1, `user "nobody" not found`, "phone", "add", "nobody", "+15555550124")
		// activation_url is not in this server round: a clear message.
		out, _, err := a.run("phone", "activate", pid)
		if err != nil && !strings.Contains(err.Error(), "not supported by this server yet") {
			t.Errorf("phone activate error = %v, want 'not supported by this server yet' (or success)", err)
		}
		if err == nil && !strings.Contains(out, "Activation URL:") {
			t.Errorf("phone activate = %q", out)
		}
		a.ok("phone", "delete", "+15555550123")
		a.fails(1, "not found", "phone", "delete", pid)
	})

	t.Run("bypass", func(t *testing.T) {
		a := adminE2E{t, in}
		a.ok("user", "add", "dave")
		out, errOut, err := a.run("bypass", "create", "dave", "--count", "3")
		codes := strings.Fields(out)
		if err != nil || len(codes) != 3 || !regexp.MustCompile(`^\d{9}$`).MatchString(codes[0]) || !strings.Contains(errOut, "shown only now") {
			t.Fatalf("bypass create = %q, %q, %v", out, errOut, err)
		}
		a.ok("bypass", "create", "dave", "--codes", "123456789,987654321", "--reuse-count", "0", "--valid-secs", "3600", "--preserve-existing")
		list := jsonOf[[]map[string]any](t, a.ok("bypass", "list", "dave", "--json"))
		if len(list) != 5 {
			t.Errorf("bypass list dave has %d codes, want 5", len(list))
		}
		out = a.ok("bypass", "list")
		if !strings.HasPrefix(out, "BYPASS CODE ID ") || strings.Contains(out, "123456789") || !strings.Contains(out, "unlimited") {
			t.Errorf("bypass list =\n%s", out)
		}
		id, _ := list[0]["bypass_code_id"].(string)
		a.ok("bypass", "delete", id)
		if list := jsonOf[[]map[string]any](t, a.ok("bypass", "list", "dave", "--json")); len(list) != 4 {
			t.Errorf("after delete: %d codes, want 4", len(list))
		}
		a.fails(1, "not found", "bypass", "delete", id)
		a.fails(1, "Invalid request parameters", "bypass", "create", "dave", "--codes", "12")
	})

	t.Run("tokens", func(t *testing.T) {
		a := adminE2E{t, in}
		a.ok("user", "add", "erin")
		file := filepath.Join(t.TempDir(), "tokens.csv")
		// RFC 4226's secret; line 3 is not hex; line 4 repeats a serial.
		csv := "serial,secret,counter\nTOK1,3132333435363738393031323334353637383930,0\nTOK2,zz,0\nTOK1,3132333435363738393031323334353637383930,0\nTOK3,3132333435363738393031323334353637383930\n"
		os.WriteFile(file, []byte(csv), 0o600)
		out, errOut, err := a.run("token", "import", file, "--type", "h6", "--assign", "erin")
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "2 of 4 rows rejected") {
			t.Errorf("token import error = %v, want 2 of 4 rejected", err)
		}
		if !strings.Contains(out, "imported 2 of 4 tokens (assigned to erin)") ||
			!regexp.MustCompile(`(?m)^3 +TOK2 +secret`).MatchString(out) || !regexp.MustCompile(`(?m)^4 +TOK1 +.*already exists`).MatchString(out) {
			t.Errorf("token import report =\n%s", out)
		}
		if !strings.Contains(errOut, "3/3 tokens (100%)") {
			t.Errorf("token import progress = %q", errOut)
		}
		if strings.Contains(out+errOut, "3132333435") {
			t.Error("token import printed a seed")
		}
		if out := a.ok("user", "show", "erin"); !strings.Contains(out, "TOK1") || !strings.Contains(out, "TOK3") {
			t.Errorf("erin's tokens:\n%s", out)
		}
		a.fails(2, "--type", "token", "import", file)
		// RFC 4226 codes for counters 5, 6, 7.
		if out := a.ok("token", "resync", "TOK1", "254676", "287922", "162583"); !strings.Contains(out, "resynchronized token TOK1") {
			t.Errorf("token resync = %q", out)
		}
		a.fails(1, "Invalid request parameters", "token", "resync", "TOK3", "111111", "222222", "333333")
		a.fails(1, `token "NOPE" not found`, "token", "resync", "NOPE", "1", "2", "3")
	})

	t.Run("admins", func(t *testing.T) {
		a := adminE2E{t, in}
		out, errOut, err := a.run("admin", "add", "helpdesk@example.com", "--role", "Help Desk", "--name", "Helen")
		if err != nil || !regexp.MustCompile(`(?m)^password: \S{12,}$`).MatchString(out) || !strings.Contains(errOut, "shown only now") {
			t.Errorf("admin add = %q, %q, %v; want a generated password shown once", out, errOut, err)
		}
		pw := filepath.Join(t.TempDir(), "pw")
		os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600)
		out = a.ok("admin", "add", "ro@example.com", "--role", "Read-only", "--password-file", pw)
		if strings.Contains(out, "password") || strings.Contains(out, "staple") {
			t.Errorf("admin add with --password-file printed a password: %q", out)
		}
		out = a.ok("admin", "list")
		for _, w := range []string{"owner@localhost", "helpdesk@example.com", "Help Desk", "Read-only"} {
			if !strings.Contains(out, w) {
				t.Errorf("admin list lacks %q:\n%s", w, out)
			}
		}
		a.fails(1, "create administrator: ", "admin", "add", "helpdesk@example.com", "--role", "Help Desk")
	})

	t.Run("integrations", func(t *testing.T) {
		a := adminE2E{t, in}
		out := a.ok("integration", "add", "reports", "--type", "adminapi", "--perm", "read_log,read_resource")
		m := regexp.MustCompile(`Integration key:\s+(DI[A-Z0-9]{18})\nSecret key:\s+(\S{40})`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("integration add =\n%s", out)
		}
		ikey, skey := m[1], m[2]
		out = a.ok("integration", "list")
		if !strings.Contains(out, ikey) || !strings.Contains(out, "reports") || strings.Contains(out, skey) || strings.Contains(out, creds.AdminAPI.SKey) {
			t.Errorf("integration list =\n%s", out)
		}
		out = a.ok("integration", "show", ikey)
		if strings.Contains(out, skey) || !strings.Contains(out, "read_log, read_resource") {
			t.Errorf("integration show =\n%s", out)
		}
		if out := a.ok("integration", "show", ikey, "--show-secret"); !strings.Contains(out, skey) {
			t.Errorf("integration show --show-secret =\n%s", out)
		}
		a.fails(1, `integration "DINOPE" not found`, "integration", "show", "DINOPE")

		// The new key works for what it may do, and only that.
		env := map[string]string{"TWOSTEP_ADMIN_IKEY": ikey, "TWOSTEP_ADMIN_SKEY": skey}
		getenv := func(k string) string { return env[k] }
		var o, e bytes.Buffer
		if err := run(context.Background(), []string{"admin", "--data", in.data, "user", "list"}, getenv, strings.NewReader(""), &o, &e); err != nil {
			t.Errorf("user list with the new read-only key: %v", err)
		}
		err := run(context.Background(), []string{"admin", "--data", in.data, "user", "add", "zed"}, getenv, strings.NewReader(""), &o, &e)
		if err == nil || !strings.Contains(err.Error(), "(403") {
			t.Errorf("user add with a read-only key error = %v, want 403", err)
		}
	})

	t.Run("logs", func(t *testing.T) {
		a := adminE2E{t, in}
		out := a.ok("logs", "auth", "--since", "1h")
		if !strings.HasPrefix(out, "TIME ") {
			t.Errorf("logs auth =\n%s", out)
		}
		if recs := jsonOf[[]any](t, a.ok("logs", "auth", "--json", "--user", "alice", "--result", "success")); recs == nil {
			t.Error("logs auth --json is not an array")
		}
		out = a.ok("logs", "admin", "--since", "1h")
		if !strings.HasPrefix(out, "TIME ") || !strings.Contains(out, "alice") {
			t.Errorf("logs admin lacks the creation of alice:\n%s", out)
		}
		a.fails(1, `user "nobody" not found`, "logs", "auth", "--user", "nobody")
	})

	t.Run("credentials", func(t *testing.T) {
		_, _, err := runCmd(t, nil, "admin", "--data", t.TempDir(), "user", "list")
		if err == nil || !strings.Contains(err.Error(), "no Admin API credentials") {
			t.Errorf("without credentials: %v", err)
		}
		bad := func(k string) string { return map[string]string{"TWOSTEP_ADMIN_SKEY": strings.Repeat("x", 40)}[k] }
		_, _, err = runCmd(t, bad, "admin", "--data", in.data, "user", "list")
		if err == nil || !strings.Contains(err.Error(), "40103") {
			t.Errorf("wrong skey: %v, want 40103", err)
		}
		// Without the CA the server's certificate is not trusted.
		_, _, err = runCmd(t, nil, "admin", "--data", in.data, "--ca-file", "/nonexistent/ca.pem", "user", "list")
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
			t.Errorf("missing CA file: %v", err)
		}
	})

	in.stop(t)
	// The admin secret key and the bootstrap password never reached a log.
	if logs := in.logs.String(); strings.Contains(logs, creds.AdminAPI.SKey) {
		t.Error("the admin skey appears in the server log")
	}
}

// TestAdminUserShowEscapesDeviceText: text a device stored (before the
// device API refused control characters) reaches `admin user show`
// escaped: an ESC sequence cannot retitle or drive the operator's
// terminal. Before, it was printed raw.
func TestAdminUserShowEscapesDeviceText(t *testing.T) {
	in := startServe(t, nil)
	a := adminE2E{t, in}
	a.ok("user", "add", "mallory")
	phone := jsonOf[map[string]any](t, a.ok("phone", "add", "mallory", "+15555550199", "--json"))
	pid, _ := phone["phone_id"].(string)

	db, err := sql.Open("sqlite", filepath.Join(in.data, "twostep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const evil = "Pixel\x1b]0;pwn\x07 \u202eevil\u00852J"
	if _, err := db.Exec(`UPDATE phones SET name = ?, platform = ?, model = ? WHERE id = ?`, evil, evil, evil, pid); err != nil {
		t.Fatal(err)
	}
	out := a.ok("user", "show", "mallory")
	if strings.ContainsAny(out, "\x1b\x07\u202e\u0085") {
		t.Errorf("user show printed control characters raw: %q", out)
	}
	if want := `Pixel\x1b]0;pwn\a \u202eevil\u00852J`; !strings.Contains(out, want) {
		t.Errorf("user show =\n%s\nwant the stored name shown as %s", out, want)
	}
}
