package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// apiUser is the part of Duo's user object the CLI shows.
type apiUser struct {
	UserID     string     `json:"user_id"`
	Username   string     `json:"username"`
	RealName   string     `json:"realname"`
	Email      string     `json:"email"`
	Status     string     `json:"status"`
	Notes      string     `json:"notes"`
	Created    *int64     `json:"created"`
	LastLogin  *int64     `json:"last_login"`
	IsEnrolled bool       `json:"is_enrolled"`
	Alias1     *string    `json:"alias1"`
	Alias2     *string    `json:"alias2"`
	Alias3     *string    `json:"alias3"`
	Alias4     *string    `json:"alias4"`
	Phones     []apiPhone `json:"phones"`
	Tokens     []apiToken `json:"tokens"`
}

func (u apiUser) aliases() []string {
	var out []string
	for _, a := range []*string{u.Alias1, u.Alias2, u.Alias3, u.Alias4} {
		if a != nil && *a != "" {
			out = append(out, *a)
		}
	}
	return out
}

// userRef is the short user object inside phones, tokens and bypass codes.
type apiUserRef struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

// resolveUser finds a user by username (GET /admin/v1/users?username=),
// then by user id.
func (a *adminEnv) resolveUser(arg string) (apiUser, json.RawMessage, error) {
	var list []json.RawMessage
	if err := a.client.Get(a.ctx(), "/admin/v1/users", url.Values{"username": {arg}}, &list); err != nil {
		return apiUser{}, nil, fmt.Errorf("look up user %q: %w", arg, err)
	}
	var raw json.RawMessage
	if len(list) > 0 {
		raw = list[0]
	} else {
		err := a.client.Get(a.ctx(), apiPath("/admin/v1/users", arg), nil, &raw)
		if isNotFound(err) {
			return apiUser{}, nil, fmt.Errorf("user %q not found (neither a username nor a user id)", arg)
		}
		if err != nil {
			return apiUser{}, nil, fmt.Errorf("look up user %q: %w", arg, err)
		}
	}
	var u apiUser
	if err := json.Unmarshal(raw, &u); err != nil {
		return apiUser{}, nil, fmt.Errorf("look up user %q: %w", arg, err)
	}
	return u, raw, nil
}

type adminUserAddCmd struct {
	Username  string   `arg:"" help:"Username."`
	RealName  string   `name:"realname" help:"Full name."`
	FirstName string   `name:"firstname" help:"Given name."`
	LastName  string   `name:"lastname" help:"Family name."`
	Email     string   `help:"Email address."`
	Status    string   `help:"active, bypass or disabled (default active)." placeholder:"STATUS"`
	Notes     string   `help:"Notes."`
	Alias     []string `help:"Alias (repeatable, up to 8)." placeholder:"NAME"`
}

func (c *adminUserAddCmd) run(a *adminEnv) error {
	p := url.Values{"username": {c.Username}}
	for k, v := range map[string]string{"realname": c.RealName, "firstname": c.FirstName, "lastname": c.LastName,
		"email": c.Email, "notes": c.Notes} {
		if v != "" {
			p.Set(k, v)
		}
	}
	if c.Status != "" {
		if err := checkStatus(c.Status); err != nil {
			return err
		}
		p.Set("status", c.Status)
	}
	if len(c.Alias) > 8 {
		return usageError{fmt.Errorf("at most 8 aliases, got %d", len(c.Alias))}
	}
	for i, al := range c.Alias {
		p.Set("alias"+strconv.Itoa(i+1), al)
	}
	var raw json.RawMessage
	if err := a.client.Post(a.ctx(), "/admin/v1/users", p, &raw); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	var u apiUser
	json.Unmarshal(raw, &u)
	fmt.Fprintf(a.stdout, "created user %s (%s), status %s\n", u.Username, u.UserID, u.Status)
	return nil
}

func checkStatus(s string) error {
	switch s {
	case "active", "bypass", "disabled":
		return nil
	}
	return usageError{fmt.Errorf("status %q: want active, bypass or disabled", s)}
}

type adminUserListCmd struct {
	Username string `help:"Only this username." placeholder:"NAME"`
	Email    string `help:"Only users with this email." placeholder:"EMAIL"`
}

func (c *adminUserListCmd) run(a *adminEnv) error {
	p := url.Values{}
	if c.Username != "" {
		p.Set("username", c.Username)
	}
	if c.Email != "" {
		p.Set("email", c.Email)
	}
	list, err := a.client.List(a.ctx(), "/admin/v1/users", p)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if a.flags.JSON {
		return a.printJSON(rawList(list))
	}
	return renderUsers(a, list)
}

