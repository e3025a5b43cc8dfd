package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/adminclient/adminclienttest"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// runFake runs `twostepd admin args...` against a fake Admin API, with the
// credentials in the environment and an empty data directory.
func runFake(t *testing.T, fake *adminclienttest.Server, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env := map[string]string{
		"TWOSTEP_API_HOST":   fake.Host,
		"TWOSTEP_ADMIN_IKEY": adminclienttest.IKey,
		"TWOSTEP_ADMIN_SKEY": adminclienttest.SKey,
		"TWOSTEP_CA_FILE":    fake.CAFile,
	}
	var o, e bytes.Buffer
	full := append([]string{"admin", "--data", t.TempDir()}, args...)
	err = run(context.Background(), full, func(k string) string { return env[k] }, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), err
}

func writeCredentials(t *testing.T, dir, host, ikey, skey, ca string) string {
	t.Helper()
	var c adminCredentialsFile
	c.APIHost, c.CAFile, c.AdminAPI.IKey, c.AdminAPI.SKey = host, ca, ikey, skey
	b, _ := json.Marshal(c)
	p := filepath.Join(dir, "initial-credentials.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAdminCredentialsPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeCredentials(t, dir, "file-host:1", "DIFILE", "file-skey", "/file/ca.pem")
	skeyFile := filepath.Join(dir, "skey")
	os.WriteFile(skeyFile, []byte("flag-skey\n"), 0o600)
	fullEnv := map[string]string{
		"TWOSTEP_API_HOST": "env-host:2", "TWOSTEP_ADMIN_IKEY": "DIENV",
		"TWOSTEP_ADMIN_SKEY": "env-skey", "TWOSTEP_CA_FILE": "/env/ca.pem",
	}
	tests := []struct {
		name  string
		flags adminCmd
		data  string
		env   map[string]string
		want  adminCredentials
	}{
		{"file only", adminCmd{}, dir, nil,
			adminCredentials{APIHost: "file-host:1", IKey: "DIFILE", SKey: "file-skey", CAFile: "/file/ca.pem"}},
		{"env over file", adminCmd{}, dir, fullEnv,
			adminCredentials{APIHost: "env-host:2", IKey: "DIENV", SKey: "env-skey", CAFile: "/env/ca.pem"}},
		{"flags over env", adminCmd{APIHost: "flag-host:3", IKey: "DIFLAG", SKeyFile: skeyFile, CAFile: "/flag/ca.pem"}, dir, fullEnv,
			adminCredentials{APIHost: "flag-host:3", IKey: "DIFLAG", SKey: "flag-skey", CAFile: "/flag/ca.pem"}},
		{"partly env", adminCmd{}, dir, map[string]string{"TWOSTEP_ADMIN_IKEY": "DIENV"},
			adminCredentials{APIHost: "file-host:1", IKey: "DIENV", SKey: "file-skey", CAFile: "/file/ca.pem"}},
		{"no file needed", adminCmd{}, t.TempDir(), map[string]string{"TWOSTEP_API_HOST": "https://h:4/", "TWOSTEP_ADMIN_IKEY": "DI", "TWOSTEP_ADMIN_SKEY": "s"},
			adminCredentials{APIHost: "h:4", IKey: "DI", SKey: "s"}},
		{"explicit file", adminCmd{Credentials: filepath.Join(dir, "initial-credentials.json")}, t.TempDir(), nil,
			adminCredentials{APIHost: "file-host:1", IKey: "DIFILE", SKey: "file-skey", CAFile: "/file/ca.pem"}},
		{"skey file from env", adminCmd{}, dir, map[string]string{"TWOSTEP_ADMIN_SKEY_FILE": skeyFile},
			adminCredentials{APIHost: "file-host:1", IKey: "DIFILE", SKey: "flag-skey", CAFile: "/file/ca.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveAdminCredentials(&tt.flags, &cli{Data: tt.data}, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			got.Source = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resolveAdminCredentials() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		empty := t.TempDir()
		_, err := resolveAdminCredentials(&adminCmd{}, &cli{Data: empty}, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "no Admin API credentials") || !strings.Contains(err.Error(), empty) {
			t.Errorf("error = %v, want one naming the missing credentials and the file", err)
		}
	})
	t.Run("explicit file missing", func(t *testing.T) {
		_, err := resolveAdminCredentials(&adminCmd{Credentials: "/nonexistent/c.json"}, &cli{}, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/c.json") {
			t.Errorf("error = %v, want one naming the file", err)
		}
	})
	t.Run("data from env", func(t *testing.T) {
		got, err := resolveAdminCredentials(&adminCmd{}, &cli{}, func(k string) string {
			return map[string]string{"TWOSTEP_DATA": dir}[k]
		})
		if err != nil || got.IKey != "DIFILE" {
			t.Errorf("with TWOSTEP_DATA: %+v, %v; want the file's key", got, err)
		}
	})
}

func TestAdminSecretKeyIsNeverAFlag(t *testing.T) {
	_, _, err := runCmd(t, nil, "admin", "--skey", "abc", "user", "list")
	if err == nil || exitCode(err) != 2 {
		t.Errorf("--skey error = %v (exit %d), want a usage error", err, exitCode(err))
	}
}

func TestAdminUsageErrors(t *testing.T) {
	fake := adminclienttest.New(t, func(w http.ResponseWriter, r adminclienttest.Request) {
		duoproto.WriteOK(w, []any{})
	})
	tests := []struct {
		name string
		give []string
		want string
	}{
		{"missing argument", []string{"user", "show"}, "expected \"<user>\""},
		{"bad status", []string{"user", "set-status", "alice", "sleepy"}, "sleepy"},
		{"bad add status", []string{"user", "add", "bob", "--status", "sleepy"}, "sleepy"},
		{"unknown flag", []string{"user", "list", "--frob"}, "--frob"},
		{"count and codes", []string{"bypass", "create", "alice", "--count", "2", "--codes", "123456789"}, "mutually exclusive"},
		{"count too big", []string{"bypass", "create", "alice", "--count", "11"}, "1 to 10"},
		{"bad role", []string{"admin", "add", "a@example.com", "--role", "owner"}, "case-sensitive"},
		{"perm on authapi", []string{"integration", "add", "x", "--type", "authapi", "--perm", "info"}, "adminapi"},
		{"unknown perm", []string{"integration", "add", "x", "--type", "adminapi", "--perm", "everything"}, "everything"},
		{"bad type", []string{"integration", "add", "x", "--type", "rdp"}, "rdp"},
		{"since and mintime", []string{"logs", "auth", "--since", "1h", "--mintime", "2024-01-01"}, "mutually exclusive"},
		{"bad mintime", []string{"logs", "admin", "--mintime", "yesterday"}, "yesterday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runFake(t, fake, tt.give...)
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("admin %q error = %v (exit %d), want exit 2 mentioning %q", tt.give, err, exitCode(err), tt.want)
			}
		})
	}
}

