package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"filippo.io/age"
)

// Errors about the vault file; match with errors.Is. The returned errors
// also name the file.
var (
	// ErrNoVault: there is no vault file yet.
	ErrNoVault = errors.New("no vault yet")
	// ErrWrongPassphrase: the passphrase does not open the file.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrCorrupt: the file is damaged or truncated.
	ErrCorrupt = errors.New("file is corrupt or truncated")
	// ErrNotVault: the file is something else altogether.
	ErrNotVault = errors.New("not a twostep vault")
	// ErrPassphraseRequired: the file is encrypted (or is to be) and no
	// passphrase source was given.
	ErrPassphraseRequired = errors.New("a passphrase is required")
	// ErrNewerFormat: a newer twostep wrote the file.
	ErrNewerFormat = errors.New("written by a newer version of twostep")
)

// PassphraseFunc supplies a passphrase. create is true when the vault is
// being created, so that an interactive source can ask twice. It is called
// at most once per Vault after a success, and never while the vault's lock
// is held.
type PassphraseFunc func(create bool) (string, error)

// Options configure a Vault.
type Options struct {
	// Passphrase supplies the passphrase of an encrypted vault, or of a
	// new one. Nil means no passphrase is available.
	Passphrase PassphraseFunc
	// NoPassphrase, when the vault is created, stores it unencrypted
	// (marked so; later opens need no flag). It has no effect on an existing
	// vault.
	NoPassphrase bool
	// WorkFactor is the scrypt work factor (log2 N) used when encrypting;
	// 0 means age's default (18, about a second). Tests use small values.
	WorkFactor int
}

// Format names and versions of the files this package writes.
const (
	vaultFormat   = "twostep-vault"
	vaultVersion  = 1
	ageHeader     = "age-encryption.org/"
	lockSuffix    = ".lock"
	maxVaultBytes = 64 << 20
)

// fileJSON is the vault's JSON: the whole file when unencrypted, the
// age-encrypted payload otherwise.
type fileJSON struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Encrypted bool      `json:"encrypted"`
	Accounts  []Account `json:"accounts"`
}

// Vault is one vault file. It is safe for concurrent use, and several
// processes may use the same file: Update serialises writers with a lock
// file.
type Vault struct {
	path string
	opts Options

	mu        sync.Mutex
	havePass  bool   // pass is known to open the file (or was chosen for a new one)
	pass      string // "" when the vault is (to be) unencrypted
	plainNew  bool   // a new vault is to be created unencrypted
	seenRaw   []byte // the file bytes last opened
	seenData  *Data  // what they hold
	encrypted bool   // whether seenRaw was encrypted
}

// Open returns the vault at path. Nothing is read until it is used.
func Open(path string, opts Options) *Vault {
	return &Vault{path: path, opts: opts}
}

// Path is the vault file.
func (v *Vault) Path() string { return v.path }

// Exists reports whether the vault file exists.
func (v *Vault) Exists() (bool, error) {
	_, err := os.Stat(v.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Encrypted reports whether the vault, as last read, is encrypted. It is
// only meaningful after Load, Unlock or Update.
func (v *Vault) Encrypted() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seenRaw == nil {
		return !v.plainNew
	}
	return v.encrypted
}

// Load reads the vault, asking for the passphrase if it is encrypted. It
// returns ErrNoVault (never asking anything) when there is no file yet.
// The Data is a copy: changing it changes nothing on disk.
func (v *Vault) Load() (*Data, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	raw, err := v.read()
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: %w", v.path, ErrNoVault)
	}
	d, err := v.open(raw, true)
	if err != nil {
		return nil, err
	}
	return d.Clone(), nil
}

// Unlock makes sure that a later Update will not need to ask for anything:
// it opens an existing vault (asking for its passphrase), or settles how a
// new one will be stored (asking for a new passphrase unless
// Options.NoPassphrase). Call it before doing something that cannot be
// undone, such as redeeming an activation code, whose result must be saved.
func (v *Vault) Unlock() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	raw, err := v.read()
	if err != nil {
		return err
	}
	if raw == nil {
		return v.prepareNew()
	}
	_, err = v.open(raw, true)
	return err
}

// Update reads the vault under an exclusive lock, lets fn change the data,
// and writes the result atomically before releasing the lock, so that
// concurrent updates (from this or other processes) are never lost. If fn
// returns an error nothing is written. A vault that does not exist is
// created (see Unlock); a vault that cannot be read is never overwritten.
// Passphrases are asked for before the lock is taken.
func (v *Vault) Update(fn func(*Data) error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	// Settle the passphrase first, without the lock: a prompt must not
	// keep other processes waiting.
	raw, err := v.read()
	if err != nil {
		return err
	}
	if raw == nil {
		err = v.prepareNew()
	} else {
		_, err = v.open(raw, true)
	}
	if err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Dir(v.path), 0o700); err != nil {
		return fmt.Errorf("vault directory: %w", err)
	}
	unlock, err := lockFile(v.path + lockSuffix)
	if err != nil {
		return fmt.Errorf("lock vault: %w", err)
	}
	defer unlock()

	raw, err = v.read()
	if err != nil {
		return err
	}
	var d *Data
	encrypt := !v.plainNew
	if raw == nil {
		d = &Data{}
		if !v.havePass && !v.plainNew {
			// Someone removed the vault after we read it; do not prompt
			// under the lock.
			return fmt.Errorf("%s: the vault disappeared while it was being updated; try again", v.path)
		}
	} else {
		if d, err = v.open(raw, false); err != nil {
			return err
		}
		d = d.Clone()
		encrypt = v.encrypted
	}
	if err := fn(d); err != nil {
		return err
	}
	if err := d.validate(); err != nil {
		return fmt.Errorf("update vault: %w", err)
	}
	out, err := encode(d, encrypt, v.pass, v.opts.WorkFactor)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(v.path, out); err != nil {
		return fmt.Errorf("write vault: %w", err)
	}
	v.seenRaw, v.seenData, v.encrypted = out, d.Clone(), encrypt
	return nil
}

