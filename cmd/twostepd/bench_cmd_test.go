package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// runBenchCmd runs twostepd with args and no environment, returning stdout,
// stderr and the error.
func runBenchCmd(t *testing.T, getenv func(string) string, args ...string) (string, string, error) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// benchRow matches one phase's row of the report: phase, requests,
// errors.
var benchRow = regexp.MustCompile(`(?m)^\s*(check|passcode|preauth)\s+(\d+)\s+(\d+)\s`)

// checkBenchReport checks that every phase in want ran with more than
// zero requests and no errors.
func checkBenchReport(t *testing.T, out string, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, m := range benchRow.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		errs, _ := strconv.Atoi(m[3])
		if n == 0 || errs != 0 {
			t.Errorf("phase %s: %d requests, %d errors; want some and none", m[1], n, errs)
		}
		got[m[1]] = true
	}
	for _, p := range want {
		if !got[p] {
			t.Errorf("no report of phase %s in:\n%s", p, out)
		}
	}
}

// TestBenchCommand: `twostepd bench` against a server started by run() on
// port 0: every phase, bounded by requests, and by duration at a fixed
// rate; every goroutine it started is gone when it returns.
func TestBenchCommand(t *testing.T) {
	in := startServe(t, nil)
	// bench leaves nothing running: its clients' connections closed, its
	// samplers stopped (the server's own goroutines are the baseline).
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out, stderr, err := runBenchCmd(t, nil, "bench", "--data", in.data, "--clients", "4", "--requests", "64")
	if err != nil {
		t.Fatalf("bench: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	t.Logf("bench output:\n%s", out)
	checkBenchReport(t, out, "check", "passcode", "preauth")
	if !strings.Contains(out, "vs check") || !strings.Contains(out, "load average") {
		t.Errorf("the report lacks the ratio or the load average:\n%s", out)
	}
	if !strings.Contains(out, "server process") {
		t.Errorf("bench did not find the local server's process (stderr %q)", stderr)
	}

	// Open loop for a fixed time: 100 requests a second over 200 ms.
	out, stderr, err = runBenchCmd(t, nil, "bench", "--data", in.data, "--clients", "2", "--phases", "check,preauth",
		"--duration", "200ms", "--rate", "100", "--users", "4")
	if err != nil {
		t.Fatalf("bench --rate: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	checkBenchReport(t, out, "check", "preauth")
}

// TestBenchCommandFlags: bad flags are usage errors (exit status 2) that
// say what is wrong, and nothing is sent.
func TestBenchCommandFlags(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds.json")
	remote := filepath.Join(dir, "remote.json")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(creds, []byte(`{"api_host":"localhost:1","auth_api":{"ikey":"DIXXXXXXXXXXXXXXXXXX","skey":"s"}}`), 0o600))
	must(os.WriteFile(remote, []byte(`{"api_host":"twostep.example.com:443","auth_api":{"ikey":"DIXXXXXXXXXXXXXXXXXX","skey":"s"}}`), 0o600))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--clients", "0"}, "--clients 0"},
		{[]string{"--phases", "check,login"}, `unknown phase "login"`},
		{[]string{"--phases", "check,check"}, "given twice"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--requests=-1"}, "--requests -1"},
		{[]string{"--rate", "-5"}, "--rate"},
		{[]string{"--pid", "-1"}, "--pid"},
		{[]string{"--credentials", remote}, "not a loopback address"},
		{[]string{"--api-host", "192.0.2.7:8443"}, "not a loopback address"},
		{[]string{"--clients", "many"}, "--clients"},
	} {
		args := append([]string{"bench", "--credentials", creds}, c.args...)
		_, _, err := runBenchCmd(t, nil, args...)
		var u usageError
		if !errors.As(err, &u) || exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bench %v = %v; want a usage error (exit 2) mentioning %q", c.args, err, c.want)
		}
	}
	// A missing credentials file is an error, though not a usage one.
	if _, _, err := runBenchCmd(t, nil, "bench", "--credentials", filepath.Join(dir, "none.json")); err == nil || exitCode(err) != 1 {
		t.Errorf("bench with a missing credentials file = %v, want exit 1", err)
	}
}

// TestGenUsersCommand: `twostepd gen-users` writes users on every backend
// that a server then serves (preauths through the Auth API, via bench
// --generated), and a second run resumes (skips what exists).
func TestGenUsersCommand(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			data := t.TempDir()
			args := []string{"--data", data}
			if backend == "postgres" {
				args = append(args, "--database", sqltest.FreshDatabaseDSN(t))
			}
			out, stderr, err := runBenchCmd(t, nil, append([]string{"gen-users", "--users", "30", "--batch", "8"}, args...)...)
			if err != nil {
				t.Fatalf("gen-users: %v\n%s\n%s", err, out, stderr)
			}
			if !strings.Contains(out, "30/30 users (30 created, 0 existed)") {
				t.Errorf("gen-users output:\n%s", out)
			}
			out, _, err = runBenchCmd(t, nil, append([]string{"gen-users", "--users", "40", "--batch", "8"}, args...)...)
			if err != nil || !strings.Contains(out, "40/40 users (10 created, 30 existed)") {
				t.Errorf("gen-users again = %v, output:\n%s", err, out)
			}
			startServe(t, nil, args...)
			out, stderr, err = runBenchCmd(t, nil, "bench", "--data", data, "--clients", "2", "--requests", "40",
				"--phases", "preauth", "--generated", "40")
			if err != nil {
				t.Fatalf("bench --generated: %v\n%s\n%s", err, out, stderr)
			}
			checkBenchReport(t, out, "preauth")
		})
	}
	for _, bad := range [][]string{{"--users", "0"}, {"--users", "5", "--devices-per-user", "11"}, {"--users", "5", "--batch", "0"}, {"--users", "5", "--prefix", ""}} {
		_, _, err := runBenchCmd(t, nil, append([]string{"gen-users", "--data", t.TempDir()}, bad...)...)
		if exitCode(err) != 2 {
			t.Errorf("gen-users %v = %v, want a usage error", bad, err)
		}
	}
}
