package adminapi_test

import (
	"flag"
	"regexp"
	"testing"

	"github.com/twostep-auth/twostep/internal/api/apitest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Ids and times differ on every run: golden files hold placeholders.
var (
	goldenIDs   = regexp.MustCompile(`"D[A-Z][A-Z0-9]{18}"`)
	goldenTimes = regexp.MustCompile(`("(?:created|last_login|timestamp|mintime|maxtime|expiration|expires)": ?)\d+`)
	// Bypass codes (9 random digits) and generated passwords.
	goldenCodes     = regexp.MustCompile(`"\d{9}"`)
	goldenPasswords = regexp.MustCompile(`("password": )"[^"]*"`)
	// ISO times, log record ids and cursors.
	goldenISO     = regexp.MustCompile(`("(?:ts|isotimestamp)": )"[^"]*"`)
	goldenLogIDs  = regexp.MustCompile(`("(?:telephony_id|activity_id)": )"\d+"`)
	goldenOffsets = regexp.MustCompile(`("next_offset": )"\d+,\d+"|("next_offset": \[\s*)"\d+"`)
	// Secrets (an integration's secret key) are random too.
	goldenSecrets = regexp.MustCompile(`("secret_key": )"[^"]*"`)
	// An administrator activation link's code, link and email text.
	goldenActivation = regexp.MustCompile(`("(?:code|link|message)": )"(?:[^"\\]|\\.)*"`)
)

// golden compares a response body's shape with testdata/name.json (ids
// and times replaced by placeholders); -update rewrites the file.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	apitest.Golden(t, name, body, *update,
		apitest.Mask{Pattern: goldenIDs, Repl: `"<id>"`},
		apitest.Mask{Pattern: goldenTimes, Repl: `${1}0`},
		apitest.Mask{Pattern: goldenCodes, Repl: `"<code>"`},
		apitest.Mask{Pattern: goldenPasswords, Repl: `${1}"<password>"`},
		apitest.Mask{Pattern: goldenSecrets, Repl: `${1}"<secret>"`},
		apitest.Mask{Pattern: goldenActivation, Repl: `${1}"<random>"`},
		apitest.Mask{Pattern: goldenISO, Repl: `${1}"<iso time>"`},
		apitest.Mask{Pattern: goldenLogIDs, Repl: `${1}"<log id>"`},
		apitest.Mask{Pattern: goldenOffsets, Repl: `${1}${2}"<offset>"`})
}
