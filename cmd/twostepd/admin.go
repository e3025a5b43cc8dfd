package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/twostep-auth/twostep/internal/adminclient"
	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/datadir"
)

// adminCmd is `twostepd admin ...`: the operator CLI over the Admin API.
// Every request is signed (v2, HMAC-SHA512) with an Admin API key taken from
// flags, then the environment, then the credentials file.
type adminCmd struct {
	Credentials string `help:"Credentials file (default <data>/initial-credentials.json)." placeholder:"FILE"`
	APIHost     string `name:"api-host" help:"Admin API host[:port] (env TWOSTEP_API_HOST)." placeholder:"HOST"`
	IKey        string `name:"ikey" help:"Admin API integration key (env TWOSTEP_ADMIN_IKEY)." placeholder:"IKEY"`
	SKeyFile    string `name:"skey-file" help:"File holding the Admin API secret key (env TWOSTEP_ADMIN_SKEY or TWOSTEP_ADMIN_SKEY_FILE)." placeholder:"FILE"`
	CAFile      string `name:"ca-file" help:"CA certificate(s) to trust, PEM (env TWOSTEP_CA_FILE; default the credentials file's, else the system roots)." placeholder:"FILE"`
	JSON        bool   `name:"json" help:"Print the API's response objects as JSON."`

	User struct {
		Add            adminUserAddCmd            `cmd:"" help:"Create a user."`
		List           adminUserListCmd           `cmd:"" help:"List users."`
		Show           adminUserShowCmd           `cmd:"" help:"Show one user with their phones and tokens."`
		SetStatus      adminUserSetStatusCmd      `cmd:"" name:"set-status" help:"Set a user's status."`
		Delete         adminUserDeleteCmd         `cmd:"" help:"Delete a user."`
		Forget         adminUserForgetCmd         `cmd:"" name:"forget-devices" help:"Forget a user's remembered devices: every application asks for the second step again."`
		SetPassword    adminUserSetPasswordCmd    `cmd:"" name:"set-password" help:"Set (or --clear) a user's twostep password, their first factor when twostep checks it."`
		Identity       adminUserIdentityCmd       `cmd:"" help:"Show, set or clear a user's self-service bypass identity answers (PIN; date of birth + last 4 ID digits)."`
		ImportIdentity adminUserImportIdentityCmd `cmd:"" name:"import-identity" help:"Import dates of birth and last 4 ID digits from a CSV of username,dob,id_last4."`
	} `cmd:"" help:"Users."`
	Phone struct {
		Add      adminPhoneAddCmd      `cmd:"" help:"Create a phone and attach it to a user."`
		Activate adminPhoneActivateCmd `cmd:"" help:"Make an activation link for the authenticator app."`
		Delete   adminPhoneDeleteCmd   `cmd:"" help:"Delete a phone."`
	} `cmd:"" help:"Phones."`
	Token struct {
		Import adminTokenImportCmd `cmd:"" help:"Import hardware tokens from a CSV or PSKC file."`
		Resync adminTokenResyncCmd `cmd:"" help:"Resynchronize an HOTP token from three consecutive codes."`
	} `cmd:"" help:"Hardware tokens."`
	Bypass struct {
		Create adminBypassCreateCmd `cmd:"" help:"Create bypass codes for a user (shown once)."`
		List   adminBypassListCmd   `cmd:"" help:"List bypass codes (never their values)."`
		Delete adminBypassDeleteCmd `cmd:"" help:"Delete a bypass code."`
	} `cmd:"" help:"Bypass codes."`
	Admin struct {
		Add  adminAdminAddCmd  `cmd:"" help:"Create an administrator."`
		List adminAdminListCmd `cmd:"" help:"List administrators."`
	} `cmd:"" help:"Administrators."`
	Integration struct {
		Add  adminIntegrationAddCmd  `cmd:"" help:"Create an integration (application keys)."`
		List adminIntegrationListCmd `cmd:"" help:"List integrations."`
		Show adminIntegrationShowCmd `cmd:"" help:"Show one integration."`
	} `cmd:"" help:"Integrations."`
	Logs struct {
		Auth  adminLogsAuthCmd  `cmd:"" help:"Authentication log."`
		Admin adminLogsAdminCmd `cmd:"" help:"Administrator log."`
	} `cmd:"" help:"Logs."`
}

