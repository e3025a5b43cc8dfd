package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// serveFails runs `twostepd serve`, which must refuse to start.
func serveFails(t *testing.T, getenv func(string) string, args ...string) error {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), getenv, strings.NewReader(""), &out, &out)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("serve %q started (%v), want a refusal; output:\n%s", args, err, &out)
	}
	return err
}

func writeKeys(t *testing.T, path string, keys ...seal.Key) {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.Encode() + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestRekeyBesideRunningServe: a rekey next to a running server once
// re-sealed everything under a key the server did not hold (signed
// requests then failed with 500 until a restart). Now the server holds a
// shared lock on its data directory and rekey refuses, changing nothing.
func TestRekeyBesideRunningServe(t *testing.T) {
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	duo := duoClient(creds.APIHost, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool)
	keyBefore, _ := os.ReadFile(filepath.Join(in.data, "master.key"))

	for _, args := range [][]string{{"rekey"}, {"rekey", "--reseal"}, {"rekey", "--retire", "k0"}} {
		_, _, err := runCmd(t, nil, append(args, "--data", in.data)...)
		if err == nil || !strings.Contains(err.Error(), "twostepd serve is running on this data directory") {
			t.Errorf("%q beside a running serve = %v, want a refusal naming the running server", args, err)
		}
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(in.data, "master.key")); !bytes.Equal(keyBefore, keyAfter) {
		t.Error("the refused rekey changed master.key")
	}
	if _, err := os.Stat(filepath.Join(in.data, "master.key.next")); !os.IsNotExist(err) {
		t.Errorf("the refused rekey left master.key.next: %v", err)
	}
	for range 3 {
		if res, err := duo.Check(); err != nil || res.Stat != "OK" {
			t.Fatalf("Check() after a refused rekey = %+v, %v; want OK", res, err)
		}
	}
	in.stop(t)

	// Stopped, rekey works and keeps the old key until it is retired.
	out, _, err := runCmd(t, nil, "rekey", "--data", in.data)
	if err != nil || !strings.Contains(out, "under key k2") || !strings.Contains(out, "--retire k1") {
		t.Fatalf("rekey = %q, %v", out, err)
	}
	oldKey, err := os.ReadFile(filepath.Join(in.data, "master.key.k1"))
	if err != nil || !bytes.Equal(oldKey, keyBefore) {
		t.Fatalf("master.key.k1 = %v; want the previous key kept", err)
	}
	again := startServe(t, nil, "--data", in.data)
	host := strings.Replace(again.addr, "127.0.0.1", "localhost", 1)
	if res, err := duoClient(host, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check(); err != nil || res.Stat != "OK" {
		t.Errorf("Check() after rekey = %+v, %v", res, err)
	}
	again.stop(t)

	if _, _, err := runCmd(t, nil, "rekey", "--data", in.data, "--retire", "k2"); err == nil || !strings.Contains(err.Error(), "current key") {
		t.Errorf("rekey --retire of the current key = %v, want a refusal", err)
	}
	out, _, err = runCmd(t, nil, "rekey", "--data", in.data, "--retire", "k1")
	if err != nil || !strings.Contains(out, "retired key k1") {
		t.Errorf("rekey --retire k1 = %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(in.data, "master.key.k1")); !os.IsNotExist(err) {
		t.Errorf("master.key.k1 still there after --retire: %v", err)
	}
}

// TestRekeyRolling runs the multi-node procedure of docs/operations.md with
// a node serving all along on configured keys (on PostgreSQL too when
// TWOSTEP_TEST_POSTGRES is set): no signed request fails, a value the node
// seals under the old key after the rekey is not lost, and --retire
// refuses while such values remain.
func TestRekeyRolling(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "shared.db") },
		"postgres": func(t *testing.T) string { return sqltest.FreshDatabaseDSN(t) },
	}
	for name, newDSN := range backends {
		t.Run(name, func(t *testing.T) {
			dsn := newDSN(t)
			dir := t.TempDir()
			k1, k2 := sqltest.Key(t, "k1"), seal.Key{}
			nodeKeys, cliKeys := filepath.Join(dir, "node.keys"), filepath.Join(dir, "cli.keys")
			k2File := filepath.Join(dir, "k2.key")
			writeKeys(t, nodeKeys, k1)
			nodeEnv := envMap(map[string]string{"TWOSTEP_DATABASE": dsn, "TWOSTEP_MASTER_KEY_FILE": nodeKeys})
			cliData := t.TempDir() // the operator's machine: another data directory on the same database
			cliEnv := envMap(map[string]string{"TWOSTEP_DATABASE": dsn, "TWOSTEP_MASTER_KEY_FILE": cliKeys})

			node := startServe(t, nodeEnv)
			data := node.data
			creds, _ := readCredentials(t, data)
			pool := trustCA(t, creds.CAFile)
			check := func(in *instance, when string) {
				t.Helper()
				host := strings.Replace(in.addr, "127.0.0.1", "localhost", 1)
				if res, err := duoClient(host, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check(); err != nil || res.Stat != "OK" {
					t.Fatalf("Check() %s = %+v, %v; want OK\nlogs:\n%s", when, res, err, in.logs)
				}
			}
			restart := func(keys ...seal.Key) *instance {
				t.Helper()
				node.stop(t)
				writeKeys(t, nodeKeys, keys...)
				node = startServe(t, nodeEnv, "--data", data)
				return node
			}

			// 1. Make the new key: nothing is re-sealed yet.
			writeKeys(t, cliKeys, k1)
			out, _, err := runCmd(t, cliEnv, "rekey", "--data", cliData, "--new-key-file", k2File)
			if err != nil || !strings.Contains(out, "Nothing is re-sealed yet") {
				t.Fatalf("rekey --new-key-file (absent) = %q, %v", out, err)
			}
			b, _ := os.ReadFile(k2File)
			if k2, err = seal.ParseKey(string(b)); err != nil || k2.ID != "k2" {
				t.Fatalf("new key file: %v, id %q", err, k2.ID)
			}
			check(node, "after making the new key")

			// 2. Every node gets it as an additional key.
			restart(k1, k2)
			check(node, "with k2 as an additional key")

			// 3. Re-seal under k2 while the node runs, still sealing under k1.
			out, _, err = runCmd(t, cliEnv, "rekey", "--data", cliData, "--new-key-file", k2File)
			if err != nil || !strings.Contains(out, "under key k2") {
				t.Fatalf("rekey = %q, %v", out, err)
			}
			check(node, "right after the rekey")

			// The running node seals a new secret under k1 meanwhile.
			adminCLI := func(args ...string) string {
				t.Helper()
				host := strings.Replace(node.addr, "127.0.0.1", "localhost", 1)
				out, errOut, err := runCmd(t, nil, append([]string{"admin", "--data", data, "--api-host", host}, args...)...)
				if err != nil {
					t.Fatalf("admin %q: %v\n%s", args, err, errOut)
				}
				return out
			}
			added := adminCLI("integration", "add", "late", "--type", "authapi")
			m := regexp.MustCompile(`Integration key:\s+(DI[A-Z0-9]{18})\nSecret key:\s+(\S{40})`).FindStringSubmatch(added)
			if m == nil {
				t.Fatalf("integration add =\n%s", added)
			}
			ikey := struct{ IKey, SKey string }{m[1], m[2]}

			// 4. Retiring k1 is refused while that value is sealed under it.
			writeKeys(t, cliKeys, k2, k1)
			_, _, err = runCmd(t, cliEnv, "rekey", "--data", cliData, "--retire", "k1")
			if err == nil || !strings.Contains(err.Error(), "key k1 still seals 1 values") {
				t.Fatalf("rekey --retire k1 with a value under k1 = %v, want a refusal counting it", err)
			}

			// 5. Every node makes k2 current, keeping k1; then re-seal and retire.
			restart(k2, k1)
			check(node, "with k2 current")
			out, _, err = runCmd(t, cliEnv, "rekey", "--data", cliData, "--reseal", "--retire", "k1")
			if err != nil || !strings.Contains(out, "re-sealed 1 values") || !strings.Contains(out, "no value is sealed under key k1") {
				t.Fatalf("rekey --reseal --retire k1 = %q, %v", out, err)
			}

			// 6. Nodes drop k1: everything, including the late secret, opens.
			restart(k2)
			check(node, "on k2 alone")
			if out := adminCLI("integration", "show", ikey.IKey, "--show-secret"); !strings.Contains(out, ikey.SKey) {
				t.Errorf("the secret sealed under k1 after the rekey was lost:\n%s", out)
			}
		})
	}
}

// TestNodeWithoutTheDatabaseKeyRefuses: a node started on a database
// sealed under another master key refuses before writing anything, naming
// the key ids, instead of generating a key and failing on the first
// sealed value.
func TestNodeWithoutTheDatabaseKeyRefuses(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		dsn := sqltest.FreshDatabaseDSN(t)
		dir := t.TempDir()
		keyA := filepath.Join(dir, "a.key")
		writeKeys(t, keyA, sqltest.Key(t, "k1"))
		a := startServe(t, envMap(map[string]string{"TWOSTEP_MASTER_KEY_FILE": keyA}), "--database", dsn)
		creds, _ := readCredentials(t, a.data)

		dataB := t.TempDir()
		err := serveFails(t, nil, "--database", dsn, "--data", dataB)
		for _, want := range []string{"initialised with master key id k1", "this node has none", "TWOSTEP_MASTER_KEY_FILE"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("node B without a key: %v; want it to say %q", err, want)
			}
		}
		if _, err := os.Stat(filepath.Join(dataB, "master.key")); !os.IsNotExist(err) {
			t.Errorf("node B created master.key: %v", err)
		}

		keyB := filepath.Join(dir, "b.key")
		writeKeys(t, keyB, sqltest.Key(t, "k7"))
		err = serveFails(t, envMap(map[string]string{"TWOSTEP_MASTER_KEY_FILE": keyB}), "--database", dsn, "--data", dataB)
		if !strings.Contains(err.Error(), "initialised with master key id k1; this node has key id k7") {
			t.Errorf("node B with key k7: %v; want both ids named", err)
		}
		writeKeys(t, keyB, sqltest.Key(t, "k1")) // same id, another key
		err = serveFails(t, envMap(map[string]string{"TWOSTEP_MASTER_KEY_FILE": keyB}), "--database", dsn, "--data", dataB)
		if !strings.Contains(err.Error(), "this node's key with id k1 is a different key") {
			t.Errorf("node B with another k1: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dataB, "master.key")); !os.IsNotExist(err) {
			t.Errorf("node B created master.key: %v", err)
		}

		// Node A is unharmed; node B with A's key serves.
		b := startServe(t, envMap(map[string]string{"TWOSTEP_MASTER_KEY_FILE": keyA}), "--database", dsn, "--data", dataB)
		pool := trustCA(t, creds.CAFile)
		pool.AppendCertsFromPEM(must(os.ReadFile(filepath.Join(dataB, "ca.pem"))))
		for _, in := range []*instance{a, b} {
			host := strings.Replace(in.addr, "127.0.0.1", "localhost", 1)
			if res, err := duoClient(host, creds.AuthAPI.IKey, creds.AuthAPI.SKey, pool).Check(); err != nil || res.Stat != "OK" {
				t.Errorf("Check() on %s = %+v, %v", in.addr, res, err)
			}
		}
	})

	t.Run("sqlite without master.key", func(t *testing.T) {
		in := startServe(t, nil)
		in.stop(t)
		keyFile := filepath.Join(in.data, "master.key")
		os.Remove(keyFile)
		err := serveFails(t, nil, "--data", in.data)
		if !strings.Contains(err.Error(), "initialised with master key id k1; this node has none") {
			t.Errorf("serve without its master.key = %v", err)
		}
		if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
			t.Errorf("serve generated a new master.key over a sealed database: %v", err)
		}
		_, _, err = runCmd(t, nil, "migrate", "--data", in.data)
		if err == nil || !strings.Contains(err.Error(), "this node has none") {
			t.Errorf("migrate without its master.key = %v", err)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
