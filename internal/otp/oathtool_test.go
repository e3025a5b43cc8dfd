package otp

import (
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oathtool returns the path of oathtool (OATH Toolkit), an independent
// HOTP/TOTP implementation. It skips the test when absent, and fails under
// CI=true, where .ci/run installs it.
func oathtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("oathtool not found; CI=true requires it (apt-get install oathtool)")
		}
		t.Skip("oathtool not installed (apt-get install oathtool); skipping cross-check")
	}
	return path
}

func runOathtool(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command(path, args...).Output()
	if err != nil {
		// The arguments hold a test seed; report only the mode.
		t.Fatalf("oathtool %s: %v", args[0], err)
	}
	return strings.TrimSpace(string(out))
}

func TestCrossCheckOathtool(t *testing.T) {
	path := oathtool(t)
	const seed = 20240607
	rng := rand.New(rand.NewPCG(seed, seed))
	for i := range 25 {
		secret := make([]byte, 10+rng.IntN(55))
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		hexSecret := hex.EncodeToString(secret)
		digits := []int{6, 7, 8}[rng.IntN(3)]
		counter := rng.Uint64N(1 << 40)
		if i == 0 {
			counter = 0
		}
		// Test seeds only; messages name the case number, not the seed.
		want := runOathtool(t, path, "--hotp", "-c", strconv.FormatUint(counter, 10), "-d", strconv.Itoa(digits), hexSecret)
		if got := HOTP(secret, counter, digits); got != want {
			t.Errorf("case %d (seed %d): HOTP(secret, %d, %d) = %s, want %s (oathtool)", i, seed, counter, digits, got, want)
		}
		unix := rng.Int64N(4_000_000_000)
		step := []int{30, 60}[rng.IntN(2)]
		want = runOathtool(t, path, "--totp", "-N", "@"+strconv.FormatInt(unix, 10), "-s", strconv.Itoa(step), "-d", strconv.Itoa(digits), hexSecret)
		if got := TOTP(secret, time.Unix(unix, 0), step, digits); got != want {
			t.Errorf("case %d (seed %d): TOTP(secret, %d, %d, %d) = %s, want %s (oathtool)", i, seed, unix, step, digits, got, want)
		}
	}
}
