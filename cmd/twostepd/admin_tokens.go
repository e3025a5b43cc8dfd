package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// apiToken is Duo's token object.
type apiToken struct {
	TokenID  string       `json:"token_id"`
	Type     string       `json:"type"`
	Serial   string       `json:"serial"`
	TOTPStep *int         `json:"totp_step"`
	Users    []apiUserRef `json:"users"`
}

// resolveToken finds a token by id, then by serial.
func (a *adminEnv) resolveToken(arg string) (apiToken, error) {
	var t apiToken
	err := a.client.Get(a.ctx(), apiPath("/admin/v1/tokens", arg), nil, &t)
	if err == nil {
		return t, nil
	}
	if !isNotFound(err) {
		return apiToken{}, fmt.Errorf("look up token %q: %w", arg, err)
	}
	list, err := a.client.List(a.ctx(), "/admin/v1/tokens", nil)
	if err != nil {
		return apiToken{}, fmt.Errorf("look up token %q: %w", arg, err)
	}
	var found []apiToken
	for _, raw := range list {
		var t apiToken
		if json.Unmarshal(raw, &t) == nil && t.Serial == arg {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return apiToken{}, fmt.Errorf("token %q not found (neither a token id nor a serial)", arg)
	case 1:
		return found[0], nil
	}
	return apiToken{}, fmt.Errorf("%d tokens have the serial %q; give the token id", len(found), arg)
}

type adminTokenResyncCmd struct {
	Token string `arg:"" help:"Token id or serial."`
	Code1 string `arg:"" help:"First code."`
	Code2 string `arg:"" help:"Next code."`
	Code3 string `arg:"" help:"The code after that."`
}

func (c *adminTokenResyncCmd) run(a *adminEnv) error {
	t, err := a.resolveToken(c.Token)
	if err != nil {
		return err
	}
	p := url.Values{"code1": {c.Code1}, "code2": {c.Code2}, "code3": {c.Code3}}
	var raw json.RawMessage
	if err := a.client.Post(a.ctx(), apiPath("/admin/v1/tokens", t.TokenID, "resync"), p, &raw); err != nil {
		return fmt.Errorf("resync token %s: %w", t.Serial, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	fmt.Fprintf(a.stdout, "resynchronized token %s (%s)\n", t.Serial, t.TokenID)
	return nil
}

// importRecord is one token to create: its source line, serial and the
// POST /admin/v1/tokens parameters.
type importRecord struct {
	Line   int
	Serial string
	Params url.Values
}

// importReject is a row that was not imported, and why.
type importReject struct {
	Line   int
	Serial string
	Reason string
}

type adminTokenImportCmd struct {
	File     string `arg:"" help:"Token file (CSV or PSKC XML); - for stdin."`
	Format   string `default:"auto" enum:"auto,csv,pskc,hotp-csv,totp-csv,yubikey-csv" help:"auto (PSKC if the file is XML, else CSV), csv, pskc, hotp-csv, totp-csv or yubikey-csv."`
	Type     string `help:"Token type of a CSV file: h6, h8 (HOTP), t6, t8 (TOTP) or yk (YubiKey)." placeholder:"TYPE"`
	TOTPStep int    `name:"totp-step" default:"30" help:"TOTP step of a t6/t8 CSV file without a step column: 30 or 60."`
	PSKFile  string `name:"psk-file" help:"File holding the PSKC pre-shared key (hex)." placeholder:"FILE"`
	Assign   string `help:"Assign every imported token to this user (username or id)." placeholder:"USER"`
}

func (c *adminTokenImportCmd) run(a *adminEnv) error {
	var in io.Reader = a.stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return fmt.Errorf("token file: %w", err)
		}
		defer f.Close()
		in = f
	}
	var psk []byte
	if c.PSKFile != "" {
		s, err := readSecretFile(c.PSKFile)
		if err != nil {
			return fmt.Errorf("pre-shared key file: %w", err)
		}
		psk = []byte(strings.TrimSpace(s))
	}
	records, rejected, err := parseTokenFile(c.Format, c.Type, c.TOTPStep, psk, in)
	var u usageError
	if errors.As(err, &u) {
		return err
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", c.File, err)
	}
	var user apiUser
	if c.Assign != "" {
		if user, _, err = a.resolveUser(c.Assign); err != nil {
			return err
		}
	}

	parseRejects := len(rejected)
	prog := newProgress(a.stderr, len(records), a.isTerminal(a.stderr))
	var created []json.RawMessage
	// A serial the file repeats is refused here: the server would refuse
	// it too, and a line that repeats another exactly would be the same
	// signed request, which the server accepts once.
	seen := map[string]int{}
	for _, r := range records {
		if line, ok := seen[r.Serial]; ok {
			rejected = append(rejected, importReject{Line: r.Line, Serial: r.Serial,
				Reason: fmt.Sprintf("serial already exists (line %d of this file)", line)})
			prog.step()
			continue
		}
		seen[r.Serial] = r.Line
		var raw json.RawMessage
		err := a.client.Post(a.ctx(), "/admin/v1/tokens", r.Params, &raw)
		if err == nil && c.Assign != "" {
			var t apiToken
			json.Unmarshal(raw, &t)
			if aerr := a.client.Post(a.ctx(), apiPath("/admin/v1/users", user.UserID, "tokens"), url.Values{"token_id": {t.TokenID}}, nil); aerr != nil {
				err = fmt.Errorf("created as %s but not assigned to %s: %w", t.TokenID, user.Username, aerr)
			}
		}
		if err != nil {
			rejected = append(rejected, importReject{Line: r.Line, Serial: r.Serial, Reason: err.Error()})
		} else {
			created = append(created, raw)
		}
		prog.step()
	}
	prog.done()

	if a.flags.JSON {
		rej := make([]map[string]any, 0, len(rejected))
		for _, r := range rejected {
			rej = append(rej, map[string]any{"line": r.Line, "serial": r.Serial, "reason": r.Reason})
		}
		if err := a.printJSON(map[string]any{"imported": rawList(created), "rejected": rej}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "imported %d of %d tokens", len(created), len(records)+parseRejects)
		if c.Assign != "" {
			fmt.Fprintf(a.stdout, " (assigned to %s)", user.Username)
		}
		fmt.Fprintln(a.stdout)
		if len(rejected) > 0 {
			fmt.Fprintf(a.stdout, "\nrejected %d:\n", len(rejected))
			sortRejects(rejected)
			t := newTable(a.stdout, "LINE", "SERIAL", "REASON")
			for _, r := range rejected {
				line := ""
				if r.Line > 0 {
					line = fmt.Sprint(r.Line)
				}
				t.row(line, r.Serial, r.Reason)
			}
			t.flush()
		}
	}
	if len(rejected) > 0 {
		return fmt.Errorf("token import: %d of %d rows rejected", len(rejected), len(records)+parseRejects)
	}
	return nil
}

func sortRejects(rs []importReject) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Line < rs[j-1].Line; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// progress reports import progress on w: a redrawn bar on a terminal,
// a line every 10% otherwise.
type progress struct {
	w        io.Writer
	total    int
	n        int
	terminal bool
	lastTen  int
}

func newProgress(w io.Writer, total int, terminal bool) *progress {
	return &progress{w: w, total: total, terminal: terminal}
}

func (p *progress) step() {
	p.n++
	if p.total == 0 {
		return
	}
	if p.terminal {
		const width = 30
		filled := p.n * width / p.total
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), p.n, p.total)
		return
	}
	if ten := p.n * 10 / p.total; ten > p.lastTen {
		p.lastTen = ten
		fmt.Fprintf(p.w, "%d/%d tokens (%d%%)\n", p.n, p.total, p.n*100/p.total)
	}
}

func (p *progress) done() {
	if p.terminal && p.total > 0 {
		fmt.Fprintln(p.w)
	}
}
