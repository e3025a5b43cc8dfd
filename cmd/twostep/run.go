package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// Set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit statuses.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitRevoked  = 3 // the install must be reactivated
	exitCanceled = 130
)

// cli is the command line.
type cli struct {
	Vault          string `help:"Vault file (env TWOSTEP_VAULT; default $XDG_CONFIG_HOME/twostep/vault.age or ~/.config/twostep/vault.age)." placeholder:"PATH"`
	PassphraseFile string `name:"passphrase-file" help:"Read the vault passphrase from this file (env TWOSTEP_PASSPHRASE_FILE; or set TWOSTEP_PASSPHRASE)." placeholder:"FILE"`
	NoPassphrase   bool   `name:"no-passphrase" help:"When the vault is created, store it unencrypted (later commands need no flag)."`
	CAFile         string `name:"ca-file" help:"CA certificate(s) the server's TLS certificate is signed by, PEM (env TWOSTEP_CA_FILE). Saved with the account at activation." placeholder:"PEM"`

	Activate activateCmd `cmd:"" help:"Register this device with a twostep server (activation code, activation link or QR image)."`
	Code     codeCmd     `cmd:"" help:"Show passcodes; works offline."`
	Refresh  refreshCmd  `cmd:"" help:"Move to the next passcode (same as code --next), when the server says a code was used."`
	Watch    watchCmd    `cmd:"" help:"Wait for login requests and approve or deny them."`
	Pending  pendingCmd  `cmd:"" help:"List login requests waiting for an answer."`
	Approve  approveCmd  `cmd:"" help:"Approve a waiting login request."`
	Deny     denyCmd     `cmd:"" help:"Deny a waiting login request (--fraud to report it)."`
	Add      addCmd      `cmd:"" help:"Add a third-party account from an otpauth:// link or its QR image."`
	Accounts accountsCmd `cmd:"" help:"List accounts."`
	Rename   renameCmd   `cmd:"" help:"Rename an account."`
	Remove   removeCmd   `cmd:"" help:"Remove an account from this device."`
	Export   exportCmd   `cmd:"" help:"Write accounts to an encrypted bundle for another device, or show a third-party account as a QR code."`
	Import   importCmd   `cmd:"" help:"Add the accounts of an export bundle."`
	Version  versionCmd  `cmd:"" help:"Print the version."`
}

// command is every leaf command.
type command interface {
	run(a *app) error
}

// app is one invocation: the process's environment, the parsed command
// line, and what tests replace.
type app struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cli    *cli

	// Test seams; zero values mean the real thing.
	now          func() time.Time
	loc          *time.Location                      // for times shown; nil is Local
	transport    http.RoundTripper                   // replaces TLS to servers
	readPassword func(prompt string) (string, error) // replaces the terminal
	after        func(time.Duration) <-chan time.Time
	workFactor   int // scrypt log2 N for new encryption; 0 is age's default
	pendingPause time.Duration

	lines     chan lineResult // stdin lines, once a prompt needs them
	linesDone bool
}

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(getenv, stdin, stdout, stderr).run(ctx, args)
}

func newApp(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{
		getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr,
		now: time.Now, after: time.After, pendingPause: 3 * time.Second,
	}
}

// exited carries kong's exit status out of Parse (help).
type exited struct{ code int }

// usageError is a command-line mistake: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// statusError carries a chosen exit status with its message.
type statusError struct {
	status int
	err    error
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }

// silentError is an exit status whose message was already printed.
type silentError struct{ status int }

func (e silentError) Error() string { return fmt.Sprintf("exit status %d", e.status) }

func (a *app) run(ctx context.Context, args []string) (status int) {
	a.ctx = ctx
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(exited); ok {
				status = e.code
				return
			}
			// Never a Go stack in front of a user.
			fmt.Fprintf(a.stderr, "twostep: internal error: %v (please report this)\n", p)
			status = exitError
		}
	}()
	var c cli
	parser, err := kong.New(&c,
		kong.Name("twostep"),
		kong.Description("twostep: the authenticator app for twostep two-step login, and for any site's TOTP/HOTP accounts."),
		kong.Writers(a.stdout, a.stderr),
		kong.Exit(func(code int) { panic(exited{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(a.stderr, "twostep: command line: %v\n", err)
		return exitError
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(a.stderr, "twostep: %v (see twostep --help)\n", err)
		return exitUsage
	}
	a.cli = &c
	node := kctx.Selected()
	if node == nil || !node.Target.CanAddr() {
		fmt.Fprintf(a.stderr, "twostep: unknown command %q (see twostep --help)\n", kctx.Command())
		return exitUsage
	}
	cmd, ok := node.Target.Addr().Interface().(command)
	if !ok {
		fmt.Fprintf(a.stderr, "twostep: unknown command %q (see twostep --help)\n", kctx.Command())
		return exitUsage
	}
	return a.report(cmd.run(a))
}

// report prints err as one line and picks the exit status.
func (a *app) report(err error) int {
	if err == nil {
		return exitOK
	}
	var silent silentError
	if errors.As(err, &silent) {
		return silent.status
	}
	if errors.Is(err, context.Canceled) && a.ctx.Err() != nil {
		fmt.Fprintln(a.stderr, "twostep: interrupted")
		return exitCanceled
	}
	msg := strings.ReplaceAll(strings.TrimSpace(explain(err)), "\n", " ")
	fmt.Fprintln(a.stderr, "twostep: "+msg)
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var s statusError
	if errors.As(err, &s) {
		return s.status
	}
	return exitError
}

type versionCmd struct{}

func (versionCmd) run(a *app) error {
	fmt.Fprintf(a.stdout, "twostep %s\n", version)
	return nil
}
