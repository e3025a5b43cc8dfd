// Command twostepd is the twostep server and its operator CLI.
//
//	twostepd serve            run the server (HTTPS, zero configuration)
//	twostepd migrate          bring the database schema up to date
//	twostepd config check     print the validated configuration, secrets redacted
//	twostepd rekey            re-seal every secret under a new master key
//	twostepd version          print version, commit and Go version
//	twostepd admin ...        manage users, devices, bypass codes, admins, integrations, logs over the Admin API
//	twostepd outbox           list the development outbox; outbox answer CALL_ID 1|9 presses a key on a call
//	twostepd bench            bounded Auth API load against a twostepd on this machine
//	twostepd gen-users        write generated users with devices into the database (scale tests)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "twostepd:", err)
		os.Exit(exitCode(err))
	}
}
