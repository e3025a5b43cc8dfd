package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminUserIdentity: twostepd admin user identity and import-identity
// against a real serve: answers from files and stdin, never printed; the
// policy's refusal reaches the operator; the import reports every row and
// exits non-zero when one was refused.
func TestAdminUserIdentity(t *testing.T) {
	in := startServe(t, nil)
	a := adminE2E{t: t, in: in}
	a.ok("user", "add", "alice")
	a.ok("user", "add", "bob")
	if out := a.ok("user", "identity", "alice"); !strings.Contains(out, "PIN:                      not set") {
		t.Errorf("identity (none) = %q", out)
	}
	stdin := func(line string, args ...string) (string, error) {
		var o, e bytes.Buffer
		full := append([]string{"admin", "--data", in.data, "user", "identity"}, args...)
		err := run(context.Background(), full, func(string) string { return "" }, strings.NewReader(line), &o, &e)
		return o.String() + e.String(), err
	}
	if out, err := stdin("1984-03-07,0042\n", "alice", "--dob-id-file", "-"); err != nil || !strings.Contains(out, "date of birth + ID digits: set") ||
		strings.Contains(out, "0042") {
		t.Errorf("identity --dob-id-file - = %q, %v", out, err)
	}
	if _, err := stdin("123456\n", "alice", "--pin-file", "-"); err == nil || !strings.Contains(err.Error(), "run of digits") {
		t.Errorf("weak PIN = %v, want the policy's reason", err)
	}
	if _, err := stdin("1984-03-07\n", "alice", "--dob-id-file", "-"); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD,NNNN") {
		t.Errorf("dob without digits = %v", err)
	}
	if out := a.ok("user", "identity", "alice", "--clear", "dob-id"); !strings.Contains(out, "date of birth + ID digits: not set") {
		t.Errorf("--clear dob-id = %q", out)
	}
	csv := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(csv, []byte("username,dob,id_last4\nalice,1984-03-07,0042\nbob,1990-02-30,1111\nnobody,1990-01-01,1111\n"), 0o600)
	out, _, err := a.run("user", "import-identity", csv)
	if err == nil || !strings.Contains(out, "line 2\talice\tset") || !strings.Contains(out, "line 3\tbob\terror") ||
		!strings.Contains(out, "line 4\tnobody\terror\tno such user") || !strings.Contains(out, "1 set, 2 refused") {
		t.Errorf("import-identity = %q, %v; want a report and an error", out, err)
	}
	if out := a.ok("user", "identity", "alice"); !strings.Contains(out, "date of birth + ID digits: set") {
		t.Errorf("after the import = %q", out)
	}
}
