package sqlstore_test

import (
	"flag"
	"testing"
)

// runShort runs benchmark fn for n iterations of each of its
// sub-benchmarks, so that an ordinary `go test` (CI) proves the benchmark
// still runs. It checks nothing about speed.
func runShort(t *testing.T, n string, fn func(*testing.B)) {
	t.Helper()
	f := flag.Lookup("test.benchtime")
	old := f.Value.String()
	if err := f.Value.Set(n); err != nil {
		t.Fatal(err)
	}
	defer f.Value.Set(old)
	if r := testing.Benchmark(fn); r.N == 0 {
		t.Error("the benchmark failed (see its log above)")
	}
}

// TestBenchmarksShort runs the store's benchmarks a few iterations each
// (PostgreSQL sub-benchmarks skip without TWOSTEP_TEST_POSTGRES).
func TestBenchmarksShort(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runShort(t, "20x", BenchmarkApplyAuth)
	runShort(t, "20x", BenchmarkLoginRead)
	runShort(t, "20x", BenchmarkHitRateLimit)
	runShort(t, "20x", BenchmarkGetIntegration)
	defer func(n int) { revokedOthers = n }(revokedOthers)
	revokedOthers = 50
	runShort(t, "5x", BenchmarkLoginAccountRevoked)
}
