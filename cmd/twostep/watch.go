package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/vault"
)

// watchCmd is `twostep watch`: long-poll every install's server and ask
// about each login request as it arrives.
type watchCmd struct {
	Account []string `help:"Watch only these accounts (repeatable; default every twostep account)." placeholder:"NAME"`
}

// Long-poll tuning.
const (
	pollWait   = 25 * time.Second
	minBackoff = time.Second
	maxBackoff = time.Minute
)

// watchEvent is what a poller tells the prompt loop.
type watchEvent struct {
	acct    *vault.Account
	tx      *pendingTx // a new request
	message string     // a status line for stderr
	stopped error      // the poller gave up on this account
}

func (c *watchCmd) run(a *app) error {
	_, d, err := a.loadVault()
	if err != nil {
		return err
	}
	accounts, err := twostepAccounts(d, c.Account...)
	if err != nil {
		return err
	}
	devices := make([]*deviceclient.Device, len(accounts))
	for i, acct := range accounts {
		if devices[i], err = a.device(acct); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(a.ctx)
	events := make(chan watchEvent, 16)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i, acct := range accounts {
		wg.Go(func() { a.poll(ctx, acct, devices[i], events) })
	}
	names := make([]string, len(accounts))
	for i, acct := range accounts {
		names[i] = fmt.Sprintf("%q", acct.Name)
	}
	fmt.Fprintf(a.stderr, "Waiting for login requests for %s. Press Ctrl-C to stop.\n", strings.Join(names, ", "))

	active := len(accounts)
	var failure error
	var queue []*pendingTx
	revokedShown := map[*vault.Account]bool{}
	for {
		if len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			err := a.handle(p)
			switch {
			case errors.Is(err, errNoAnswer):
				return fmt.Errorf("stopped watching: %w", err)
			case a.ctx.Err() != nil:
				fmt.Fprintln(a.stderr, "Stopped watching.")
				return failure
			case deviceclient.IsRevoked(err):
				// Say so now; the account's poller stops on its next call.
				if !revokedShown[p.acct] {
					revokedShown[p.acct] = true
					fmt.Fprintln(a.stderr, "twostep: "+revokedMessage(p.acct, err))
				}
			case err != nil:
				fmt.Fprintln(a.stderr, "twostep: "+explain(err))
			}
			continue
		}
		select {
		case <-a.ctx.Done():
			fmt.Fprintln(a.stderr, "Stopped watching.")
			return failure
		case ev := <-events:
			switch {
			case ev.tx != nil:
				queue = append(queue, ev.tx)
			case ev.stopped != nil:
				active--
				if !deviceclient.IsRevoked(ev.stopped) || !revokedShown[ev.acct] {
					fmt.Fprintln(a.stderr, "twostep: "+explain(ev.stopped))
				}
				status := exitError
				var s statusError
				if errors.As(ev.stopped, &s) {
					status = s.status
				}
				if failure == nil || status == exitRevoked {
					failure = silentError{status}
				}
				if active == 0 {
					return failure
				}
			case ev.message != "":
				fmt.Fprintln(a.stderr, ev.message)
			}
		}
	}
}

// poll long-polls one install until ctx ends or the install is unusable,
// sending each new request once. Transient failures are retried with
// exponential backoff, and said so.
func (a *app) poll(ctx context.Context, acct *vault.Account, dev *deviceclient.Device, events chan<- watchEvent) {
	send := func(ev watchEvent) bool {
		ev.acct = acct
		select {
		case events <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	wait := func(d time.Duration) bool {
		select {
		case <-a.after(d):
			return true
		case <-ctx.Done():
			return false
		}
	}
	seen := map[string]time.Time{} // request id -> expiry
	var shown []string             // ids of the last answer's requests already shown
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		start := a.now()
		txs, err := dev.Transactions(ctx, pollWait, shown...)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			switch {
			case deviceclient.IsRevoked(err):
				send(watchEvent{stopped: revokedError(acct, err)})
				return
			case !deviceclient.Temporary(err):
				send(watchEvent{stopped: fmt.Errorf("account %q: stopped watching: %w", acct.Name, err)})
				return
			}
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			if !send(watchEvent{message: fmt.Sprintf("twostep: %q: cannot reach %s (%v); retrying in %v",
				acct.Name, acct.APIHost, err, backoff)}) || !wait(backoff) {
				return
			}
			continue
		}
		if backoff > 0 {
			backoff = 0
			if !send(watchEvent{message: fmt.Sprintf("twostep: %q: connected to %s again", acct.Name, acct.APIHost)}) {
				return
			}
		}
		now := a.now()
		for id, exp := range seen {
			if !exp.IsZero() && now.After(exp.Add(time.Minute)) {
				delete(seen, id)
			}
		}
		fresh := 0
		shown = shown[:0]
		for _, tx := range txs {
			if _, ok := seen[tx.ID()]; ok {
				shown = append(shown, tx.ID())
				continue
			}
			shown = append(shown, tx.ID())
			seen[tx.ID()] = tx.Expires()
			fresh++
			if !send(watchEvent{tx: &pendingTx{acct: acct, dev: dev, tx: tx}}) {
				return
			}
		}
		// The server waits for a request not among those shown; one that
		// answers at once anyway (without the seen extension) must not
		// make us spin.
		if fresh == 0 && len(txs) > 0 && a.now().Sub(start) < time.Second && !wait(a.pendingPause) {
			return
		}
	}
}

