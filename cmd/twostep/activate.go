package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/vault"
)

// activateCmd is `twostep activate`: register this device with a server.
type activateCmd struct {
	Code string `arg:"" help:"Activation code (CODE-HOST64), activation link (https://HOST/activate/... or https://HOST/frame/qr?value=...), or a QR image file." placeholder:"CODE|URL|IMAGE"`
	Name string `help:"Account name (default \"<organisation> (<username>)\")." placeholder:"NAME"`
}

// readCodeInput turns the argument into text: a QR image's content when
// it names a file, else the argument itself.
func readCodeInput(arg string) (string, error) {
	st, err := os.Stat(arg)
	switch {
	case err == nil && st.Mode().IsRegular():
		f, err := os.Open(arg)
		if err != nil {
			return "", err
		}
		defer f.Close()
		text, err := deviceclient.DecodeQR(f)
		if err != nil {
			return "", fmt.Errorf("%s: %w", arg, err)
		}
		return text, nil
	case err == nil:
		return "", fmt.Errorf("%s is not a regular file", arg)
	case errors.Is(err, fs.ErrNotExist) && isImageName(arg):
		return "", fmt.Errorf("image %s: no such file", arg)
	}
	return arg, nil
}

func isImageName(s string) bool {
	switch strings.ToLower(filepath.Ext(s)) {
	case ".png", ".jpg", ".jpeg", ".gif":
		return !strings.Contains(s, "://")
	}
	return false
}

func (c *activateCmd) run(a *app) error {
	if c.Name != "" {
		if err := vault.CheckName(c.Name); err != nil {
			return usageError{err}
		}
	}
	text, err := readCodeInput(c.Code)
	if err != nil {
		return err
	}
	code, err := deviceclient.ParseActivation(text)
	if err != nil {
		return err
	}
	var caPEM []byte
	if f := a.caFile(); f != "" {
		if caPEM, err = readCA(f); err != nil {
			return err
		}
	}
	client, err := a.client(code.Host, "")
	if err != nil {
		return err
	}
	// The code works once: settle the vault (and its passphrase) before
	// redeeming it, so that the result can be saved.
	v, err := a.openVault()
	if err != nil {
		return err
	}
	if err := a.unlockForWrite(v); err != nil {
		return err
	}
	key, err := deviceclient.NewKey()
	if err != nil {
		return fmt.Errorf("generate device key: %w", err)
	}
	keyPEM, err := deviceclient.MarshalKey(key)
	if err != nil {
		return fmt.Errorf("encode device key: %w", err)
	}
	fmt.Fprintf(a.stderr, "Activating with %s...\n", code.Host)
	act, err := client.Activate(a.ctx, code, key, deviceclient.DeviceInfo{
		Platform: "twostep-cli", Manufacturer: "twostep", Model: "twostep CLI (" + runtime.GOOS + "/" + runtime.GOARCH + ")",
		AppVersion: version,
	})
	var de *deviceclient.Error
	switch {
	case errors.As(err, &de) && de.Code == deviceclient.CodeUnknownActivation:
		return fmt.Errorf("activation code not accepted by %s: it is unknown, already used or expired; ask for a new one", code.Host)
	case err != nil:
		return fmt.Errorf("activate with %s: %w", code.Host, err)
	}

	acct := vault.Account{
		Kind: vault.KindTwostep, Secret: vault.Secret(act.HOTPSecret), Algorithm: vault.SHA1,
		Digits: vault.DefaultDigits, Period: vault.DefaultPeriod, Counter: act.HOTPCounter, UseTOTP: act.UseTOTP,
		APIHost: code.Host, PKey: act.PKey, AKey: act.AKey, PrivateKey: vault.SecretString(keyPEM), CAPEM: string(caPEM),
		Username: act.Username, UserID: act.UserID, CustomerName: act.CustomerName, Created: a.now().UTC(),
	}
	var replaced string
	err = v.Update(func(d *vault.Data) error {
		name := c.Name
		if name == "" {
			name = vault.DefaultName(act.CustomerName, act.Username, code.Host)
		}
		// Activating again for the same user on the same server replaces
		// the old install, which the server has just revoked.
		for i := range d.Accounts {
			old := &d.Accounts[i]
			if old.Kind == vault.KindTwostep && old.APIHost == code.Host && old.UserID != "" && old.UserID == act.UserID {
				replaced = old.Name
				if c.Name == "" {
					name = old.Name
				}
				if _, err := d.Remove(old.Name); err != nil {
					return err
				}
				break
			}
		}
		acct.Name = d.UniqueName(name)
		return d.Add(acct)
	})
	if err != nil {
		return fmt.Errorf("the device was activated but could not be saved (the activation code is now used up; ask for a new one): %w", err)
	}
	p, err := acct.Passcode(a.now())
	if err != nil {
		return err
	}
	if replaced != "" {
		fmt.Fprintf(a.stdout, "Reactivated %q (the earlier activation %q no longer works).\n", acct.Name, replaced)
	} else {
		fmt.Fprintf(a.stdout, "Activated %q on %s.\n", acct.Name, code.Host)
	}
	if c.Name != "" && acct.Name != c.Name {
		fmt.Fprintf(a.stdout, "The name %q was taken; this account is called %q.\n", c.Name, acct.Name)
	}
	fmt.Fprintf(a.stdout, "Passcode: %s\n", groupCode(p.Code))
	fmt.Fprintln(a.stdout, "Run `twostep watch` to approve login requests; `twostep code` shows passcodes, even offline.")
	return nil
}
