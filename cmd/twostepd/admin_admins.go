package main

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// apiAdmin is Duo's administrator object.
type apiAdmin struct {
	AdminID   string `json:"admin_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Created   *int64 `json:"created"`
	LastLogin *int64 `json:"last_login"`
}

// adminRoles are Duo's role strings (case-sensitive) that twostep knows.
var adminRoles = []string{"Owner", "Administrator", "User Manager", "Help Desk", "Read-only"}

type adminAdminAddCmd struct {
	Email        string `arg:"" help:"Login email."`
	Role         string `required:"" help:"Owner, Administrator, \"User Manager\", \"Help Desk\" or Read-only."`
	Name         string `help:"Display name."`
	PasswordFile string `name:"password-file" help:"File holding the password (default: generate one and print it once)." placeholder:"FILE"`
}

func (c *adminAdminAddCmd) run(a *adminEnv) error {
	known := false
	for _, r := range adminRoles {
		known = known || r == c.Role
	}
	if !known {
		return usageError{fmt.Errorf("role %q: want one of %q (case-sensitive)", c.Role, adminRoles)}
	}
	p := url.Values{"email": {c.Email}, "role": {c.Role}}
	if c.Name != "" {
		p.Set("name", c.Name)
	}
	if c.PasswordFile != "" {
		password, err := readSecretFile(c.PasswordFile)
		if err != nil {
			return fmt.Errorf("password file: %w", err)
		}
		p.Set("password", password)
	}
	// Without a password the server generates one and returns it once.
	var raw json.RawMessage
	if err := a.client.Post(a.ctx(), "/admin/v1/admins", p, &raw); err != nil {
		return fmt.Errorf("create administrator: %w", err)
	}
	var ad struct {
		apiAdmin
		Password string `json:"password"`
	}
	json.Unmarshal(raw, &ad)
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	fmt.Fprintf(a.stdout, "created administrator %s (%s), role %s\n", ad.Email, ad.AdminID, ad.Role)
	if ad.Password != "" {
		fmt.Fprintln(a.stderr, "warning: the generated password is shown only now; store it safely.")
		fmt.Fprintf(a.stdout, "password: %s\n", ad.Password)
	}
	return nil
}

type adminAdminListCmd struct{}

func (c *adminAdminListCmd) run(a *adminEnv) error {
	list, err := a.client.List(a.ctx(), "/admin/v1/admins", nil)
	if err != nil {
		return fmt.Errorf("list administrators: %w", err)
	}
	if a.flags.JSON {
		return a.printJSON(rawList(list))
	}
	t := newTable(a.stdout, "ADMIN ID", "EMAIL", "NAME", "ROLE", "LAST LOGIN")
	for _, raw := range list {
		var ad apiAdmin
		if err := json.Unmarshal(raw, &ad); err != nil {
			return fmt.Errorf("decode administrator: %w", err)
		}
		t.row(ad.AdminID, ad.Email, ad.Name, ad.Role, fmtTime(ad.LastLogin))
	}
	return t.flush()
}
