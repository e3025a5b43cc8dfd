package deviceclient_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoServerSide enforces doc.go: of twostep, the device client
// knows only the wire protocol.
func TestImportsNoServerSide(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/twostep-auth/twostep/internal/deviceclient").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		rel, ours := strings.CutPrefix(dep, "github.com/twostep-auth/twostep/")
		if ours && rel != "internal/duoproto" && rel != "internal/deviceclient" {
			t.Errorf("deviceclient depends on %s", dep)
		}
	}
}
