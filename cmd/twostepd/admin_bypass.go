package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// apiBypass is Duo's bypass code object; it never holds the code.
type apiBypass struct {
	BypassCodeID string     `json:"bypass_code_id"`
	AdminEmail   string     `json:"admin_email"`
	Created      *int64     `json:"created"`
	Expiration   *int64     `json:"expiration"`
	ReuseCount   *int       `json:"reuse_count"`
	User         apiUserRef `json:"user"`
}

type adminBypassCreateCmd struct {
	User             string   `arg:"" help:"Username or user id."`
	Count            int      `help:"How many codes to generate (1-10; default 10)." placeholder:"N"`
	Codes            []string `help:"Use these codes (comma-separated) instead of random ones." placeholder:"CODE"`
	ReuseCount       *int     `name:"reuse-count" help:"Uses per code; 0 = unlimited (default 1)." placeholder:"N"`
	ValidSecs        *int     `name:"valid-secs" help:"Seconds until the codes expire; 0 = never (default)." placeholder:"N"`
	PreserveExisting bool     `name:"preserve-existing" help:"Keep the user's existing codes (by default new codes replace them)."`
}

func (c *adminBypassCreateCmd) run(a *adminEnv) error {
	if c.Count != 0 && len(c.Codes) > 0 {
		return usageError{fmt.Errorf("--count and --codes are mutually exclusive")}
	}
	if c.Count < 0 || c.Count > 10 {
		return usageError{fmt.Errorf("--count %d: want 1 to 10", c.Count)}
	}
	u, _, err := a.resolveUser(c.User)
	if err != nil {
		return err
	}
	p := url.Values{}
	if c.Count > 0 {
		p.Set("count", strconv.Itoa(c.Count))
	}
	if len(c.Codes) > 0 {
		p.Set("codes", strings.Join(c.Codes, ","))
	}
	if c.ReuseCount != nil {
		p.Set("reuse_count", strconv.Itoa(*c.ReuseCount))
	}
	if c.ValidSecs != nil {
		p.Set("valid_secs", strconv.Itoa(*c.ValidSecs))
	}
	if c.PreserveExisting {
		p.Set("preserve_existing", "true")
	}
	var raw json.RawMessage
	if err := a.client.Post(a.ctx(), apiPath("/admin/v1/users", u.UserID, "bypass_codes"), p, &raw); err != nil {
		return fmt.Errorf("create bypass codes for %s: %w", u.Username, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	var codes []string
	if err := json.Unmarshal(raw, &codes); err != nil {
		return fmt.Errorf("create bypass codes for %s: decode response: %w", u.Username, err)
	}
	fmt.Fprintf(a.stderr, "warning: these bypass codes for %s are shown only now; they cannot be displayed again.\n", u.Username)
	if !c.PreserveExisting {
		fmt.Fprintf(a.stderr, "note: they replace any earlier codes of %s (use --preserve-existing to keep them).\n", u.Username)
	}
	for _, code := range codes {
		fmt.Fprintln(a.stdout, code)
	}
	return nil
}

type adminBypassListCmd struct {
	User string `arg:"" optional:"" help:"Username or user id (default: every user)."`
}

func (c *adminBypassListCmd) run(a *adminEnv) error {
	path := "/admin/v1/bypass_codes"
	what := "list bypass codes"
	if c.User != "" {
		u, _, err := a.resolveUser(c.User)
		if err != nil {
			return err
		}
		path = apiPath("/admin/v1/users", u.UserID, "bypass_codes")
		what += " of " + u.Username
	}
	list, err := a.client.List(a.ctx(), path, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if a.flags.JSON {
		return a.printJSON(rawList(list))
	}
	t := newTable(a.stdout, "BYPASS CODE ID", "USER", "USES LEFT", "EXPIRES", "CREATED", "CREATED BY")
	for _, raw := range list {
		var b apiBypass
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("decode bypass code: %w", err)
		}
		uses := "unlimited"
		if b.ReuseCount != nil {
			uses = strconv.Itoa(*b.ReuseCount)
		}
		expires := "never"
		if b.Expiration != nil {
			expires = fmtTime(b.Expiration)
		}
		t.row(b.BypassCodeID, b.User.Username, uses, expires, fmtTime(b.Created), b.AdminEmail)
	}
	return t.flush()
}

type adminBypassDeleteCmd struct {
	ID string `arg:"" help:"Bypass code id (from bypass list)."`
}

func (c *adminBypassDeleteCmd) run(a *adminEnv) error {
	// The API answers a delete of a missing code with OK (as Duo does), so
	// look it up first to tell the operator about a wrong id.
	err := a.client.Get(a.ctx(), apiPath("/admin/v1/bypass_codes", c.ID), nil, nil)
	if isNotFound(err) {
		return fmt.Errorf("delete bypass code %s: not found (spent, expired or never issued)", c.ID)
	}
	var raw json.RawMessage
	if err == nil {
		err = a.client.Delete(a.ctx(), apiPath("/admin/v1/bypass_codes", c.ID), nil, &raw)
	}
	if err != nil {
		return fmt.Errorf("delete bypass code %s: %w", c.ID, err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	fmt.Fprintf(a.stdout, "deleted bypass code %s\n", c.ID)
	return nil
}