// userFake answers the user lookups and lists of one user alice.
func userFake(t *testing.T, extra map[string]adminclienttest.Handler) *adminclienttest.Server {
	alice := map[string]any{"user_id": "DUALICE0000000000001", "username": "alice", "realname": "Alice\tA", "email": "alice@example.com",
		"status": "active", "is_enrolled": true, "last_login": 1700000000, "created": 1600000000,
		"alias1": "al", "phones": []any{map[string]any{"phone_id": "DPX", "number": "+15555550100", "type": "Mobile", "platform": "Generic Smartphone"}}, "tokens": []any{}}
	routes := map[string]adminclienttest.Handler{
		"GET /admin/v1/users": func(w http.ResponseWriter, r adminclienttest.Request) {
			if u := r.Params.Get("username"); u != "" && u != "alice" {
				duoproto.WriteOKMeta(w, []any{}, map[string]any{"total_objects": 0})
				return
			}
			duoproto.WriteOKMeta(w, []any{alice}, map[string]any{"total_objects": 1})
		},
		"GET /admin/v1/users/DUALICE0000000000001": func(w http.ResponseWriter, r adminclienttest.Request) { duoproto.WriteOK(w, alice) },
		"GET /admin/v1/users/*":                    func(w http.ResponseWriter, r adminclienttest.Request) { duoproto.WriteError(w, duoproto.NotFound()) },
	}
	for k, v := range extra {
		routes[k] = v
	}
	return adminclienttest.New(t, adminclienttest.Routes(routes))
}

