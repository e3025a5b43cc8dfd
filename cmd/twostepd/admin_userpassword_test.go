package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminUserSetPassword: twostepd admin user set-password against a
// real serve, from a file and from stdin; the policy's refusal reaches the
// operator; --clear removes it.
func TestAdminUserSetPassword(t *testing.T) {
	in := startServe(t, nil)
	a := adminE2E{t: t, in: in}
	a.ok("user", "add", "alice", "--email", "alice@example.com")

	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := a.ok("user", "set-password", "alice", "--password-file", file); !strings.Contains(out, "set the twostep password of alice") {
		t.Errorf("set-password output = %q", out)
	}
	stdin := func(line string, args ...string) (string, error) {
		var o, e bytes.Buffer
		full := append([]string{"admin", "--data", in.data, "user", "set-password"}, args...)
		err := run(context.Background(), full, func(string) string { return "" }, strings.NewReader(line), &o, &e)
		return o.String() + e.String(), err
	}
	if out, err := stdin("another long password\n", "alice", "--password-file", "-"); err != nil {
		t.Errorf("set-password from stdin: %v\n%s", err, out)
	}
	if _, err := stdin("short\n", "alice", "--password-file", "-"); err == nil || !strings.Contains(err.Error(), "at least 12 characters") {
		t.Errorf("set-password(short) = %v, want the policy's reason", err)
	}
	if _, err := stdin("alice-in-wonderland!\n", "alice", "--password-file", "-"); err == nil || !strings.Contains(err.Error(), "must not contain your username") {
		t.Errorf("set-password(contains the username) = %v, want the policy's reason", err)
	}
	a.fails(1, "not found", "user", "set-password", "nobody", "--password-file", file)
	a.ok("user", "set-password", "alice", "--password-file", file, "--clear")
	// (Clearing twice in one second would be the same signed request,
	// refused as a replay; setting again is a different one.)
	if out, err := stdin("a third long password\n", "alice", "--password-file", "-"); err != nil {
		t.Errorf("set-password after --clear: %v\n%s", err, out)
	}
}

// TestAdminIntegrationAddOIDC: an OIDC client from the CLI; its secret
// shown once, none for a public client.
func TestAdminIntegrationAddOIDC(t *testing.T) {
	in := startServe(t, nil)
	a := adminE2E{t: t, in: in}
	conf := jsonOf[map[string]any](t, a.ok("integration", "add", "Grafana", "--type", "oidc", "--json",
		"--redirect-uri", "https://grafana.example.com/login/generic_oauth", "--post-logout-redirect-uri", "https://grafana.example.com/login"))
	if conf["type"] != "oidc" || len(fmt.Sprint(conf["secret_key"])) != 40 || conf["public_client"] != float64(0) {
		t.Errorf("oidc client = %v", conf)
	}
	pub := jsonOf[map[string]any](t, a.ok("integration", "add", "CLI tool", "--type", "oidc", "--public-client", "--json",
		"--redirect-uri", "http://127.0.0.1:8400/callback"))
	if _, ok := pub["secret_key"]; ok || pub["public_client"] != float64(1) {
		t.Errorf("public oidc client = %v, want no secret", pub)
	}
	a.fails(2, "needs at least one --redirect-uri", "integration", "add", "X", "--type", "oidc")
	a.fails(2, "apply only to --type oidc", "integration", "add", "X", "--type", "authapi", "--public-client")
}
