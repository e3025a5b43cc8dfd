package duoproto

import (
	"testing"

	"github.com/twostep-auth/twostep/internal/benchtest"
)

// TestBenchmarksShort runs BenchmarkVerifyBadSignature once per sub-benchmark, so that an
// ordinary `go test` (CI) proves it still runs. It checks nothing about
// speed.
func TestBenchmarksShort(t *testing.T) {
	benchtest.RunShort(t, "1x", BenchmarkVerifyBadSignature)
}