func TestAdminUserRendering(t *testing.T) {
	fake := userFake(t, nil)
	out, _, err := runFake(t, fake, "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	want := "USER ID               USERNAME  REAL NAME  EMAIL              STATUS  ENROLLED  LAST LOGIN\n" +
		"DUALICE0000000000001  alice     Alice A    alice@example.com  active  yes       2023-11-14 22:13:20Z\n"
	if out != want {
		t.Errorf("user list =\n%s\nwant\n%s", out, want)
	}

	out, _, err = runFake(t, fake, "user", "list", "--json")
	var got []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0]["username"] != "alice" || got[0]["alias1"] != "al" {
		t.Errorf("user list --json = %q, %v; want the raw user objects", out, err)
	}

	out, _, err = runFake(t, fake, "user", "show", "alice")
	for _, w := range []string{"User ID:     DUALICE0000000000001", "Aliases:     al", "Phones:", "+15555550100", "Notes:       -"} {
		if err != nil || !strings.Contains(out, w) {
			t.Errorf("user show = %q, %v; want %q", out, err, w)
		}
	}
	if _, _, err := runFake(t, fake, "user", "show", "DUALICE0000000000001"); err != nil {
		t.Errorf("user show by id: %v", err)
	}
	_, _, err = runFake(t, fake, "user", "show", "nobody")
	if err == nil || err.Error() != `user "nobody" not found (neither a username nor a user id)` || exitCode(err) != 1 {
		t.Errorf("user show nobody error = %v, want not found, exit 1", err)
	}
}

func TestAdminUserDeleteNeedsConfirmation(t *testing.T) {
	deleted := false
	fake := userFake(t, map[string]adminclienttest.Handler{
		"DELETE /admin/v1/users/DUALICE0000000000001": func(w http.ResponseWriter, r adminclienttest.Request) {
			deleted = true
			duoproto.WriteOK(w, "")
		},
	})
	_, _, err := runFake(t, fake, "user", "delete", "alice")
	if err == nil || !strings.Contains(err.Error(), "--yes") || !strings.Contains(err.Error(), "not a terminal") || deleted {
		t.Fatalf("delete without --yes off a terminal: error = %v, deleted = %v; want a refusal naming --yes", err, deleted)
	}
	out, _, err := runFake(t, fake, "user", "delete", "alice", "--yes")
	if err != nil || !deleted || out != "deleted user alice (DUALICE0000000000001)\n" {
		t.Errorf("delete --yes = %q, %v, deleted = %v", out, err, deleted)
	}
}

func TestAdminConfirmOnTerminal(t *testing.T) {
	for _, tt := range []struct {
		give    string
		wantErr bool
	}{{"yes\n", false}, {"y\n", false}, {"no\n", true}, {"", true}} {
		var errb bytes.Buffer
		a := &adminEnv{env: &env{stdin: strings.NewReader(tt.give), stderr: &errb}, isTerminal: func(any) bool { return true }}
		err := a.confirm(false, "delete user alice")
		if (err != nil) != tt.wantErr || !strings.Contains(errb.String(), "Delete user alice?") {
			t.Errorf("confirm(%q) = %v, prompt %q; want error %v", tt.give, err, errb.String(), tt.wantErr)
		}
	}
}

func TestAdminPhoneActivateNotSupported(t *testing.T) {
	phone := map[string]any{"phone_id": "DPPHONE0000000000001", "number": "+15555550100"}
	fake := adminclienttest.New(t, adminclienttest.Routes(map[string]adminclienttest.Handler{
		"GET /admin/v1/phones/DPPHONE0000000000001": func(w http.ResponseWriter, r adminclienttest.Request) { duoproto.WriteOK(w, phone) },
		// POST .../activation_url is not routed: a plain 404.
	}))
	_, _, err := runFake(t, fake, "phone", "activate", "DPPHONE0000000000001")
	if err == nil || !strings.Contains(err.Error(), "not supported by this server yet") || exitCode(err) != 1 {
		t.Errorf("phone activate error = %v, want 'not supported by this server yet', exit 1", err)
	}
	_, _, err = runFake(t, fake, "phone", "activate", "+15555550199")
	if err == nil || !strings.Contains(err.Error(), `phone "+15555550199" not found`) {
		t.Errorf("phone activate of an unknown phone error = %v, want not found", err)
	}
}

