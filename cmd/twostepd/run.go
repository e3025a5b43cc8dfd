package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/twostep-auth/twostep/internal/config"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

// cli is the command line. Flags given here override the configuration file
// and the environment.
type cli struct {
	ConfigFile     string   `name:"config" help:"TOML configuration file." placeholder:"FILE"`
	Data           string   `help:"Data directory (default ./twostep-data; env TWOSTEP_DATA)." placeholder:"DIR"`
	Database       string   `help:"Database: empty for embedded SQLite in the data directory, or postgres://... (env TWOSTEP_DATABASE)." placeholder:"DSN"`
	Listen         string   `help:"HTTPS listen address (default 127.0.0.1:8443; env TWOSTEP_LISTEN)." placeholder:"HOST:PORT"`
	PublicHostname []string `name:"public-hostname" help:"Host name clients use to reach this server (repeatable; env TWOSTEP_PUBLIC_HOSTNAMES)." placeholder:"NAME"`
	TLSCert        string   `name:"tls-cert" help:"PEM certificate to serve instead of the generated local one." placeholder:"FILE"`
	TLSKey         string   `name:"tls-key" help:"PEM private key for --tls-cert." placeholder:"FILE"`
	LogLevel       string   `name:"log-level" help:"debug, info, warn or error." placeholder:"LEVEL"`
	LogFormat      string   `name:"log-format" help:"text or json." placeholder:"FORMAT"`

	Serve   serveCmd   `cmd:"" help:"Run the server."`
	Migrate migrateCmd `cmd:"" help:"Apply database migrations and exit."`
	Config  struct {
		Check configCheckCmd `cmd:"" help:"Validate the configuration and print it with secrets redacted."`
	} `cmd:"" help:"Configuration commands."`
	Rekey   rekeyCmd   `cmd:"" help:"Re-seal every stored secret under a new master key."`
	Admin   adminCmd   `cmd:"" help:"Manage users, phones, tokens, bypass codes, administrators and integrations over the Admin API."`
	Outbox  outboxCmd  `cmd:"" help:"Read the development outbox (SMS, calls, email) and answer its calls."`
	Version versionCmd `cmd:"" help:"Print version, commit and Go version."`

	GenUsers genUsersCmd `cmd:"" name:"gen-users" help:"Write N generated users with devices straight into the database, for scale tests."`
	Bench    benchCmd    `cmd:"" help:"Put a running twostepd (on this machine) under a bounded Auth API load and print throughput and latency."`

	Delivery struct {
		Test deliveryTestCmd `cmd:"" help:"Send a test SMS through the configured carrier."`
	} `cmd:"" help:"SMS and call carrier commands."`
	OIDC struct {
		RotateKeys oidcRotateCmd `cmd:"" name:"rotate-keys" help:"Make a new OIDC signing key sign from now on (old keys stay published until their tokens expire)."`
	} `cmd:"" name:"oidc" help:"OpenID Connect provider commands."`
}

// env is what every command gets.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cli    *cli
}

// usageError is a command-line mistake: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// exited carries kong's exit status out of Parse (help, --version).
type exited struct{ code int }

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("twostepd"),
		kong.Description("twostep: self-hosted two-step login, compatible with Duo's APIs."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exited{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		return fmt.Errorf("command line: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			e, ok := p.(exited)
			if !ok {
				panic(p)
			}
			if e.code != 0 {
				err = usageError{fmt.Errorf("exit status %d", e.code)}
			}
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		return usageError{fmt.Errorf("%w (see twostepd --help)", err)}
	}
	e := &env{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, cli: &c}
	switch kctx.Command() {
	case "serve":
		return c.Serve.run(e)
	case "migrate":
		return c.Migrate.run(e)
	case "config check":
		return c.Config.Check.run(e)
	case "rekey":
		return c.Rekey.run(e)
	case "version":
		return c.Version.run(e)
	case "gen-users":
		return c.GenUsers.run(e)
	case "bench":
		return c.Bench.run(e)
	case "outbox", "outbox list":
		return c.Outbox.List.run(e)
	case "delivery test <to>":
		return c.Delivery.Test.run(e)
	case "outbox answer <call-id> <key>":
		return c.Outbox.Answer.run(e)
	case "oidc rotate-keys":
		return c.OIDC.RotateKeys.run(e)
	}
	if strings.HasPrefix(kctx.Command(), "admin ") {
		return c.Admin.run(e, kctx)
	}
	return usageError{fmt.Errorf("unknown command %q", kctx.Command())}
}

// loadConfig layers defaults, the file, the environment and the flags, and
// validates the result, reporting every problem at once.
func (e *env) loadConfig() (config.Config, error) {
	cfg, err := config.Load(e.cli.ConfigFile, e.getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	c := e.cli
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.DataDir, c.Data)
	set(&cfg.Listen, c.Listen)
	set(&cfg.TLS.Cert, c.TLSCert)
	set(&cfg.TLS.Key, c.TLSKey)
	set(&cfg.Log.Level, c.LogLevel)
	set(&cfg.Log.Format, c.LogFormat)
	if c.Database != "" {
		cfg.Database = config.Secret(c.Database)
	}
	if len(c.PublicHostname) > 0 {
		cfg.PublicHostnames = c.PublicHostname
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

// logger writes to stderr in the configured format and level.
func (e *env) logger(cfg config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		// JSON escapes C0 controls but leaves C1 controls and format
		// characters (U+202E) as they are; the text handler quotes them.
		opts.ReplaceAttr = escapeAttr
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

// escapeAttr escapes control and format characters in string and error
// values (text from devices and clients) with escapeText.
func escapeAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; {
	case v.Kind() == slog.KindString && needsEscape(v.String()):
		a.Value = slog.StringValue(escapeText(v.String()))
	case v.Kind() == slog.KindAny:
		if err, ok := v.Any().(error); ok && needsEscape(err.Error()) {
			a.Value = slog.StringValue(escapeText(err.Error()))
		}
	}
	return a
}

type versionCmd struct{}

func (versionCmd) run(e *env) error {
	c := commit
	if c == "" {
		c = "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	fmt.Fprintf(e.stdout, "twostepd %s\ncommit %s\n%s %s/%s\n", version, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

type configCheckCmd struct{}

func (configCheckCmd) run(e *env) error {
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := cfg.WriteTOML(&b); err != nil {
		return err
	}
	fmt.Fprint(e.stdout, b.String())
	fmt.Fprintln(e.stdout, "# configuration is valid")
	return nil
}