// adminRunner is every admin leaf command.
type adminRunner interface {
	run(a *adminEnv) error
}

// adminEnv is what an admin command gets: the process env, the admin flags
// and a signed client.
type adminEnv struct {
	*env
	flags  *adminCmd
	client *adminclient.Client
	host   string // the API host the client calls
	// isTerminal reports whether a stream is an interactive terminal.
	isTerminal func(any) bool
}

func (c *adminCmd) run(e *env, kctx *kong.Context) error {
	node := kctx.Selected()
	if node == nil || !node.Target.CanAddr() {
		return usageError{fmt.Errorf("unknown command %q", kctx.Command())}
	}
	r, ok := node.Target.Addr().Interface().(adminRunner)
	if !ok {
		return usageError{fmt.Errorf("unknown command %q", kctx.Command())}
	}
	creds, err := resolveAdminCredentials(c, e.cli, e.getenv)
	if err != nil {
		return err
	}
	client, err := creds.client()
	if err != nil {
		return err
	}
	return r.run(&adminEnv{env: e, flags: c, client: client, host: creds.APIHost, isTerminal: isTerminal})
}

// adminCredentials is where and how to call the Admin API.
type adminCredentials struct {
	APIHost string
	IKey    string
	SKey    string
	CAFile  string
	// Source names where each value came from, for error messages.
	Source map[string]string
}

func (c adminCredentials) client() (*adminclient.Client, error) {
	var pool *x509.CertPool
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file (%s): %w", c.Source["ca_file"], err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s (%s) holds no PEM certificate", c.CAFile, c.Source["ca_file"])
		}
	}
	return adminclient.New(adminclient.Config{Host: c.APIHost, IKey: c.IKey, SKey: c.SKey, RootCAs: pool})
}

// credentialsJSON mirrors the parts of initial-credentials.json we use.
type adminCredentialsFile struct {
	APIHost  string `json:"api_host"`
	CAFile   string `json:"ca_file"`
	AdminAPI struct {
		IKey string `json:"ikey"`
		SKey string `json:"skey"`
	} `json:"admin_api"`
}