// handle shows one request and asks what to do with it.
func (a *app) handle(p *pendingTx) error {
	fmt.Fprintln(a.stdout)
	a.describeTx(a.stdout, p.acct.Name, &p.tx)
	for {
		if exp := p.tx.Expires(); !exp.IsZero() && !a.now().Before(exp) {
			fmt.Fprintln(a.stdout, "This request has expired.")
			return nil
		}
		s, err := a.ask("Approve or deny? [a]pprove / [d]eny / [s]kip: ")
		if err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "a", "approve", "y", "yes":
			return a.approveInteractive(p)
		case "d", "deny", "n", "no":
			fraud, err := a.confirm("Report this request as fraud (you did not try to log in)?")
			if err != nil {
				return err
			}
			return a.sendInteractive(p, deviceclient.Answer{Fraud: fraud})
		case "s", "skip":
			fmt.Fprintln(a.stdout, "Skipped; the request stays waiting (twostep pending lists it).")
			return nil
		}
		fmt.Fprintln(a.stdout, "Please answer a (approve), d (deny) or s (skip).")
	}
}

// approveInteractive approves, asking for the Verified Push code (again
// after a wrong one) when the request needs it.
func (a *app) approveInteractive(p *pendingTx) error {
	n := p.tx.StepUpDigits()
	if n == 0 {
		return a.sendInteractive(p, deviceclient.Answer{Approve: true})
	}
	prompt := fmt.Sprintf("Enter the %s shown on the login screen (empty to skip): ", digitsText(n))
	for {
		code, err := a.ask(prompt)
		if err != nil {
			return err
		}
		if code == "" {
			fmt.Fprintln(a.stdout, "Skipped; the request stays waiting.")
			return nil
		}
		if err := checkStepUp(&p.tx, code); err != nil {
			fmt.Fprintf(a.stdout, "That is not %s. ", digitsText(n))
			continue
		}
		err = p.dev.Answer(a.ctx, p.tx.ID(), deviceclient.Answer{Approve: true, StepUpCode: code})
		if deviceclient.IsIncorrectCode(err) {
			fmt.Fprint(a.stdout, "Incorrect verification code. ")
			prompt = "Try again (empty to skip): "
			continue
		}
		return a.sent(p, deviceclient.Answer{Approve: true}, err)
	}
}

func (a *app) sendInteractive(p *pendingTx, ans deviceclient.Answer) error {
	return a.sent(p, ans, p.dev.Answer(a.ctx, p.tx.ID(), ans))
}

// sent reports the outcome of an answer in watch.
func (a *app) sent(p *pendingTx, ans deviceclient.Answer, err error) error {
	if err == nil {
		fmt.Fprintln(a.stdout, answered(p, ans))
		return nil
	}
	var de *deviceclient.Error
	switch {
	case deviceclient.IsRevoked(err):
		// The poller reports it and stops watching the account.
		return err
	case errors.As(err, &de) && de.Code == deviceclient.CodeBadRequest && strings.HasPrefix(de.Detail, "transaction:"):
		fmt.Fprintf(a.stdout, "Too late: the request was already answered or has expired (%s).\n", de.Detail)
		return nil
	case errors.As(err, &de) && de.Code == deviceclient.CodeNotFound:
		fmt.Fprintln(a.stdout, "Too late: the request is gone.")
		return nil
	}
	return serverError(p.acct, err)
}