func TestAdminServerErrorSurfaces(t *testing.T) {
	fake := userFake(t, map[string]adminclienttest.Handler{
		"POST /admin/v1/users": func(w http.ResponseWriter, r adminclienttest.Request) {
			duoproto.WriteError(w, duoproto.BadParam("username: already exists"))
		},
	})
	_, _, err := runFake(t, fake, "user", "add", "alice")
	if want := "create user: Invalid request parameters: username: already exists (40002)"; err == nil || err.Error() != want || exitCode(err) != 1 {
		t.Errorf("user add error = %v, want %q and exit 1", err, want)
	}
}

func TestAdminBypassAndIntegrationRendering(t *testing.T) {
	fake := userFake(t, map[string]adminclienttest.Handler{
		"POST /admin/v1/users/DUALICE0000000000001/bypass_codes": func(w http.ResponseWriter, r adminclienttest.Request) {
			if r.Params.Get("count") != "2" || r.Params.Get("reuse_count") != "0" || r.Params.Get("preserve_existing") != "true" {
				duoproto.WriteError(w, duoproto.BadParam("params "+r.Params.Encode()))
				return
			}
			duoproto.WriteOK(w, []string{"012345678", "987654321"})
		},
		"GET /admin/v1/bypass_codes": func(w http.ResponseWriter, r adminclienttest.Request) {
			duoproto.WriteOKMeta(w, []any{
				map[string]any{"bypass_code_id": "DBA", "admin_email": "", "created": 1700000000, "expiration": nil, "reuse_count": nil, "user": map[string]any{"username": "alice"}},
				map[string]any{"bypass_code_id": "DBB", "admin_email": "o@x", "created": 1700000000, "expiration": 1700003600, "reuse_count": 1, "user": map[string]any{"username": "alice"}},
			}, map[string]any{"total_objects": 2})
		},
		"GET /admin/v1/integrations/DIAPP": func(w http.ResponseWriter, r adminclienttest.Request) {
			duoproto.WriteOK(w, map[string]any{"integration_key": "DIAPP", "secret_key": "sekrit-sekrit", "name": "app", "type": "adminapi",
				"adminapi_read_log": "1", "adminapi_info": true, "adminapi_admins": "0"})
		},
	})
	out, errOut, err := runFake(t, fake, "bypass", "create", "alice", "--count", "2", "--reuse-count", "0", "--preserve-existing")
	if err != nil || out != "012345678\n987654321\n" || !strings.Contains(errOut, "shown only now") {
		t.Errorf("bypass create = %q, %q, %v", out, errOut, err)
	}
	out, _, err = runFake(t, fake, "bypass", "list")
	want := "BYPASS CODE ID  USER   USES LEFT  EXPIRES               CREATED               CREATED BY\n" +
		"DBA             alice  unlimited  never                 2023-11-14 22:13:20Z  -\n" +
		"DBB             alice  1          2023-11-14 23:13:20Z  2023-11-14 22:13:20Z  o@x\n"
	if err != nil || out != want {
		t.Errorf("bypass list =\n%s%v\nwant\n%s", out, err, want)
	}

	for _, args := range [][]string{{"integration", "show", "DIAPP"}, {"integration", "show", "DIAPP", "--json"}} {
		out, _, err = runFake(t, fake, args...)
		if err != nil || strings.Contains(out, "sekrit") {
			t.Errorf("%q = %q, %v; want no secret key", args, out, err)
		}
	}
	out, _, _ = runFake(t, fake, "integration", "show", "DIAPP")
	if !strings.Contains(out, "Permissions:      info, read_log\n") {
		t.Errorf("integration show = %q, want the permissions", out)
	}
	out, _, err = runFake(t, fake, "integration", "show", "DIAPP", "--show-secret")
	if err != nil || !strings.Contains(out, "sekrit-sekrit") {
		t.Errorf("integration show --show-secret = %q, %v", out, err)
	}
}

