package datadir

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/twostep-auth/twostep/internal/seal"
)

func TestOpenCreatesPrivateDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(d.Path)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("Open(%s) made mode %v (%v), want 0700", path, st.Mode().Perm(), err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(file); err == nil {
		t.Error("Open(a file) = nil error, want error")
	}
	if _, err := Open(""); err == nil {
		t.Error(`Open("") = nil error, want error`)
	}
}

func TestMasterKeyGeneratedOnce(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k1, created, err := d.MasterKey(rand.Reader)
	if err != nil || !created {
		t.Fatalf("MasterKey() = created %v, %v; want created", created, err)
	}
	st, _ := os.Stat(d.File(MasterKeyFile))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("master.key mode = %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := d.MasterKey(rand.Reader)
	if err != nil || created || k2 != k1 {
		t.Errorf("second MasterKey() = created %v, same %v, %v; want the same key", created, k2 == k1, err)
	}
	os.WriteFile(d.File(MasterKeyFile), []byte("short"), 0o600)
	if _, _, err := d.MasterKey(rand.Reader); err == nil {
		t.Error("MasterKey(corrupt file) = nil error, want error")
	}
}

func TestLockSerialises(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			unlock, err := d.Lock()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			k, _, err := d.MasterKey(rand.Reader)
			if err != nil {
				t.Error(err)
			}
			_ = k
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if maxInside != 1 {
		t.Errorf("Lock let %d holders in at once, want 1", maxInside)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	if err := WriteFileAtomic(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "two" {
		t.Errorf("content = %q, want two", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (no temp files left)", len(entries))
	}
	if err := WriteFileAtomic(filepath.Join(path, "sub"), nil, 0o600); err == nil {
		t.Error("WriteFileAtomic(under a file) = nil error, want error")
	}
}

func TestServeLock(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	u1, err := d.LockShared()
	if err != nil {
		t.Fatal(err)
	}
	u2, err := d.LockShared()
	if err != nil {
		t.Fatalf("a second LockShared = %v, want two servers allowed", err)
	}
	if _, err := d.LockExclusive(); err != ErrServing {
		t.Errorf("LockExclusive beside a server = %v, want ErrServing", err)
	}
	u1()
	u2()
	ux, err := d.LockExclusive()
	if err != nil {
		t.Fatalf("LockExclusive with no server = %v", err)
	}
	if _, err := d.LockShared(); err != ErrExclusive {
		t.Errorf("LockShared during rekey = %v, want ErrExclusive", err)
	}
	ux()
}

func TestExtraKeys(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := seal.GenerateKey(rand.Reader, "k1")
	k2, _ := seal.GenerateKey(rand.Reader, "k2")
	WriteFileAtomic(d.File(MasterKeyFile), []byte(k2.Encode()), 0o600)
	WriteFileAtomic(d.File(OldKeyFile("k1")), []byte(k1.Encode()), 0o600)
	os.WriteFile(d.File(".master.key.tmp123"), []byte("junk"), 0o600) // a temp file is not a key
	got, err := d.ExtraKeys()
	if err != nil || len(got) != 1 || got[0] != k1 {
		t.Errorf("ExtraKeys() = %v, %v; want k1", got, err)
	}
	cur, ok, err := d.ReadMasterKey()
	if err != nil || !ok || cur != k2 {
		t.Errorf("ReadMasterKey() = %v, %v, %v; want k2", cur, ok, err)
	}
	os.WriteFile(d.File(OldKeyFile("k0")), []byte("short"), 0o600)
	if _, err := d.ExtraKeys(); err == nil {
		t.Error("ExtraKeys() with a corrupt master.key.k0 = nil error")
	}
}
