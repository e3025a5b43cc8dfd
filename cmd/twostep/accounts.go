package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/vault"
)

// accountsCmd is `twostep accounts`.
type accountsCmd struct {
	JSON bool `name:"json" help:"Print JSON for scripts (never secrets)."`
}

// accountJSON is an account for --json, without its secrets.
type accountJSON struct {
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	Type         string     `json:"type"` // hotp or totp
	Algorithm    string     `json:"algorithm"`
	Digits       int        `json:"digits"`
	Period       int        `json:"period,omitempty"`
	Counter      *uint64    `json:"counter,omitempty"`
	Issuer       string     `json:"issuer,omitempty"`
	Label        string     `json:"label,omitempty"`
	APIHost      string     `json:"api_host,omitempty"`
	PKey         string     `json:"pkey,omitempty"`
	Username     string     `json:"username,omitempty"`
	UserID       string     `json:"user_id,omitempty"`
	CustomerName string     `json:"customer_name,omitempty"`
	CustomCA     bool       `json:"custom_ca,omitempty"`
	Created      *time.Time `json:"created,omitempty"`
}

func codeType(acct *vault.Account) string {
	if acct.UseTOTP {
		return "totp"
	}
	return "hotp"
}

func (c *accountsCmd) run(a *app) error {
	_, d, err := a.loadVault()
	if err != nil {
		return err
	}
	if c.JSON {
		out := []accountJSON{}
		for i := range d.Accounts {
			acct := &d.Accounts[i]
			j := accountJSON{Name: acct.Name, Kind: string(acct.Kind), Type: codeType(acct), Algorithm: string(acct.Algorithm),
				Digits: acct.Digits, Issuer: acct.Issuer, Label: acct.Label, APIHost: acct.APIHost, PKey: acct.PKey,
				Username: acct.Username, UserID: acct.UserID, CustomerName: acct.CustomerName, CustomCA: acct.CAPEM != ""}
			if acct.UseTOTP {
				j.Period = acct.Period
			} else {
				counter := acct.Counter
				j.Counter = &counter
			}
			if !acct.Created.IsZero() {
				created := acct.Created.UTC()
				j.Created = &created
			}
			out = append(out, j)
		}
		return writeJSON(a.stdout, out)
	}
	if len(d.Accounts) == 0 {
		fmt.Fprintln(a.stdout, "No accounts yet: add one with `twostep activate CODE` or `twostep add otpauth://...`.")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tCODES\tWHERE")
	for i := range d.Accounts {
		acct := &d.Accounts[i]
		codes := fmt.Sprintf("HOTP %d digits", acct.Digits)
		if acct.UseTOTP {
			codes = fmt.Sprintf("TOTP %d digits/%d s", acct.Digits, acct.Period)
		}
		if acct.Algorithm != vault.SHA1 {
			codes += " " + string(acct.Algorithm)
		}
		where := acct.Issuer
		if acct.Kind == vault.KindTwostep {
			where = acct.APIHost
			if acct.Username != "" {
				where += " as " + acct.Username
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clean(acct.Name), acct.Kind, codes, clean(where))
	}
	return tw.Flush()
}

// renameCmd is `twostep rename OLD NEW`.
type renameCmd struct {
	Old string `arg:"" help:"Current name."`
	New string `arg:"" help:"New name."`
}

func (c *renameCmd) run(a *app) error {
	if err := vault.CheckName(c.New); err != nil {
		return usageError{err}
	}
	v, err := a.openVault()
	if err != nil {
		return err
	}
	if err := mustExist(v); err != nil {
		return err
	}
	var old string
	err = v.Update(func(d *vault.Data) error {
		acct, err := d.Lookup(c.Old)
		if err != nil {
			return err
		}
		old = acct.Name
		return d.Rename(old, c.New)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Renamed %q to %q.\n", old, c.New)
	return nil
}

// removeCmd is `twostep remove NAME`.
type removeCmd struct {
	Name  string `arg:"" help:"Account to remove."`
	Yes   bool   `short:"y" help:"Do not ask for confirmation."`
	Local bool   `name:"local" help:"Remove a twostep account from this device only, without deregistering it on its server (when the server cannot be reached)."`
}

// remove outcomes of a twostep account on its server.
const (
	removeDeregistered = iota // the server revoked the install
	removeAlreadyGone         // the server had revoked or forgotten it
	removeLocalOnly           // --local: the server was not told
)

func (c *removeCmd) run(a *app) error {
	v, d, err := a.loadVault()
	if err != nil {
		return err
	}
	acct, err := d.Lookup(c.Name)
	if err != nil {
		return err
	}
	name := acct.Name
	twostep := acct.Kind == vault.KindTwostep
	if !c.Yes {
		what := "Its passcodes cannot be recovered"
		switch {
		case twostep && c.Local:
			what = fmt.Sprintf("This device will no longer show its passcodes, but %s will still list it for login requests", acct.APIHost)
		case twostep:
			what = fmt.Sprintf("This device will be deregistered from %s and will no longer get its login requests or show its passcodes", acct.APIHost)
		}
		ok, err := a.confirm(fmt.Sprintf("Remove %q? %s.", name, what))
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("nothing removed")
		}
	}
	outcome := removeLocalOnly
	var serverErr error
	if twostep && !c.Local {
		outcome, serverErr, err = a.deregister(acct)
		if err != nil {
			return err
		}
	}
	pkey := acct.PKey
	err = v.Update(func(d *vault.Data) error {
		cur, err := d.Lookup(name)
		if err != nil {
			return err
		}
		if cur.Kind == vault.KindTwostep && cur.PKey != pkey {
			return fmt.Errorf("account %q was replaced by another activation meanwhile", name)
		}
		_, err = d.Remove(cur.Name)
		return err
	})
	if err != nil {
		if twostep && outcome == removeDeregistered {
			return fmt.Errorf("the device was deregistered from %s, but could not be removed from the vault (run `twostep remove` again): %w", acct.APIHost, err)
		}
		return err
	}
	fmt.Fprintf(a.stdout, "Removed %q.\n", name)
	if !twostep {
		return nil
	}
	switch outcome {
	case removeDeregistered:
		fmt.Fprintf(a.stdout, "Deregistered this device from %s: it no longer gets login requests there.\n", acct.APIHost)
	case removeAlreadyGone:
		what := "had already revoked this install (a newer activation replaced it or an administrator removed it)"
		var de *deviceclient.Error
		if errors.As(serverErr, &de) && de.Code == deviceclient.CodeUnknownPKey {
			what = "did not know this install any more (an administrator removed it)"
		}
		fmt.Fprintf(a.stdout, "Note: %s %s, so there was nothing to deregister.\n", acct.APIHost, what)
	case removeLocalOnly:
		fmt.Fprintf(a.stderr, "Warning: removed from this device only: %s still lists this device for login requests until an administrator removes it or it is reactivated.\n",
			acct.APIHost)
	}
	return nil
}

// deregister revokes a twostep install on its server. An install the
// server had already revoked (40110) or does not know (40102) is
// removeAlreadyGone with the server's answer; any other failure (the
// server cannot be reached, its certificate is not trusted, ...) is an
// error that suggests --local.
func (a *app) deregister(acct *vault.Account) (outcome int, serverErr error, err error) {
	dev, err := a.device(acct)
	if err == nil {
		err = dev.Deregister(a.ctx)
	}
	var de *deviceclient.Error
	switch {
	case err == nil:
		return removeDeregistered, nil, nil
	case deviceclient.IsRevoked(err), errors.As(err, &de) && de.Code == deviceclient.CodeUnknownPKey:
		return removeAlreadyGone, err, nil
	case errors.Is(err, context.Canceled):
		return 0, nil, err
	}
	return 0, nil, &messageError{fmt.Sprintf("account %q: could not deregister this device from %s: %v; nothing was removed. "+
		"Try again when the server can be reached, or remove the account from this device only with: twostep remove --local %q",
		acct.Name, acct.APIHost, err, acct.Name), err}
}
