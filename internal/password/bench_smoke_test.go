package password

import (
	"flag"
	"testing"
)

// TestBenchmarksShort runs BenchmarkHash once per sub-benchmark, so that an
// ordinary `go test` (CI) proves it still runs. It checks nothing about
// speed.
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
	if r := testing.Benchmark(BenchmarkHash); r.N == 0 {
		t.Error("BenchmarkHash failed (see its log above)")
	}
}
