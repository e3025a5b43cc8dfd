package main

import (
	"os"
	"testing"

	"github.com/twostep-auth/twostep/internal/benchtest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestLoadBenchmarksShort runs the HTTP passcode load benchmark (SQLite,
// and PostgreSQL when TWOSTEP_TEST_POSTGRES is set) and the push
// and RADIUS benchmarks once each with a tiny workload, so that an
// ordinary `go test` (CI) proves they still run: a server process, users
// through the Admin API, signed checks, logins, preauths, long polls,
// Access-Requests. It checks nothing about speed.
func TestLoadBenchmarksShort(t *testing.T) {
	t.Setenv("TWOSTEP_LOAD_AUTHS", "64")
	t.Setenv("TWOSTEP_LOAD_CLIENTS", "4")
	t.Setenv("TWOSTEP_LOAD_USERS", "8")
	benches := []func(*testing.B){BenchmarkPasscodeAuthHTTP, BenchmarkPushLongPolls, BenchmarkRadiusPasscode}
	if os.Getenv(sqltest.EnvPostgres) != "" {
		benches = append(benches, BenchmarkPasscodeAuthHTTPPostgres, BenchmarkPushLongPollsPostgres)
	}
	benchtest.RunShort(t, "1x", benches...)
}
