package adminapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Ids and times differ on every run: golden files hold placeholders.
var (
	goldenIDs   = regexp.MustCompile(`"D[A-Z][A-Z0-9]{18}"`)
	goldenTimes = regexp.MustCompile(`("(?:created|last_login|timestamp|mintime|maxtime|expiration)": ?)\d+`)
	// Bypass codes (9 random digits) and generated passwords.
	goldenCodes     = regexp.MustCompile(`"\d{9}"`)
	goldenPasswords = regexp.MustCompile(`("password": )"[^"]*"`)
	// ISO times, log record ids and cursors.
	goldenISO     = regexp.MustCompile(`("(?:ts|isotimestamp)": )"[^"]*"`)
	goldenLogIDs  = regexp.MustCompile(`("(?:telephony_id|activity_id)": )"\d+"`)
	goldenOffsets = regexp.MustCompile(`("next_offset": )"\d+,\d+"|("next_offset": \[\s*)"\d+"`)
	// Secrets (an integration's secret key) are random too.
	goldenSecrets = regexp.MustCompile(`("secret_key": )"[^"]*"`)
)

// golden compares a response body's shape with testdata/name.json (ids
// and times replaced by placeholders); -update rewrites the file.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("golden %s: body %q is not JSON: %v", name, body, err)
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	got = goldenIDs.ReplaceAll(got, []byte(`"<id>"`))
	got = goldenTimes.ReplaceAll(got, []byte(`${1}0`))
	got = goldenCodes.ReplaceAll(got, []byte(`"<code>"`))
	got = goldenPasswords.ReplaceAll(got, []byte(`${1}"<password>"`))
	got = goldenSecrets.ReplaceAll(got, []byte(`${1}"<secret>"`))
	got = goldenISO.ReplaceAll(got, []byte(`${1}"<iso time>"`))
	got = goldenLogIDs.ReplaceAll(got, []byte(`${1}"<log id>"`))
	got = goldenOffsets.ReplaceAll(got, []byte(`${1}${2}"<offset>"`))
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
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
