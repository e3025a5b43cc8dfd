package benchtest

import (
	"flag"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// RunShort runs each benchmark with -test.benchtime set to benchtime
// ("1x", "20x": iterations of each sub-benchmark) and reports an error
// for each that failed or skipped. It skips under -short.
func RunShort(t *testing.T, benchtime string, benches ...func(*testing.B)) {
	t.Helper()
	if testing.Short() {
		t.Skip("short")
	}
	f := flag.Lookup("test.benchtime")
	if f == nil {
		t.Fatal("no test.benchtime flag: not a test binary")
	}
	old := f.Value.String()
	if err := f.Value.Set(benchtime); err != nil {
		t.Fatal(err)
	}
	defer f.Value.Set(old)
	for _, fn := range benches {
		if r := testing.Benchmark(fn); r.N == 0 {
			t.Errorf("%s failed or skipped (see its log above)", name(fn))
		}
	}
}

// name is fn's function name without its package path.
func name(fn func(*testing.B)) string {
	n := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return n[strings.LastIndex(n, ".")+1:]
}
