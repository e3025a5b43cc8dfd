package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/vault"
)

// addCmd is `twostep add`: a third-party TOTP/HOTP account. It never talks
// to a server.
type addCmd struct {
	URI  string `arg:"" optional:"" help:"Key URI, otpauth://totp/Issuer:account?secret=...; \"-\" reads it from standard input (keeps the secret out of shell history)." placeholder:"URI"`
	QR   string `name:"qr" help:"Read the key URI from a QR code image (PNG, JPEG or GIF)." placeholder:"IMAGE"`
	Name string `help:"Account name (default \"Issuer:account\")." placeholder:"NAME"`
}

func (c *addCmd) run(a *app) error {
	if (c.URI == "") == (c.QR == "") {
		return usageError{errors.New("give either a key URI or --qr IMAGE")}
	}
	if c.Name != "" {
		if err := vault.CheckName(c.Name); err != nil {
			return usageError{err}
		}
	}
	uri := c.URI
	switch {
	case c.QR != "":
		f, err := os.Open(c.QR)
		if err != nil {
			return err
		}
		defer f.Close()
		if uri, err = deviceclient.DecodeQR(f); err != nil {
			return fmt.Errorf("%s: %w", c.QR, err)
		}
	case uri == "-":
		line, err := a.readLine()
		if err != nil {
			return err
		}
		uri = line
	}
	if _, err := deviceclient.ParseActivation(uri); err == nil {
		return errors.New("that is a twostep activation code: use `twostep activate` for it")
	}
	acct, err := vault.ParseKeyURI(uri, a.now())
	if err != nil {
		return err
	}
	if c.Name != "" {
		acct.Name = c.Name
	}
	v, err := a.openVault()
	if err != nil {
		return err
	}
	if err := a.unlockForWrite(v); err != nil {
		return err
	}
	err = v.Update(func(d *vault.Data) error {
		for i := range d.Accounts {
			old := &d.Accounts[i]
			if old.Kind == vault.KindOTPAuth && bytes.Equal(old.Secret, acct.Secret) {
				return fmt.Errorf("this key is already in the vault as %q", old.Name)
			}
		}
		if err := d.Add(acct); errors.Is(err, vault.ErrDuplicate) {
			return fmt.Errorf("an account named %q already exists: choose another name with --name", acct.Name)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	p, err := acct.Passcode(a.now())
	if err != nil {
		return err
	}
	kind := fmt.Sprintf("counter-based, %d digits", acct.Digits)
	if acct.UseTOTP {
		kind = fmt.Sprintf("time-based, %d digits every %d s", acct.Digits, acct.Period)
	}
	if acct.Algorithm != vault.SHA1 {
		kind += ", " + string(acct.Algorithm)
	}
	fmt.Fprintf(a.stdout, "Added %q (%s).\nPasscode: %s\n", acct.Name, kind, groupCode(p.Code))
	if strings.HasPrefix(c.URI, "otpauth") {
		fmt.Fprintln(a.stderr, "Note: the key was on the command line; next time use `twostep add -` to keep it out of your shell history.")
	}
	return nil
}