func renderUsers(a *adminEnv, list []json.RawMessage) error {
	t := newTable(a.stdout, "USER ID", "USERNAME", "REAL NAME", "EMAIL", "STATUS", "ENROLLED", "LAST LOGIN")
	for _, raw := range list {
		var u apiUser
		if err := json.Unmarshal(raw, &u); err != nil {
			return fmt.Errorf("decode user: %w", err)
		}
		t.row(u.UserID, u.Username, u.RealName, u.Email, u.Status, yesNo(u.IsEnrolled), fmtTime(u.LastLogin))
	}
	return t.flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type adminUserShowCmd struct {
	User string `arg:"" help:"Username or user id."`
}

func (c *adminUserShowCmd) run(a *adminEnv) error {
	u, raw, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	if err := writeFields(a.stdout,
		"User ID", u.UserID, "Username", u.Username, "Real name", u.RealName, "Email", u.Email,
		"Status", u.Status, "Aliases", strings.Join(u.aliases(), ", "), "Enrolled", yesNo(u.IsEnrolled),
		"Created", fmtTime(u.Created), "Last login", fmtTime(u.LastLogin), "Notes", u.Notes,
	); err != nil {
		return err
	}
	if len(u.Phones) > 0 {
		fmt.Fprintln(a.stdout, "\nPhones:")
		t := newTable(a.stdout, "PHONE ID", "NUMBER", "NAME", "TYPE", "PLATFORM", "ACTIVATED")
		for _, p := range u.Phones {
			t.row(p.PhoneID, p.Number, p.Name, p.Type, p.Platform, yesNo(p.Activated))
		}
		t.flush()
	}
	if len(u.Tokens) > 0 {
		fmt.Fprintln(a.stdout, "\nTokens:")
		t := newTable(a.stdout, "TOKEN ID", "TYPE", "SERIAL")
		for _, tk := range u.Tokens {
			t.row(tk.TokenID, tk.Type, tk.Serial)
		}
		t.flush()
	}
	return nil
}

type adminUserSetStatusCmd struct {
	User   string `arg:"" help:"Username or user id."`
	Status string `arg:"" enum:"active,bypass,disabled" help:"active, bypass or disabled."`
}

func (c *adminUserSetStatusCmd) run(a *adminEnv) error {
	u, _, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := a.client.Post(a.ctx(), apiPath("/admin/v1/users", u.UserID), url.Values{"status": {c.Status}}, &raw); err != nil {
		return fmt.Errorf("set status of user %s: %w", u.Username, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	var got apiUser
	json.Unmarshal(raw, &got)
	fmt.Fprintf(a.stdout, "user %s (%s) is now %s\n", u.Username, u.UserID, orDash(got.Status))
	return nil
}

type adminUserDeleteCmd struct {
	User string `arg:"" help:"Username or user id."`
	Yes  bool   `short:"y" help:"Do not ask for confirmation."`
}

func (c *adminUserDeleteCmd) run(a *adminEnv) error {
	u, _, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	if err := a.confirm(c.Yes, fmt.Sprintf("delete user %s (%s)", u.Username, u.UserID)); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := a.client.Delete(a.ctx(), apiPath("/admin/v1/users", u.UserID), nil, &raw); err != nil {
		return fmt.Errorf("delete user %s: %w", u.Username, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	fmt.Fprintf(a.stdout, "deleted user %s (%s)\n", u.Username, u.UserID)
	return nil
}

type adminUserForgetCmd struct {
	User string `arg:"" help:"Username or user id."`
}

// run revokes the user's remembered devices (DELETE
// /admin/v1/users/{id}/trusted_devices, a twostep extension).
func (c *adminUserForgetCmd) run(a *adminEnv) error {
	u, _, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := a.client.Delete(a.ctx(), apiPath("/admin/v1/users", u.UserID, "trusted_devices"), nil, &raw); err != nil {
		return fmt.Errorf("forget remembered devices of user %s: %w", u.Username, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	var got struct {
		Deleted int `json:"deleted"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Errorf("forget remembered devices of user %s: %w", u.Username, err)
	}
	noun := "devices"
	if got.Deleted == 1 {
		noun = "device"
	}
	fmt.Fprintf(a.stdout, "forgot %d remembered %s of user %s (%s)\n", got.Deleted, noun, u.Username, u.UserID)
	return nil
}
