package datadir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/twostep-auth/twostep/internal/seal"
)

// File names inside the data directory.
const (
	MasterKeyFile   = "master.key"
	CredentialsFile = "initial-credentials.json"
	SQLiteFile      = "twostep.db"
	lockFile        = ".init.lock"
	serveLockFile   = ".serve.lock"
)

// ErrServing is returned by LockExclusive while a serve process holds
// the directory's shared serve lock.
var ErrServing = errors.New("twostepd serve is running on this data directory")

// ErrExclusive is returned by LockShared while a command such as rekey
// holds the directory exclusively.
var ErrExclusive = errors.New("another twostepd command (rekey) holds this data directory")

// LockShared takes a shared lock on the directory's serve lock, without
// waiting: every serve process holds it for its whole life, so that a
// command that must not run beside a server (rekey) can tell. Call the
// returned function to release it (the kernel also releases it when the
// process ends).
func (d *Dir) LockShared() (unlock func(), err error) {
	return d.flock(serveLockFile, syscall.LOCK_SH|syscall.LOCK_NB, ErrExclusive)
}

// LockExclusive takes the serve lock exclusively, without waiting; it
// fails with ErrServing while any serve process holds it shared.
func (d *Dir) LockExclusive() (unlock func(), err error) {
	return d.flock(serveLockFile, syscall.LOCK_EX|syscall.LOCK_NB, ErrServing)
}

func (d *Dir) flock(name string, how int, busy error) (func(), error) {
	f, err := os.OpenFile(d.File(name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, busy
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// OldKeyFile names the file that keeps a previous master key, by id, for
// opening values still sealed under it until `twostepd rekey --retire`.
func OldKeyFile(id string) string { return MasterKeyFile + "." + id }

// ReadMasterKey reads master.key; ok is false when there is none.
func (d *Dir) ReadMasterKey() (k seal.Key, ok bool, err error) {
	path := d.File(MasterKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return seal.Key{}, false, nil
	}
	if err != nil {
		return seal.Key{}, false, fmt.Errorf("read master key: %w", err)
	}
	k, err = seal.ParseKey(string(b))
	if err != nil {
		return seal.Key{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return k, true, nil
}

// ExtraKeys reads every master.key.<suffix> file: previous keys kept by a
// rekey (master.key.<id>) and a key left by an interrupted one
// (master.key.next). They open values; they never seal.
func (d *Dir) ExtraKeys() ([]seal.Key, error) {
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	var keys []seal.Key
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, MasterKeyFile+".") || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(d.File(name))
		if err != nil {
			return nil, fmt.Errorf("read master key: %w", err)
		}
		k, err := seal.ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File(name), err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Dir is an open data directory.
type Dir struct {
	Path string // absolute
}

// Open makes sure path exists as a directory (creating it with mode 0700)
// and returns it.
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("data directory: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("data directory %s: not a directory", abs)
	}
	return &Dir{Path: abs}, nil
}

// File returns the absolute path of name inside the directory.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// Lock takes an exclusive advisory lock on the directory, blocking until it
// is free, so that two processes starting at once do not both generate keys
// or certificates. Call the returned function to release it.
func (d *Dir) Lock() (unlock func(), err error) {
	f, err := os.OpenFile(d.File(lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// MasterKey reads the generated master key from the directory, or generates
// one (mode 0600) when there is none; created says which. Hold Lock.
func (d *Dir) MasterKey(random io.Reader) (k seal.Key, created bool, err error) {
	path := d.File(MasterKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := seal.ParseKey(string(b))
		if err != nil {
			return seal.Key{}, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return seal.Key{}, false, fmt.Errorf("read master key: %w", err)
	}
	k, err = seal.GenerateKey(random, seal.DefaultKeyID)
	if err != nil {
		return seal.Key{}, false, err
	}
	if err := WriteFileAtomic(path, []byte(k.Encode()+"\n"), 0o600); err != nil {
		return seal.Key{}, false, err
	}
	return k, true, nil
}

// WriteFileAtomic writes data to a temporary file beside path with mode
// perm, syncs it and renames it over path, so that readers see the old file
// or the new one, never a part.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
