package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/deviceclient"
)

// groupCode splits a passcode in two groups for reading: "123 456",
// "1234 5678", "123 4567".
func groupCode(code string) string {
	if len(code) < 6 {
		return code
	}
	h := len(code) / 2
	return code[:h] + " " + code[h:]
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) location() *time.Location {
	if a.loc != nil {
		return a.loc
	}
	return time.Local
}

// secondsLeft is how long until t, rounded up to whole seconds.
func secondsLeft(now, t time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// clean drops control characters from text a server sent, so that it
// cannot move the cursor or recolour the terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// describeTx writes a login request, one detail per line.
func (a *app) describeTx(w io.Writer, account string, tx *deviceclient.Transaction) {
	now := a.now()
	title := clean(tx.Summary)
	if title == "" {
		title = clean(tx.Type)
	}
	if title == "" {
		title = "Login request"
	}
	fmt.Fprintf(w, "%s  [%s]\n", title, clean(account))
	row := func(k, v string) {
		if v = clean(v); v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", clean(k)+":", v)
		}
	}
	row("Application", tx.Application)
	row("User", tx.Username)
	row("Client IP", tx.IP)
	row("Hostname", tx.Hostname)
	if at := tx.At(); !at.IsZero() {
		row("Time", at.In(a.location()).Format("2006-01-02 15:04:05 MST"))
	}
	for _, kv := range tx.PushInfo {
		if len(kv) == 2 {
			row(kv[0], kv[1])
		}
	}
	if exp := tx.Expires(); !exp.IsZero() {
		row("Expires in", fmt.Sprintf("%d s", secondsLeft(now, exp)))
	}
	if n := tx.StepUpDigits(); n != 0 {
		row("Verified", "yes: you will need the code shown on the login screen")
	}
	row("Request ID", tx.ID())
}

// txJSON is a login request for --json.
type txJSON struct {
	Account            string     `json:"account"`
	TxID               string     `json:"txid"`
	Type               string     `json:"type,omitempty"`
	Summary            string     `json:"summary,omitempty"`
	Application        string     `json:"application,omitempty"`
	Username           string     `json:"username,omitempty"`
	IP                 string     `json:"ip,omitempty"`
	Hostname           string     `json:"hostname,omitempty"`
	Time               *time.Time `json:"time,omitempty"`
	Expires            *time.Time `json:"expires,omitempty"`
	PushInfo           [][]string `json:"pushinfo,omitempty"`
	VerifiedPushDigits int        `json:"verified_push_digits,omitempty"`
}

func toTxJSON(account string, tx *deviceclient.Transaction) txJSON {
	j := txJSON{Account: account, TxID: tx.ID(), Type: tx.Type, Summary: tx.Summary, Application: tx.Application,
		Username: tx.Username, IP: tx.IP, Hostname: tx.Hostname, PushInfo: tx.PushInfo, VerifiedPushDigits: tx.StepUpDigits()}
	if at := tx.At(); !at.IsZero() {
		at = at.UTC()
		j.Time = &at
	}
	if exp := tx.Expires(); !exp.IsZero() {
		exp = exp.UTC()
		j.Expires = &exp
	}
	return j
}