// resolveAdminCredentials layers the credentials file, the environment and
// the flags (flags win). The secret key never comes from a flag value: it
// comes from --skey-file, TWOSTEP_ADMIN_SKEY(_FILE) or the credentials file.
func resolveAdminCredentials(f *adminCmd, c *cli, getenv func(string) string) (adminCredentials, error) {
	out := adminCredentials{Source: map[string]string{}}
	set := func(key string, dst *string, v, source string) {
		if v != "" {
			*dst = v
			out.Source[key] = source
		}
	}

	// Flags and environment first, so that the file is needed only for
	// what they leave open.
	skeyFile := ""
	set("skey_file", &skeyFile, getenv("TWOSTEP_ADMIN_SKEY_FILE"), "TWOSTEP_ADMIN_SKEY_FILE")
	set("skey_file", &skeyFile, f.SKeyFile, "--skey-file")
	var envSKey string
	set("skey", &envSKey, getenv("TWOSTEP_ADMIN_SKEY"), "TWOSTEP_ADMIN_SKEY")
	if envSKey != "" && getenv("TWOSTEP_ADMIN_SKEY_FILE") != "" {
		return out, usageError{errors.New("both TWOSTEP_ADMIN_SKEY and TWOSTEP_ADMIN_SKEY_FILE are set; use one of them")}
	}

	var file adminCredentialsFile
	path, explicit := f.Credentials, f.Credentials != ""
	if !explicit {
		path = filepath.Join(adminDataDir(c, getenv), datadir.CredentialsFile)
	}
	needFile := explicit ||
		(f.APIHost == "" && getenv("TWOSTEP_API_HOST") == "") ||
		(f.IKey == "" && getenv("TWOSTEP_ADMIN_IKEY") == "") ||
		(skeyFile == "" && envSKey == "")
	if needFile {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := json.Unmarshal(b, &file); err != nil {
				return out, fmt.Errorf("credentials file %s: %w", path, err)
			}
		case explicit || !errors.Is(err, os.ErrNotExist):
			return out, fmt.Errorf("credentials file: %w", err)
		}
	}
	src := "credentials file " + path
	set("api_host", &out.APIHost, file.APIHost, src)
	set("ikey", &out.IKey, file.AdminAPI.IKey, src)
	set("skey", &out.SKey, file.AdminAPI.SKey, src)
	set("ca_file", &out.CAFile, file.CAFile, src)

	set("api_host", &out.APIHost, getenv("TWOSTEP_API_HOST"), "TWOSTEP_API_HOST")
	set("ikey", &out.IKey, getenv("TWOSTEP_ADMIN_IKEY"), "TWOSTEP_ADMIN_IKEY")
	set("skey", &out.SKey, envSKey, "TWOSTEP_ADMIN_SKEY")
	set("ca_file", &out.CAFile, getenv("TWOSTEP_CA_FILE"), "TWOSTEP_CA_FILE")

	set("api_host", &out.APIHost, f.APIHost, "--api-host")
	set("ikey", &out.IKey, f.IKey, "--ikey")
	set("ca_file", &out.CAFile, f.CAFile, "--ca-file")
	if skeyFile != "" {
		b, err := os.ReadFile(skeyFile)
		if err != nil {
			return out, fmt.Errorf("secret key (%s): %w", out.Source["skey_file"], err)
		}
		out.SKey = strings.TrimSpace(string(b))
		out.Source["skey"] = out.Source["skey_file"] + " " + skeyFile
	}
	delete(out.Source, "skey_file")

	var missing []string
	if out.APIHost == "" {
		missing = append(missing, "API host (--api-host or TWOSTEP_API_HOST)")
	}
	if out.IKey == "" {
		missing = append(missing, "integration key (--ikey or TWOSTEP_ADMIN_IKEY)")
	}
	if out.SKey == "" {
		missing = append(missing, "secret key (--skey-file or TWOSTEP_ADMIN_SKEY)")
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("no Admin API credentials: missing %s; %s was not found (use --credentials or --data)",
			strings.Join(missing, ", "), path)
	}
	out.APIHost = strings.TrimSuffix(strings.TrimPrefix(out.APIHost, "https://"), "/")
	return out, nil
}

// adminDataDir is the data directory: --data, TWOSTEP_DATA, the config
// file's data setting, or the default.
func adminDataDir(c *cli, getenv func(string) string) string {
	if c.Data != "" {
		return c.Data
	}
	if d := getenv("TWOSTEP_DATA"); d != "" {
		return d
	}
	if c.ConfigFile != "" {
		if cfg, err := config.Load(c.ConfigFile, getenv); err == nil && cfg.DataDir != "" {
			return cfg.DataDir
		}
	}
	return config.Defaults().DataDir
}

// isTerminal reports whether v is an *os.File on a character device.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (a *adminEnv) ctx() context.Context { return a.env.ctx }

// confirm asks on the terminal, or refuses without one unless yes is set.
func (a *adminEnv) confirm(yes bool, what string) error {
	if yes {
		return nil
	}
	if !a.isTerminal(a.stdin) {
		return usageError{fmt.Errorf("refusing to %s without confirmation: stdin is not a terminal; pass --yes", what)}
	}
	fmt.Fprintf(a.stderr, "%s? Type yes to confirm: ", capitalize(what))
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed; nothing changed")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// printJSON writes v as one indented JSON document. Raw messages are
// re-indented as they are.
func (a *adminEnv) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// rawList makes a JSON array out of raw objects (never null).
func rawList(items []json.RawMessage) []json.RawMessage {
	if items == nil {
		return []json.RawMessage{}
	}
	return items
}

// path joins path segments, escaping each argument.
func apiPath(prefix string, parts ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range parts {
		b.WriteString("/")
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

// fmtTime renders Unix seconds for a table; "-" for none.
func fmtTime(sec *int64) string {
	if sec == nil || *sec == 0 {
		return "-"
	}
	return time.Unix(*sec, 0).UTC().Format("2006-01-02 15:04:05Z")
}

// orDash renders an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readSecretFile reads a one-line secret (a password) from a file.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// isNotFound reports a 404 from the Admin API.
func isNotFound(err error) bool { return err != nil && adminclient.NotFound(err) }
