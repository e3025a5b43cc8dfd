// Package apitest holds test helpers shared by the JSON API packages'
// tests (Auth API, Admin API). It imports only the standard library.
package apitest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Mask replaces what Pattern matches in a pretty-printed response body
// with Repl (regexp.ReplaceAll syntax: ${1} keeps a member's name).
type Mask struct {
	Pattern *regexp.Regexp
	Repl    string
}

// Golden compares the shape of the JSON body with testdata/name.json:
// the body is re-indented and every mask applied, in order, so that ids,
// times and secrets that differ on every run become placeholders. With
// update it rewrites the file instead.
func Golden(t testing.TB, name string, body []byte, update bool, masks ...Mask) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("golden %s: body %q is not JSON: %v", name, body, err)
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	for _, m := range masks {
		got = m.Pattern.ReplaceAll(got, []byte(m.Repl))
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", name, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s shape changed (run go test -update if intended):\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}
