package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckFindsViolations(t *testing.T) {
	m := Module + "/"
	tests := []struct {
		name string
		give []Package
		want int
	}{
		{"clean", []Package{
			{Path: "internal/mfa", Deps: []string{"context", "time"}},
			{Path: "internal/admin", Deps: []string{m + "internal/mfa", "golang.org/x/crypto/argon2"}},
			{Path: "internal/sqlstore", Deps: []string{m + "internal/mfa", "database/sql", "modernc.org/sqlite"}},
			{Path: "internal/authapi", Deps: []string{m + "internal/api", m + "internal/duoproto", "net/http"}},
		}, 0},
		{"mfa imports a module", []Package{{Path: "internal/mfa", Deps: []string{"github.com/google/uuid"}}}, 1},
		{"mfa imports ours", []Package{{Path: "internal/mfa", Deps: []string{m + "internal/seal"}}}, 1},
		{"service imports sqlstore and http", []Package{{Path: "internal/authflow", Deps: []string{m + "internal/sqlstore", "net/http", "net/http/httptrace"}}}, 3},
		{"service imports a vendor sdk", []Package{{Path: "internal/admin", Deps: []string{"github.com/twilio/twilio-go"}}}, 1},
		{"adapter imports adapter", []Package{{Path: "internal/notify/twilio", Deps: []string{m + "internal/sqlstore"}}}, 1},
		{"edge imports sqlstore", []Package{{Path: "internal/adminapi", Deps: []string{m + "internal/sqlstore", m + "internal/authapi"}}}, 2},
		{"duoproto imports mfa", []Package{{Path: "internal/duoproto", Deps: []string{m + "internal/mfa"}}}, 1},
		{"own subpackage is fine", []Package{{Path: "internal/notify", Deps: []string{m + "internal/notify/outbox"}}}, 0},
		{"own parent is fine", []Package{{Path: "internal/sqlstore/sqltest", Deps: []string{m + "internal/sqlstore", m + "internal/seal"}}}, 0},
		{"sibling adapters are not", []Package{{Path: "internal/notify/twilio", Deps: []string{m + "internal/notify/outbox"}}}, 1},
		{"app imports the server's domain", []Package{{Path: "cmd/twostep", Deps: []string{m + "internal/mfa", m + "internal/vault", m + "internal/otp"}}}, 1},
		{"vault imports the store", []Package{{Path: "internal/vault", Deps: []string{m + "internal/sqlstore"}}}, 1},
		{"portal on the web foundation and services", []Package{{Path: "internal/web/portal", Deps: []string{m + "internal/web", m + "internal/admin", m + "internal/authflow"}}}, 0},
		{"portal imports another page package", []Package{{Path: "internal/web/portal", Deps: []string{m + "internal/web/prompt", m + "internal/sqlstore"}}}, 2},
		{"twostepd is not the app", []Package{{Path: "cmd/twostepd", Deps: []string{m + "internal/sqlstore"}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(tt.give, Rules())
			if len(got) != tt.want {
				t.Errorf("Check() = %q, want %d violations", got, tt.want)
			}
		})
	}
}

// TestDependencyRules runs the rules over the real module.
func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Deps", Module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []Package
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, _ := ours(p.ImportPath)
		pkgs = append(pkgs, Package{Path: rel, Deps: p.Deps})
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the module listing is broken", len(pkgs))
	}
	if diff := cmp.Diff([]string(nil), Check(pkgs, Rules())); diff != "" {
		t.Errorf("dependency rules broken (-want +got):\n%s", diff)
	}
}
