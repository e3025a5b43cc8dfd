package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/mdp/qrterminal/v3"

	"github.com/twostep-auth/twostep/internal/vault"
)

// exportCmd is `twostep export`.
type exportCmd struct {
	File    string   `arg:"" optional:"" help:"Bundle file to write (encrypted with its own passphrase)." placeholder:"FILE"`
	Account []string `help:"Export only these accounts (repeatable; default all)." placeholder:"NAME"`
	QR      string   `name:"qr" help:"Instead, show this third-party account's key as a QR code on the terminal, for another authenticator app to scan." placeholder:"ACCOUNT"`
	Force   bool     `help:"Overwrite FILE if it exists."`
}

// bundlePassphrase is TWOSTEP_EXPORT_PASSPHRASE, else asked (twice when
// creating a bundle).
func (a *app) bundlePassphrase(create bool) (string, error) {
	if p := a.getenv("TWOSTEP_EXPORT_PASSPHRASE"); p != "" {
		return p, nil
	}
	if !create {
		p, err := a.askPassword("Passphrase of the export bundle: ")
		if err != nil {
			return "", fmt.Errorf("export bundle: %w", noTerminalHint(err))
		}
		return p, nil
	}
	p1, err := a.askPassword("Choose a passphrase for the export bundle: ")
	if err != nil {
		return "", fmt.Errorf("export bundle: %w", noTerminalHint(err))
	}
	if p1 == "" {
		return "", errors.New("export bundle: the passphrase is empty")
	}
	p2, err := a.askPassword("Repeat the passphrase: ")
	if err != nil {
		return "", fmt.Errorf("export bundle: %w", noTerminalHint(err))
	}
	if p1 != p2 {
		return "", errors.New("export bundle: the passphrases do not match; nothing was written")
	}
	return p1, nil
}

func noTerminalHint(err error) error {
	if errors.Is(err, errNoTerminal) {
		return errors.New("no terminal to ask for its passphrase: set TWOSTEP_EXPORT_PASSPHRASE")
	}
	return err
}

func (c *exportCmd) run(a *app) error {
	if (c.File == "") == (c.QR == "") {
		return usageError{errors.New("give either a bundle FILE or --qr ACCOUNT")}
	}
	_, d, err := a.loadVault()
	if err != nil {
		return err
	}
	if c.QR != "" {
		acct, err := d.Lookup(c.QR)
		if err != nil {
			return err
		}
		uri, err := acct.KeyURI()
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "Scan this with another authenticator app. Anyone who sees it can make %q's passcodes.\n", acct.Name)
		qrterminal.GenerateWithConfig(uri, qrterminal.Config{
			Level: qrterminal.L, Writer: a.stdout, HalfBlocks: true, QuietZone: 2,
			BlackChar: qrterminal.BLACK_BLACK, WhiteBlackChar: qrterminal.WHITE_BLACK,
			WhiteChar: qrterminal.WHITE_WHITE, BlackWhiteChar: qrterminal.BLACK_WHITE,
		})
		return nil
	}

	accounts := d.Accounts
	if len(c.Account) > 0 {
		accounts = nil
		for _, n := range c.Account {
			acct, err := d.Lookup(n)
			if err != nil {
				return err
			}
			accounts = append(accounts, *acct)
		}
	}
	if len(accounts) == 0 {
		return errors.New("no accounts to export")
	}
	if !c.Force {
		if _, err := os.Stat(c.File); err == nil {
			return fmt.Errorf("%s exists: choose another name, or --force to overwrite it", c.File)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	pass, err := a.bundlePassphrase(true)
	if err != nil {
		return err
	}
	raw, err := vault.SealBundle(accounts, pass, a.workFactor, a.now())
	if err != nil {
		return err
	}
	if err := vault.WriteFileAtomic(c.File, raw); err != nil {
		return fmt.Errorf("write %s: %w", c.File, err)
	}
	fmt.Fprintf(a.stdout, "Exported %d account(s) to %s.\n", len(accounts), c.File)
	fmt.Fprintln(a.stdout, "On the new device run `twostep import FILE`, check `twostep code` there, then remove the accounts here: "+
		"two devices using one twostep install share its login requests and passcodes. "+
		"Remove twostep accounts here with `twostep remove --local NAME`: a plain remove deregisters the install on its server, "+
		"which the new device now uses too.")
	return nil
}

// importCmd is `twostep import`.
type importCmd struct {
	File    string `arg:"" help:"Bundle written by twostep export." placeholder:"FILE"`
	Replace bool   `help:"Replace accounts that are already here (same name, same twostep install or same key)."`
}

// sameAccount reports whether two accounts are the same one, or would
// clash by name.
func sameAccount(x, y *vault.Account) bool {
	switch {
	case strings.EqualFold(x.Name, y.Name):
		return true
	case x.Kind != y.Kind:
		return false
	case x.Kind == vault.KindTwostep:
		return x.APIHost == y.APIHost && x.PKey == y.PKey
	}
	return bytes.Equal(x.Secret, y.Secret)
}

func (c *importCmd) run(a *app) error {
	raw, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	pass, err := a.bundlePassphrase(false)
	if err != nil {
		return err
	}
	accounts, err := vault.OpenBundle(raw, pass)
	if err != nil {
		return fmt.Errorf("export bundle %s: %w", c.File, err)
	}
	v, err := a.openVault()
	if err != nil {
		return err
	}
	if err := a.unlockForWrite(v); err != nil {
		return err
	}
	var replaced int
	err = v.Update(func(d *vault.Data) error {
		var clashes []string
		for i := range accounts {
			for j := range d.Accounts {
				if sameAccount(&accounts[i], &d.Accounts[j]) {
					clashes = append(clashes, fmt.Sprintf("%q", d.Accounts[j].Name))
				}
			}
		}
		if len(clashes) > 0 && !c.Replace {
			return fmt.Errorf("already on this device: %s; nothing was imported (use --replace to overwrite them)", strings.Join(clashes, ", "))
		}
		keep := d.Accounts[:0]
		for _, old := range d.Accounts {
			clash := false
			for i := range accounts {
				clash = clash || sameAccount(&accounts[i], &old)
			}
			if clash {
				replaced++
			} else {
				keep = append(keep, old)
			}
		}
		d.Accounts = keep
		for _, acct := range accounts {
			if err := d.Add(acct); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Imported %d account(s)", len(accounts))
	if replaced > 0 {
		fmt.Fprintf(a.stdout, ", replacing %d", replaced)
	}
	fmt.Fprintln(a.stdout, ".")
	return nil
}
