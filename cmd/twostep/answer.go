package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/deviceclient"
)

// answerFlags are what approve and deny share.
type answerFlags struct {
	Account string `help:"Only look at this account's requests." placeholder:"NAME"`
	TxID    string `arg:"" optional:"" name:"txid" help:"The request to answer (see twostep pending); default the only waiting one."`
}

// approveCmd is `twostep approve`.
type approveCmd struct {
	answerFlags `embed:""`
	Code        string `help:"Verified Push: the digits shown on the login screen." placeholder:"DIGITS"`
}

// denyCmd is `twostep deny`.
type denyCmd struct {
	answerFlags `embed:""`
	Fraud       bool `help:"Report the request as fraud: you did not try to log in."`
}

func (c *approveCmd) run(a *app) error {
	return a.answerOne(c.answerFlags, deviceclient.Answer{Approve: true, StepUpCode: c.Code})
}

func (c *denyCmd) run(a *app) error {
	return a.answerOne(c.answerFlags, deviceclient.Answer{Fraud: c.Fraud})
}

// answerOne answers one waiting request without asking anything.
func (a *app) answerOne(f answerFlags, ans deviceclient.Answer) error {
	_, d, err := a.loadVault()
	if err != nil {
		return err
	}
	var names []string
	if f.Account != "" {
		names = []string{f.Account}
	}
	accounts, err := twostepAccounts(d, names...)
	if err != nil {
		return err
	}
	txs, errs := a.collectPending(accounts)
	var target *pendingTx
	switch {
	case f.TxID != "":
		for i := range txs {
			if txs[i].tx.ID() == f.TxID {
				target = &txs[i]
			}
		}
		if target == nil {
			if err := a.reportErrors(errs); err != nil {
				return err
			}
			return fmt.Errorf("no login request %q is waiting (already answered or expired?)", f.TxID)
		}
	case len(txs) == 1:
		target = &txs[0]
	case len(txs) == 0:
		if err := a.reportErrors(errs); err != nil {
			return err
		}
		return errors.New("no login requests are waiting")
	default:
		a.listPending(txs)
		return usageError{fmt.Errorf("%d login requests are waiting: name one by its request ID", len(txs))}
	}
	for _, err := range errs {
		fmt.Fprintln(a.stderr, "twostep: "+explain(err))
	}
	if ans.Approve {
		if err := checkStepUp(&target.tx, ans.StepUpCode); err != nil {
			return err
		}
	} else {
		ans.StepUpCode = ""
	}
	if err := a.send(target, ans); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, answered(target, ans))
	return nil
}

// checkStepUp checks a Verified Push code before it is sent.
func checkStepUp(tx *deviceclient.Transaction, code string) error {
	n := tx.StepUpDigits()
	switch {
	case n == 0 && code != "":
		return usageError{errors.New("--code is only for Verified Push requests, and this one is not")}
	case n == 0:
		return nil
	case code == "":
		return usageError{fmt.Errorf("this is a Verified Push: pass --code with the %s shown on the login screen", digitsText(n))}
	case strings.Trim(code, "0123456789") != "" || (n > 0 && len(code) != n):
		return usageError{fmt.Errorf("--code must be the %s shown on the login screen", digitsText(n))}
	}
	return nil
}

func digitsText(n int) string {
	if n <= 0 {
		return "digits"
	}
	return fmt.Sprintf("%d digits", n)
}

// send answers and turns the server's refusals into plain words.
func (a *app) send(p *pendingTx, ans deviceclient.Answer) error {
	err := p.dev.Answer(a.ctx, p.tx.ID(), ans)
	var de *deviceclient.Error
	switch {
	case err == nil:
		return nil
	case deviceclient.IsIncorrectCode(err):
		return fmt.Errorf("incorrect verification code: the request is still waiting; try again with the code shown on the login screen")
	case deviceclient.IsRevoked(err):
		return revokedError(p.acct, err)
	case errors.As(err, &de) && de.Code == deviceclient.CodeBadRequest && strings.HasPrefix(de.Detail, "transaction:"):
		return fmt.Errorf("the login request was already answered or has expired (%s)", de.Detail)
	case errors.As(err, &de) && de.Code == deviceclient.CodeNotFound:
		return errors.New("the login request is gone (answered elsewhere or expired)")
	}
	return serverError(p.acct, err)
}

// answered describes a sent answer.
func answered(p *pendingTx, ans deviceclient.Answer) string {
	what := clean(p.tx.Summary)
	if what == "" {
		what = "login request " + p.tx.ID()
	}
	switch {
	case ans.Approve:
		return "Approved: " + what
	case ans.Fraud:
		return "Denied and reported as fraud: " + what
	}
	return "Denied: " + what
}
