package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// Identity answers for self-service bypass codes: a user's PIN and their
// date of birth with the last 4 digits of an ID number (POST
// /admin/v1/users/{id}/identity), and a CSV import of the latter. Answers
// are read from a file or stdin, never from the command line, where other
// users of the machine could see them; nothing ever prints one.

type apiIdentity struct {
	PIN   string `json:"pin"`
	DOBID string `json:"dob_id"`
}

// adminUserIdentityCmd shows and sets a user's identity answers.
type adminUserIdentityCmd struct {
	User    string `arg:"" help:"Username or user id."`
	PINFile string `name:"pin-file" help:"File holding the user's new PIN, 6-12 digits (- reads one line from stdin)." placeholder:"FILE"`
	DOBFile string `name:"dob-id-file" help:"File holding one line 'YYYY-MM-DD,NNNN': date of birth and the last 4 digits of an ID number (- reads stdin)." placeholder:"FILE"`
	Clear   string `help:"Clear an answer instead: pin, dob-id or all." enum:",pin,dob-id,all" default:""`
}

func (a *adminEnv) readAnswer(path string) (string, error) {
	if path == "-" {
		line, err := bufio.NewReader(io.LimitReader(a.stdin, 4<<10)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return "", usageError{errors.New("nothing on stdin")}
		}
		return line, nil
	}
	s, err := readSecretFile(path)
	return strings.TrimSpace(s), err
}

func (c *adminUserIdentityCmd) run(a *adminEnv) error {
	if c.PINFile == "-" && c.DOBFile == "-" {
		return usageError{errors.New("only one of --pin-file and --dob-id-file can read stdin")}
	}
	u, _, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	path := apiPath("/admin/v1/users", u.UserID, "identity")
	params := url.Values{}
	switch c.Clear {
	case "pin":
		params.Set("pin", "")
	case "dob-id":
		params.Set("dob", "")
		params.Set("id_last4", "")
	case "all":
		params.Set("pin", "")
		params.Set("dob", "")
		params.Set("id_last4", "")
	}
	if c.PINFile != "" {
		pin, err := a.readAnswer(c.PINFile)
		if err != nil {
			return fmt.Errorf("PIN file: %w", err)
		}
		params.Set("pin", pin)
	}
	if c.DOBFile != "" {
		line, err := a.readAnswer(c.DOBFile)
		if err != nil {
			return fmt.Errorf("date of birth file: %w", err)
		}
		dob, last4, ok := strings.Cut(line, ",")
		if !ok {
			return usageError{errors.New("the date of birth file holds one line 'YYYY-MM-DD,NNNN'")}
		}
		params.Set("dob", strings.TrimSpace(dob))
		params.Set("id_last4", strings.TrimSpace(last4))
	}
	var st apiIdentity
	if len(params) == 0 {
		if err := a.client.Get(a.ctx(), path, nil, &st); err != nil {
			return fmt.Errorf("identity: %w", err)
		}
	} else if err := a.client.Post(a.ctx(), path, params, &st); err != nil {
		return fmt.Errorf("set identity: %w", err)
	}
	if a.flags.JSON {
		return json.NewEncoder(a.stdout).Encode(st)
	}
	fmt.Fprintf(a.stdout, "%s (%s)\nPIN:                      %s\ndate of birth + ID digits: %s\n", u.Username, u.UserID, st.PIN, st.DOBID)
	return nil
}

// adminUserImportIdentityCmd imports username,dob,id_last4 rows.
type adminUserImportIdentityCmd struct {
	File string `arg:"" help:"CSV file of username,dob,id_last4 rows (an optional header row; - reads stdin)." type:"string"`
}

// identityChunk bounds the rows sent in one request (the API takes 64 KiB
// bodies); line numbers stay those of the file.
const identityChunk = 1000

type apiImportReport struct {
	Imported int `json:"imported"`
	Failed   int `json:"failed"`
	Rows     []struct {
		Line     int    `json:"line"`
		Username string `json:"username"`
		Result   string `json:"result"`
		Message  string `json:"message"`
	} `json:"rows"`
}

func (c *adminUserImportIdentityCmd) run(a *adminEnv) error {
	var r io.Reader = a.stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return err
	}
	lines := strings.Split(strings.ReplaceAll(string(bytes.TrimPrefix(raw, []byte("\ufeff"))), "\r\n", "\n"), "\n")
	var total apiImportReport
	for start := 0; start < len(lines); start += identityChunk {
		end := min(start+identityChunk, len(lines))
		// Blank lines keep the file's line numbers in each request.
		chunk := strings.Repeat("\n", start) + strings.Join(lines[start:end], "\n")
		if strings.TrimSpace(chunk) == "" {
			continue
		}
		var rep apiImportReport
		if err := a.client.Post(a.ctx(), "/admin/v1/users/identity_import", url.Values{"csv": {chunk}}, &rep); err != nil {
			return fmt.Errorf("import (lines %d-%d): %w", start+1, end, err)
		}
		total.Imported += rep.Imported
		total.Failed += rep.Failed
		total.Rows = append(total.Rows, rep.Rows...)
	}
	if a.flags.JSON {
		if err := json.NewEncoder(a.stdout).Encode(total); err != nil {
			return err
		}
	} else {
		for _, row := range total.Rows {
			fmt.Fprintf(a.stdout, "line %d\t%s\t%s\t%s\n", row.Line, row.Username, row.Result, row.Message)
		}
		fmt.Fprintf(a.stdout, "%d set, %d refused\n", total.Imported, total.Failed)
	}
	if total.Failed > 0 {
		return fmt.Errorf("%d of %d rows were refused (see above)", total.Failed, total.Imported+total.Failed)
	}
	return nil
}
