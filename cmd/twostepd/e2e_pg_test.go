package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestServePostgres(t *testing.T) {
	dsn := sqltest.FreshDatabaseDSN(t)
	in := startServe(t, nil, "--database", dsn)
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	res, err := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check()
	if err != nil || res.Stat != "OK" {
		t.Fatalf("Check() on PostgreSQL = %+v, %v; want OK", res, err)
	}
	if strings.Contains(in.logs.String(), dsn) {
		t.Error("the log contains the database DSN")
	}
	in.stop(t)

	// A second start on the same database and data directory reuses everything.
	again := startServe(t, nil, "--database", dsn, "--data", in.data)
	host := strings.Replace(again.addr, "127.0.0.1", "localhost", 1)
	if res, err := duoClient(host, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check(); err != nil || res.Stat != "OK" {
		t.Errorf("Check() after restart = %+v, %v", res, err)
	}
}

// buildBinary compiles twostepd once for the tests that need real processes.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "twostepd-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "twostepd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// process is a twostepd serve running as its own OS process.
type process struct {
	cmd  *exec.Cmd
	logs *logSink
	addr string
}

func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("go build: %v", err)
	}
	p := &process{logs: newLogSink()}
	p.cmd = exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("twostepd process exited with %v; logs:\n%s", err, p.logs)
			}
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("twostepd process did not stop on SIGINT")
		}
	})
	return p
}

func (p *process) wait(t *testing.T) {
	t.Helper()
	select {
	case p.addr = <-p.logs.addrs:
	case <-time.After(60 * time.Second):
		t.Fatalf("twostepd process did not listen within 60s; logs:\n%s", p.logs)
	}
}

// TestTwoProcessesOnePostgres starts two serve processes on one fresh
// database at the same moment: migrations and bootstrap must not race, and
// both must serve the same credentials.
func TestTwoProcessesOnePostgres(t *testing.T) {
	dsn := sqltest.FreshDatabaseDSN(t)
	key, err := seal.GenerateKey(randReader(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "master.key")
	os.WriteFile(keyFile, []byte(key.Encode()), 0o600)
	env := []string{"TWOSTEP_DATABASE=" + dsn, "TWOSTEP_MASTER_KEY_FILE=" + keyFile}
	dataA, dataB := t.TempDir(), t.TempDir()
	a := startProcess(t, env, "--data", dataA)
	b := startProcess(t, env, "--data", dataB)
	a.wait(t)
	b.wait(t)

	_, errA := os.Stat(filepath.Join(dataA, "initial-credentials.json"))
	_, errB := os.Stat(filepath.Join(dataB, "initial-credentials.json"))
	if (errA == nil) == (errB == nil) {
		t.Fatalf("exactly one process must bootstrap; credentials in A: %v, in B: %v\nA:\n%s\nB:\n%s", errA == nil, errB == nil, a.logs, b.logs)
	}
	winner := dataA
	if errA != nil {
		winner = dataB
	}
	creds, _ := readCredentials(t, winner)
	// Each node has its own local CA; trust both.
	pool := trustCA(t, filepath.Join(dataA, "ca.pem"))
	caB, _ := os.ReadFile(filepath.Join(dataB, "ca.pem"))
	pool.AppendCertsFromPEM(caB)
	for _, p := range []*process{a, b} {
		host := strings.Replace(p.addr, "127.0.0.1", "localhost", 1)
		res, err := duoClient(host, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check()
		if err != nil || res.Stat != "OK" {
			t.Errorf("Check() on node %s = %+v, %v; want OK", p.addr, res, err)
		}
	}
	for _, p := range []*process{a, b} {
		if strings.Contains(p.logs.String(), `"level":"ERROR"`) {
			t.Errorf("node logged an error:\n%s", p.logs)
		}
	}
}

func TestServeRefusesNewerSchema(t *testing.T) {
	data := t.TempDir()
	if _, _, err := runCmd(t, nil, "migrate", "--data", data); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, "twostep.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, _, err = runCmd(t, nil, "serve", "--data", data, "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "newer than this twostepd") {
		t.Errorf("serve on a newer schema = %v, want a refusal naming the versions", err)
	}
	_, _, err = runCmd(t, nil, "migrate", "--data", data)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("migrate on a newer schema = %v, want a refusal", err)
	}
}

func TestRekey(t *testing.T) {
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)
	in.stop(t)
	oldKey, _ := os.ReadFile(filepath.Join(in.data, "master.key"))

	out, _, err := runCmd(t, nil, "rekey", "--data", in.data)
	if err != nil {
		t.Fatalf("rekey: %v", err)
	}
	if !strings.Contains(out, "under key k2") {
		t.Errorf("rekey output = %q, want the new key id k2", out)
	}
	newKey, _ := os.ReadFile(filepath.Join(in.data, "master.key"))
	if bytes.Equal(oldKey, newKey) || !strings.HasPrefix(string(newKey), "k2:") {
		t.Errorf("master.key was not replaced by a k2 key")
	}
	if _, err := os.Stat(filepath.Join(in.data, "master.key.next")); !os.IsNotExist(err) {
		t.Errorf("master.key.next left behind: %v", err)
	}

	// The server starts with the new key alone and the old credentials work.
	again := startServe(t, nil, "--data", in.data)
	host := strings.Replace(again.addr, "127.0.0.1", "localhost", 1)
	res, err := duoClient(host, creds.AuthAPI.IKey, creds.AuthAPI.SKey, trustCA(t, creds.CAFile)).Check()
	if err != nil || res.Stat != "OK" {
		t.Errorf("Check() after rekey = %+v, %v; want OK", res, err)
	}
	again.stop(t)

	// With the old key configured instead, the sealed secrets cannot be read,
	// and the server says so instead of serving garbage.
	env := map[string]string{"TWOSTEP_MASTER_KEY": strings.TrimSpace(string(oldKey))}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	err = run(ctx, []string{"serve", "--data", in.data, "--listen", "127.0.0.1:0"}, func(k string) string { return env[k] }, strings.NewReader(""), &stderr, &stderr)
	if err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("serve with the old master key = %v, want an error about the key", err)
	}

	// A configured key needs --new-key-file.
	_, _, err = runCmd(t, func(k string) string { return env[k] }, "rekey", "--data", in.data)
	if err == nil || !strings.Contains(err.Error(), "--new-key-file") {
		t.Errorf("rekey with a configured key and no --new-key-file = %v", err)
	}
}
