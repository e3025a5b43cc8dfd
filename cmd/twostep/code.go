package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/twostep-auth/twostep/internal/vault"
)

// codeCmd is `twostep code`: passcodes, computed offline. Showing a code
// never advances an HOTP counter: a code stays valid until it is used.
type codeCmd struct {
	Account string `arg:"" optional:"" help:"Account name (default: every account)."`
	Next    bool   `help:"First move to the next passcode (HOTP accounts), as when the server says a code was already used."`
	JSON    bool   `name:"json" help:"Print JSON for scripts."`
}

// refreshCmd is `twostep refresh`, the app's refresh button: code --next.
type refreshCmd struct {
	Account string `arg:"" optional:"" help:"Account name (needed when several accounts have counter-based codes)."`
	JSON    bool   `name:"json" help:"Print JSON for scripts."`
}

func (c *refreshCmd) run(a *app) error {
	return (&codeCmd{Account: c.Account, Next: true, JSON: c.JSON}).run(a)
}

// codeJSON is one passcode for --json.
type codeJSON struct {
	Account     string     `json:"account"`
	Kind        string     `json:"kind"`
	Type        string     `json:"type"` // hotp or totp
	Code        string     `json:"code"`
	Counter     *uint64    `json:"counter,omitempty"`
	SecondsLeft *int       `json:"seconds_left,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
}

func (c *codeCmd) run(a *app) error {
	v, err := a.openVault()
	if err != nil {
		return err
	}
	var d *vault.Data
	if c.Next {
		if err := mustExist(v); err != nil {
			return err
		}
		err = v.Update(func(data *vault.Data) error {
			acct, err := c.nextAccount(data)
			if err != nil {
				return err
			}
			if err := acct.Next(); err != nil {
				return err
			}
			d = &vault.Data{Accounts: []vault.Account{acct.Clone()}}
			return nil
		})
	} else {
		d, err = v.Load()
		if err == nil && c.Account != "" {
			var acct *vault.Account
			if acct, err = d.Lookup(c.Account); err == nil {
				d = &vault.Data{Accounts: []vault.Account{*acct}}
			}
		}
	}
	if err != nil {
		return err
	}
	if len(d.Accounts) == 0 {
		return errors.New("no accounts yet: add one with `twostep activate CODE` or `twostep add otpauth://...`")
	}
	now := a.now()
	var out []codeJSON
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	for i := range d.Accounts {
		acct := &d.Accounts[i]
		p, err := acct.Passcode(now)
		if err != nil {
			return err
		}
		j := codeJSON{Account: acct.Name, Kind: string(acct.Kind), Type: "hotp", Code: p.Code}
		extra := ""
		if acct.UseTOTP {
			left := secondsLeft(now, p.Expires)
			exp := p.Expires.UTC()
			j.Type, j.SecondsLeft, j.Expires = "totp", &left, &exp
			extra = fmt.Sprintf("%2d s left", left)
		} else {
			counter := p.Counter
			j.Counter = &counter
		}
		out = append(out, j)
		if extra != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", clean(acct.Name), groupCode(p.Code), extra)
		} else {
			fmt.Fprintf(tw, "%s\t%s\n", clean(acct.Name), groupCode(p.Code))
		}
	}
	if c.JSON {
		return writeJSON(a.stdout, out)
	}
	return tw.Flush()
}

// nextAccount is the account --next applies to: the named one, or the only
// counter-based one.
func (c *codeCmd) nextAccount(d *vault.Data) (*vault.Account, error) {
	if c.Account != "" {
		return d.Lookup(c.Account)
	}
	var found *vault.Account
	n := 0
	for i := range d.Accounts {
		if !d.Accounts[i].UseTOTP {
			found = &d.Accounts[i]
			n++
		}
	}
	switch n {
	case 0:
		if len(d.Accounts) == 0 {
			return nil, errors.New("no accounts yet")
		}
		return nil, errors.New("no account has counter-based codes: time-based codes change by themselves")
	case 1:
		return found, nil
	}
	return nil, usageError{fmt.Errorf("%d accounts have counter-based codes: name the one to refresh (see twostep accounts)", n)}
}
