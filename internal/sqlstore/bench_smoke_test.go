package sqlstore_test

import (
	"testing"

	"github.com/twostep-auth/twostep/internal/benchtest"
)

// TestBenchmarksShort runs the store's benchmarks a few iterations each
// (PostgreSQL sub-benchmarks skip without TWOSTEP_TEST_POSTGRES), so that
// an ordinary `go test` (CI) proves they still run. It checks nothing
// about speed.
func TestBenchmarksShort(t *testing.T) {
	benchtest.RunShort(t, "20x", BenchmarkApplyAuth, BenchmarkLoginRead, BenchmarkHitRateLimit, BenchmarkGetIntegration)
	defer func(n int) { revokedOthers = n }(revokedOthers)
	revokedOthers = 50
	benchtest.RunShort(t, "5x", BenchmarkLoginAccountRevoked)
}
