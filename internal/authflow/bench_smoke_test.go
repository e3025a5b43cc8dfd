package authflow_test

import (
	"testing"

	"github.com/twostep-auth/twostep/internal/benchtest"
)

// TestBenchmarksShort runs each of the package's benchmarks once per
// sub-benchmark, so that an ordinary `go test` (CI) proves they still run.
// It checks nothing about speed.
func TestBenchmarksShort(t *testing.T) {
	benchtest.RunShort(t, "1x", BenchmarkPasscodeAuth, BenchmarkBypassCodes, BenchmarkPasscodeWhileCarrierHangs,
		BenchmarkPasswordUnknownVsWrong, BenchmarkPasswordLDAPUnknownVsWrong)
}