// read returns the file's bytes, or nil when it does not exist.
func (v *Vault) read() ([]byte, error) {
	f, err := os.Open(v.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read vault: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxVaultBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read vault: %w", err)
	}
	if len(raw) > maxVaultBytes {
		return nil, fmt.Errorf("%s: %w: larger than %d MiB", v.path, ErrNotVault, maxVaultBytes>>20)
	}
	if raw == nil {
		raw = []byte{}
	}
	return raw, nil
}

// prepareNew settles how a vault that does not exist yet will be stored.
func (v *Vault) prepareNew() error {
	if v.havePass || v.plainNew {
		return nil
	}
	if v.opts.NoPassphrase {
		v.plainNew = true
		return nil
	}
	if v.opts.Passphrase == nil {
		return fmt.Errorf("%s: creating the vault: %w", v.path, ErrPassphraseRequired)
	}
	pass, err := v.opts.Passphrase(true)
	if err != nil {
		return err
	}
	if pass == "" {
		return fmt.Errorf("%s: creating the vault: %w (the passphrase is empty)", v.path, ErrPassphraseRequired)
	}
	v.pass, v.havePass = pass, true
	return nil
}

// open decodes raw, asking for the passphrase if needed (and mayAsk) and
// remembering it.
func (v *Vault) open(raw []byte, mayAsk bool) (*Data, error) {
	if v.seenData != nil && bytes.Equal(raw, v.seenRaw) {
		return v.seenData, nil
	}
	var payload []byte
	encrypted := false
	switch {
	case len(bytes.TrimSpace(raw)) == 0:
		return nil, fmt.Errorf("%s: %w: the file is empty", v.path, ErrCorrupt)
	case bytes.HasPrefix(raw, []byte(ageHeader)):
		encrypted = true
		pass := v.pass
		if !v.havePass {
			if v.opts.Passphrase == nil {
				return nil, fmt.Errorf("%s: the vault is encrypted: %w", v.path, ErrPassphraseRequired)
			}
			if !mayAsk {
				return nil, fmt.Errorf("%s: the vault was encrypted by another program while it was being updated; try again", v.path)
			}
			p, err := v.opts.Passphrase(false)
			if err != nil {
				return nil, err
			}
			pass = p
		}
		p, err := decrypt(raw, pass)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.path, err)
		}
		v.pass, v.havePass = pass, true
		payload = p
	case bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{")):
		payload = raw
	default:
		return nil, fmt.Errorf("%s: %w (neither an age-encrypted file nor an unencrypted vault)", v.path, ErrNotVault)
	}
	d, err := decode(payload, encrypted)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.path, err)
	}
	v.seenRaw, v.seenData, v.encrypted = bytes.Clone(raw), d, encrypted
	return d, nil
}

// decrypt opens an age file with a passphrase.
func decrypt(raw []byte, pass string) ([]byte, error) {
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWrongPassphrase, err)
	}
	r, err := age.Decrypt(bytes.NewReader(raw), id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			for _, t := range nm.StanzaTypes {
				if t == "scrypt" {
					return nil, ErrWrongPassphrase
				}
			}
			return nil, fmt.Errorf("%w: the file is age-encrypted, but not with a passphrase", ErrNotVault)
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	payload, err := io.ReadAll(io.LimitReader(r, maxVaultBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return payload, nil
}

// decode parses the vault JSON and checks it.
func decode(payload []byte, encrypted bool) (*Data, error) {
	var f fileJSON
	if err := json.Unmarshal(payload, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	switch {
	case f.Format != vaultFormat:
		return nil, fmt.Errorf("%w (format %q)", ErrNotVault, f.Format)
	case f.Version > vaultVersion:
		return nil, fmt.Errorf("format version %d: %w", f.Version, ErrNewerFormat)
	case f.Version < 1:
		return nil, fmt.Errorf("%w: format version %d", ErrCorrupt, f.Version)
	case f.Encrypted != encrypted:
		return nil, fmt.Errorf("%w: the file's encryption marker does not match its content", ErrCorrupt)
	}
	d := &Data{Accounts: f.Accounts}
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return d, nil
}

// encode makes the file bytes for d.
func encode(d *Data, encrypt bool, pass string, workFactor int) ([]byte, error) {
	accounts := d.Accounts
	if accounts == nil {
		accounts = []Account{}
	}
	payload, err := json.MarshalIndent(fileJSON{Format: vaultFormat, Version: vaultVersion, Encrypted: encrypt, Accounts: accounts}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode vault: %w", err)
	}
	payload = append(payload, '\n')
	if !encrypt {
		return payload, nil
	}
	return seal(payload, pass, workFactor)
}

// seal encrypts payload with an age scrypt recipient.
func seal(payload []byte, pass string, workFactor int) ([]byte, error) {
	if pass == "" {
		return nil, ErrPassphraseRequired
	}
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if workFactor > 0 {
		r.SetWorkFactor(workFactor)
	}
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return b.Bytes(), nil
}
