package main

import (
	"errors"
	"fmt"
	"sync"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/vault"
)

// pendingCmd is `twostep pending`: the login requests waiting now (no
// long poll).
type pendingCmd struct {
	Account []string `help:"Only these accounts (repeatable; default every twostep account)." placeholder:"NAME"`
	JSON    bool     `name:"json" help:"Print JSON for scripts."`
}

// pendingTx is a login request and the install it is for.
type pendingTx struct {
	acct *vault.Account
	dev  *deviceclient.Device
	tx   deviceclient.Transaction
}

// collectPending asks every account's server for its waiting requests,
// concurrently. Accounts that fail are reported in errs, in account order.
func (a *app) collectPending(accounts []*vault.Account) (txs []pendingTx, errs []error) {
	type result struct {
		txs []pendingTx
		err error
	}
	results := make([]result, len(accounts))
	var wg sync.WaitGroup
	for i, acct := range accounts {
		wg.Go(func() {
			dev, err := a.device(acct)
			if err != nil {
				results[i].err = err
				return
			}
			list, err := dev.Transactions(a.ctx, 0)
			if err != nil {
				results[i].err = serverError(acct, err)
				return
			}
			for _, tx := range list {
				results[i].txs = append(results[i].txs, pendingTx{acct: acct, dev: dev, tx: tx})
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		txs = append(txs, r.txs...)
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return txs, errs
}

// reportErrors prints per-account failures and returns the error that
// decides the exit status: revocation first.
func (a *app) reportErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	chosen := 0
	for i, err := range errs {
		var s statusError
		if errors.As(err, &s) && s.status == exitRevoked {
			chosen = i
			break
		}
	}
	for i, err := range errs {
		if i != chosen {
			fmt.Fprintln(a.stderr, "twostep: "+explain(err))
		}
	}
	return errs[chosen]
}

func (c *pendingCmd) run(a *app) error {
	_, d, err := a.loadVault()
	if err != nil {
		return err
	}
	accounts, err := twostepAccounts(d, c.Account...)
	if err != nil {
		return err
	}
	txs, errs := a.collectPending(accounts)
	if c.JSON {
		out := []txJSON{}
		for _, p := range txs {
			out = append(out, toTxJSON(p.acct.Name, &p.tx))
		}
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		a.listPending(txs)
	}
	return a.reportErrors(errs)
}

func (a *app) listPending(txs []pendingTx) {
	if len(txs) == 0 {
		fmt.Fprintln(a.stdout, "No login requests are waiting.")
		return
	}
	for i, p := range txs {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		a.describeTx(a.stdout, p.acct.Name, &p.tx)
	}
}
