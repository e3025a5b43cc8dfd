package authflow_test

import (
	"flag"
	"testing"
)

// TestBenchmarksShort runs each of the package's benchmarks once per
// sub-benchmark, so that an ordinary `go test` (CI) proves they still run.
// It checks nothing about speed.
func TestBenchmarksShort(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	f := flag.Lookup("test.benchtime")
	old := f.Value.String()
	if err := f.Value.Set("1x"); err != nil {
		t.Fatal(err)
	}
	defer f.Value.Set(old)
	if r := testing.Benchmark(BenchmarkPasscodeAuth); r.N == 0 {
		t.Error("BenchmarkPasscodeAuth failed (see its log above)")
	}
	if r := testing.Benchmark(BenchmarkBypassCodes); r.N == 0 {
		t.Error("BenchmarkBypassCodes failed (see its log above)")
	}
	if r := testing.Benchmark(BenchmarkPasscodeWhileCarrierHangs); r.N == 0 {
		t.Error("BenchmarkPasscodeWhileCarrierHangs failed (see its log above)")
	}
	if r := testing.Benchmark(BenchmarkPasswordUnknownVsWrong); r.N == 0 {
		t.Error("BenchmarkPasswordUnknownVsWrong failed (see its log above)")
	}
	if r := testing.Benchmark(BenchmarkPasswordLDAPUnknownVsWrong); r.N == 0 {
		t.Error("BenchmarkPasswordLDAPUnknownVsWrong failed (see its log above)")
	}
}