func TestAdminLogsRendering(t *testing.T) {
	fake := userFake(t, map[string]adminclienttest.Handler{
		"GET /admin/v2/logs/authentication": func(w http.ResponseWriter, r adminclienttest.Request) {
			if r.Params.Get("users") != "DUALICE0000000000001" || r.Params.Get("results") != "success" || len(r.Params.Get("mintime")) != 13 {
				duoproto.WriteError(w, duoproto.BadParam("params "+r.Params.Encode()))
				return
			}
			duoproto.WriteOK(w, map[string]any{"authlogs": []any{map[string]any{
				"txid": "tx1", "timestamp": 1700000000, "factor": "passcode", "result": "success", "reason": "valid_passcode",
				"user": map[string]any{"name": "alice"}, "application": map[string]any{"name": "ssh"}, "access_device": map[string]any{"ip": "192.0.2.1"}}},
				"metadata": map[string]any{"total_objects": 1}})
		},
		"GET /admin/v1/logs/administrator": func(w http.ResponseWriter, r adminclienttest.Request) {
			duoproto.WriteOK(w, []any{map[string]any{"timestamp": 1700000000, "username": "owner@localhost", "action": "user_create", "object": "alice", "description": `{"status":"active"}`}})
		},
	})
	out, _, err := runFake(t, fake, "logs", "auth", "--since", "1h", "--user", "alice", "--result", "SUCCESS")
	want := "TIME                  USER   APPLICATION  FACTOR    RESULT   REASON          IP         TXID\n" +
		"2023-11-14 22:13:20Z  alice  ssh          passcode  success  valid_passcode  192.0.2.1  tx1\n"
	if err != nil || out != want {
		t.Errorf("logs auth =\n%s%v\nwant\n%s", out, err, want)
	}
	out, _, err = runFake(t, fake, "logs", "admin", "--mintime", "1600000000")
	if err != nil || !strings.Contains(out, `owner@localhost  user_create  alice   {"status":"active"}`) {
		t.Errorf("logs admin = %q, %v", out, err)
	}
	_, _, err = runFake(t, fake, "logs", "auth", "--user", "nobody")
	if err == nil || !strings.Contains(err.Error(), `user "nobody" not found`) {
		t.Errorf("logs auth --user nobody error = %v", err)
	}
}

func TestProgressNonTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 25, false)
	for range 25 {
		p.step()
	}
	p.done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || lines[0] != "3/25 tokens (12%)" || lines[9] != "25/25 tokens (100%)" {
		t.Errorf("progress = %q, want ten lines from 3/25 (12%%) to 25/25 (100%%)", lines)
	}
	b.Reset()
	p = newProgress(&b, 4, true)
	for range 4 {
		p.step()
	}
	p.done()
	if !strings.Contains(b.String(), "\r[##############################] 4/4\n") {
		t.Errorf("terminal progress = %q", b.String())
	}
}

func TestTableRendering(t *testing.T) {
	var b bytes.Buffer
	tb := newTable(&b, "A", "LONGER")
	tb.row("x\ty", "")
	tb.row("long value", "z")
	tb.flush()
	want := "A           LONGER\nx y         -\nlong value  z\n"
	if b.String() != want {
		t.Errorf("table =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestTokenFormat(t *testing.T) {
	tests := []struct {
		format, typ, head string
		want              string
		wantDigits        int
		wantUsage         bool
	}{
		{"auto", "", "\xef\xbb\xbf  <?xml version", "pskc", 0, false},
		{"auto", "h8", "TOK,00", "hotp-csv", 8, false},
		{"auto", "t6", "TOK,00", "totp-csv", 6, false},
		{"csv", "yk", "", "yubikey-csv", 0, false},
		{"auto", "", "TOK,00", "", 0, true},
		{"pskc", "h6", "", "", 0, true},
		{"csv", "x9", "", "", 0, true},
		{"hotp-csv", "", "", "hotp-csv", 0, false},
	}
	for _, tt := range tests {
		f, opts, err := tokenFormat(tt.format, tt.typ, []byte(tt.head))
		var u usageError
		if tt.wantUsage != errors.As(err, &u) || string(f) != tt.want || opts.Digits != tt.wantDigits {
			t.Errorf("tokenFormat(%q, %q, %q) = %q, %d, %v; want %q, %d, usage error %v",
				tt.format, tt.typ, tt.head, f, opts.Digits, err, tt.want, tt.wantDigits, tt.wantUsage)
		}
	}
}
