package main

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// adminUserSetPasswordCmd sets a user's twostep password (their first
// factor on the OIDC login page and, later, the portal): POST
// /admin/v1/users/{id}/password. The password is read from a file or from
// stdin (one line), never from the command line, where other users of the
// machine could see it.
type adminUserSetPasswordCmd struct {
	User         string `arg:"" help:"Username or user id."`
	PasswordFile string `name:"password-file" required:"" help:"File holding the password (- reads one line from stdin)." placeholder:"FILE"`
	Clear        bool   `help:"Remove the user's twostep password instead (they can then log in only through the directory)."`
}

func (c *adminUserSetPasswordCmd) run(a *adminEnv) error {
	u, _, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	path := apiPath("/admin/v1/users", u.UserID, "password")
	if c.Clear {
		if err := a.client.Delete(a.ctx(), path, nil, nil); err != nil {
			return fmt.Errorf("clear password: %w", err)
		}
		fmt.Fprintf(a.stdout, "cleared the twostep password of %s (%s)\n", u.Username, u.UserID)
		return nil
	}
	var pw string
	if c.PasswordFile == "-" {
		line, err := bufio.NewReader(io.LimitReader(a.stdin, 64<<10)).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
		if pw == "" {
			return usageError{fmt.Errorf("no password on stdin")}
		}
	} else if pw, err = readSecretFile(c.PasswordFile); err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	if err := a.client.Post(a.ctx(), path, url.Values{"password": {pw}}, nil); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	fmt.Fprintf(a.stdout, "set the twostep password of %s (%s)\n", u.Username, u.UserID)
	return nil
}
