package main

import (
	"flag"
	"os"
	"testing"

	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestLoadBenchmarksShort runs the HTTP passcode load benchmark (SQLite,
// and PostgreSQL when TWOSTEP_TEST_POSTGRES is set) and the push
// and RADIUS benchmarks once each with a tiny workload, so that an
// ordinary `go test` (CI) proves they still run: a server process, users
// through the Admin API, signed checks, logins, preauths, long polls,
// Access-Requests. It checks nothing about speed.
func TestLoadBenchmarksShort(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Setenv("TWOSTEP_LOAD_AUTHS", "64")
	t.Setenv("TWOSTEP_LOAD_CLIENTS", "4")
	t.Setenv("TWOSTEP_LOAD_USERS", "8")
	f := flag.Lookup("test.benchtime")
	old := f.Value.String()
	if err := f.Value.Set("1x"); err != nil {
		t.Fatal(err)
	}
	defer f.Value.Set(old)
	benches := map[string]func(*testing.B){
		"BenchmarkPasscodeAuthHTTP": BenchmarkPasscodeAuthHTTP,
		"BenchmarkPushLongPolls":    BenchmarkPushLongPolls,
		"BenchmarkRadiusPasscode":   BenchmarkRadiusPasscode,
	}
	if os.Getenv(sqltest.EnvPostgres) != "" {
		benches["BenchmarkPasscodeAuthHTTPPostgres"] = BenchmarkPasscodeAuthHTTPPostgres
		benches["BenchmarkPushLongPollsPostgres"] = BenchmarkPushLongPollsPostgres
	}
	for name, fn := range benches {
		if r := testing.Benchmark(fn); r.N == 0 {
			t.Errorf("%s failed or skipped (see its log above)", name)
		}
	}
}
