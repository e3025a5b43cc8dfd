package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// apiIntegration is the part of Duo's integration object the CLI shows.
type apiIntegration struct {
	IntegrationKey string `json:"integration_key"`
	SecretKey      string `json:"secret_key"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	EnrollPolicy   string `json:"enroll_policy"`
	Notes          string `json:"notes"`
	// Admin API permissions, "1"/"0" or booleans.
	Perms map[string]json.RawMessage `json:"-"`
}

// adminPerms are the Admin API permission names, without "adminapi_".
var adminPerms = []string{"admins", "info", "integrations", "read_log", "read_resource", "settings", "write_resource"}

// integrationPath is where twostep serves integrations: Duo's legacy v1
// paths (create, list, get).
const integrationPath = "/admin/v1/integrations"

type adminIntegrationAddCmd struct {
	Name         string   `arg:"" help:"Application name."`
	Type         string   `required:"" enum:"authapi,adminapi,unix,websdk,oidc" help:"authapi, adminapi, unix, websdk (Universal Prompt) or oidc (OpenID Connect client)."`
	Perm         []string `help:"Admin API permissions, comma-separated: admins, info, integrations, read_log, read_resource, settings, write_resource, or all." placeholder:"PERM"`
	EnrollPolicy string   `name:"enroll-policy" help:"enroll, allow or deny (Auth API)." placeholder:"POLICY"`
	Notes        string   `help:"Notes."`
	RedirectURI  []string `name:"redirect-uri" help:"websdk and oidc: where the browser may be sent back (https, or http on loopback); repeat or comma-separate." placeholder:"URL"`
	// OIDC clients.
	PublicClient          bool     `name:"public-client" help:"oidc: a public client (no secret; PKCE required)."`
	PostLogoutRedirectURI []string `name:"post-logout-redirect-uri" help:"oidc: where end_session may send the browser back; repeat or comma-separate." placeholder:"URL"`
}

func (c *adminIntegrationAddCmd) run(a *adminEnv) error {
	p := url.Values{"name": {c.Name}, "type": {c.Type}}
	if len(c.RedirectURI) > 0 && c.Type != "websdk" && c.Type != "oidc" {
		return usageError{fmt.Errorf("--redirect-uri applies only to --type websdk or oidc")}
	}
	if (c.Type == "websdk" || c.Type == "oidc") && len(c.RedirectURI) == 0 {
		return usageError{fmt.Errorf("--type %s needs at least one --redirect-uri", c.Type)}
	}
	if (c.PublicClient || len(c.PostLogoutRedirectURI) > 0) && c.Type != "oidc" {
		return usageError{fmt.Errorf("--public-client and --post-logout-redirect-uri apply only to --type oidc")}
	}
	if c.PublicClient {
		p.Set("public_client", "1")
	}
	if len(c.PostLogoutRedirectURI) > 0 {
		p.Set("post_logout_redirect_uris", strings.Join(c.PostLogoutRedirectURI, ","))
	}
	if len(c.RedirectURI) > 0 {
		p.Set("redirect_uris", strings.Join(c.RedirectURI, ","))
	}
	if len(c.Perm) > 0 && c.Type != "adminapi" {
		return usageError{fmt.Errorf("--perm applies only to --type adminapi")}
	}
	for _, perm := range c.Perm {
		perm = strings.TrimPrefix(strings.TrimSpace(perm), "adminapi_")
		if perm == "all" {
			for _, q := range adminPerms {
				p.Set("adminapi_"+q, "1")
			}
			continue
		}
		ok := false
		for _, q := range adminPerms {
			ok = ok || q == perm
		}
		if !ok {
			return usageError{fmt.Errorf("unknown permission %q: want %s or all", perm, strings.Join(adminPerms, ", "))}
		}
		p.Set("adminapi_"+perm, "1")
	}
	if c.EnrollPolicy != "" {
		p.Set("enroll_policy", c.EnrollPolicy)
	}
	if c.Notes != "" {
		p.Set("notes", c.Notes)
	}
	var raw json.RawMessage
	if err := a.client.Post(a.ctx(), integrationPath, p, &raw); err != nil {
		return fmt.Errorf("create integration: %w", err)
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	var in apiIntegration
	json.Unmarshal(raw, &in)
	fmt.Fprintf(a.stdout, "created integration %q (%s)\n", in.Name, in.Type)
	fields := []string{"Integration key", in.IntegrationKey, "Secret key", in.SecretKey}
	if a.host != "" {
		fields = append(fields, "API host", a.host)
	}
	if err := writeFields(a.stdout, fields...); err != nil {
		return err
	}
	if in.SecretKey != "" {
		fmt.Fprintln(a.stderr, "warning: keep the secret key safe; give it only to the application that uses it.")
	}
	return nil
}

// redactSecret drops secret_key from an integration object.
func redactSecret(raw json.RawMessage) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("decode integration: %w", err)
	}
	if _, ok := obj["secret_key"]; !ok {
		return raw, nil
	}
	delete(obj, "secret_key")
	return json.Marshal(obj)
}

type adminIntegrationListCmd struct{}

func (c *adminIntegrationListCmd) run(a *adminEnv) error {
	list, err := a.client.List(a.ctx(), integrationPath, nil)
	if err != nil {
		return fmt.Errorf("list integrations: %w", err)
	}
	for i, raw := range list {
		if list[i], err = redactSecret(raw); err != nil {
			return err
		}
	}
	if a.flags.JSON {
		return a.printJSON(rawList(list))
	}
	t := newTable(a.stdout, "INTEGRATION KEY", "NAME", "TYPE", "ENROLL POLICY")
	for _, raw := range list {
		var in apiIntegration
		if err := json.Unmarshal(raw, &in); err != nil {
			return fmt.Errorf("decode integration: %w", err)
		}
		t.row(in.IntegrationKey, in.Name, in.Type, in.EnrollPolicy)
	}
	return t.flush()
}

type adminIntegrationShowCmd struct {
	IKey       string `arg:"" help:"Integration key."`
	ShowSecret bool   `name:"show-secret" help:"Also print the secret key."`
}

func (c *adminIntegrationShowCmd) run(a *adminEnv) error {
	var raw json.RawMessage
	err := a.client.Get(a.ctx(), apiPath(integrationPath, c.IKey), nil, &raw)
	if isNotFound(err) {
		return fmt.Errorf("integration %q not found", c.IKey)
	}
	if err != nil {
		return fmt.Errorf("show integration %s: %w", c.IKey, err)
	}
	var in apiIntegration
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("decode integration: %w", err)
	}
	if c.ShowSecret && in.SecretKey == "" {
		// Duo serves the secret separately.
		var s struct {
			SecretKey string `json:"secret_key"`
		}
		if err := a.client.Get(a.ctx(), apiPath(integrationPath, c.IKey, "skey"), nil, &s); err != nil {
			return fmt.Errorf("read secret key of %s: %w", c.IKey, err)
		}
		in.SecretKey = s.SecretKey
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			obj["secret_key"], _ = json.Marshal(s.SecretKey)
			raw, _ = json.Marshal(obj)
		}
	}
	if !c.ShowSecret {
		in.SecretKey = ""
		if raw, err = redactSecret(raw); err != nil {
			return err
		}
	}
	if a.flags.JSON {
		return a.printJSON(raw)
	}
	var obj map[string]json.RawMessage
	json.Unmarshal(raw, &obj)
	var perms []string
	for _, q := range adminPerms {
		if v, ok := obj["adminapi_"+q]; ok && truthy(v) {
			perms = append(perms, q)
		}
	}
	secret := "(hidden; use --show-secret)"
	if c.ShowSecret {
		secret = in.SecretKey
	}
	return writeFields(a.stdout, "Integration key", in.IntegrationKey, "Name", in.Name, "Type", in.Type,
		"Enroll policy", in.EnrollPolicy, "Permissions", strings.Join(perms, ", "), "Notes", in.Notes,
		"Secret key", secret)
}

// truthy reads Duo's booleans: true, 1, "1", "true".
func truthy(v json.RawMessage) bool {
	switch strings.Trim(string(v), `"`) {
	case "true", "1":
		return true
	}
	return false
}
