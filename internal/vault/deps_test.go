package vault_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPureOfNetwork enforces doc.go: the vault never reaches the network
// or the rest of twostep beyond internal/otp.
func TestPureOfNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/twostep-auth/twostep/internal/vault").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "net/http", strings.HasPrefix(dep, "net/http/"), dep == "net", dep == "crypto/tls":
			t.Errorf("vault depends on %s", dep)
		case strings.HasPrefix(dep, "github.com/twostep-auth/twostep/") &&
			dep != "github.com/twostep-auth/twostep/internal/otp" && dep != "github.com/twostep-auth/twostep/internal/vault":
			t.Errorf("vault depends on %s", dep)
		}
	}
}
