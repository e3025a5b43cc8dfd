package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/twostep-auth/twostep/internal/vault"
)

// vaultPath is --vault, TWOSTEP_VAULT, $XDG_CONFIG_HOME/twostep/vault.age
// or ~/.config/twostep/vault.age.
func (a *app) vaultPath() (string, error) {
	if a.cli.Vault != "" {
		return a.cli.Vault, nil
	}
	if p := a.getenv("TWOSTEP_VAULT"); p != "" {
		return p, nil
	}
	if x := a.getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "twostep", "vault.age"), nil
	}
	if h := a.getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "twostep", "vault.age"), nil
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".config", "twostep", "vault.age"), nil
	}
	return "", errors.New("cannot tell where the vault is: set HOME or TWOSTEP_VAULT, or use --vault PATH")
}

// openVault returns the vault with this invocation's passphrase sources.
func (a *app) openVault() (*vault.Vault, error) {
	path, err := a.vaultPath()
	if err != nil {
		return nil, err
	}
	var v *vault.Vault
	v = vault.Open(path, vault.Options{
		Passphrase:   func(create bool) (string, error) { return a.vaultPassphrase(v.Path(), create) },
		NoPassphrase: a.cli.NoPassphrase,
		WorkFactor:   a.workFactor,
	})
	return v, nil
}

// loadVault opens and reads the vault.
func (a *app) loadVault() (*vault.Vault, *vault.Data, error) {
	v, err := a.openVault()
	if err != nil {
		return nil, nil, err
	}
	d, err := v.Load()
	if err != nil {
		return nil, nil, err
	}
	return v, d, nil
}

// mustExist refuses to go on without a vault, rather than create one.
func mustExist(v *vault.Vault) error {
	ok, err := v.Exists()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w", v.Path(), vault.ErrNoVault)
	}
	return nil
}

// unlockForWrite prepares a vault that a command is about to change,
// saying so when it is being created.
func (a *app) unlockForWrite(v *vault.Vault) error {
	exists, err := v.Exists()
	if err != nil {
		return err
	}
	if !exists && a.cli.NoPassphrase {
		fmt.Fprintf(a.stderr, "Creating an unencrypted vault at %s (--no-passphrase).\n", v.Path())
	}
	return v.Unlock()
}

// vaultPassphrase is the vault's passphrase: --passphrase-file or
// TWOSTEP_PASSPHRASE_FILE, TWOSTEP_PASSPHRASE, else the terminal (twice
// when creating).
func (a *app) vaultPassphrase(path string, create bool) (string, error) {
	file := a.cli.PassphraseFile
	if file == "" {
		file = a.getenv("TWOSTEP_PASSPHRASE_FILE")
	}
	if file != "" {
		return readPassphraseFile(file)
	}
	if p := a.getenv("TWOSTEP_PASSPHRASE"); p != "" {
		return p, nil
	}
	if !create {
		p, err := a.askPassword(fmt.Sprintf("Passphrase for %s: ", path))
		if err != nil {
			return "", fmt.Errorf("vault %s is encrypted: %w", path, err)
		}
		return p, nil
	}
	if !a.canAskPassword() {
		return "", fmt.Errorf("creating the vault %s: %w", path, errNoTerminal)
	}
	fmt.Fprintf(a.stderr, "Creating a new vault at %s.\nChoose a passphrase to encrypt it (or run again with --no-passphrase to store it unencrypted).\n", path)
	p1, err := a.askPassword("New passphrase: ")
	if err != nil {
		return "", fmt.Errorf("creating the vault: %w", err)
	}
	if p1 == "" {
		return "", errors.New("empty passphrase: choose one, or use --no-passphrase to store the vault unencrypted")
	}
	p2, err := a.askPassword("Repeat the passphrase: ")
	if err != nil {
		return "", fmt.Errorf("creating the vault: %w", err)
	}
	if p1 != p2 {
		return "", errors.New("the passphrases do not match; nothing was saved")
	}
	return p1, nil
}

// readPassphraseFile reads a key file: its content without one trailing
// line break.
func readPassphraseFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if p == "" {
		return "", fmt.Errorf("passphrase file %s is empty", path)
	}
	return p, nil
}

// twostepAccounts returns the twostep installs, or the named ones.
func twostepAccounts(d *vault.Data, names ...string) ([]*vault.Account, error) {
	var out []*vault.Account
	if len(names) > 0 {
		for _, n := range names {
			acct, err := d.Lookup(n)
			if err != nil {
				return nil, err
			}
			if acct.Kind != vault.KindTwostep {
				return nil, fmt.Errorf("account %q is a third-party account: it has passcodes only, no login requests", acct.Name)
			}
			out = append(out, acct)
		}
		return out, nil
	}
	for i := range d.Accounts {
		if d.Accounts[i].Kind == vault.KindTwostep {
			out = append(out, &d.Accounts[i])
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no twostep accounts on this device: activate one with `twostep activate CODE`")
	}
	return out, nil
}
