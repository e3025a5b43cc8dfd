package main

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/loadgen"
)

// genUsersCmd is `twostepd gen-users`: a population of users with devices
// for scale tests, written straight into the database (docs/benchmarks.md).
type genUsersCmd struct {
	Users          int    `help:"How many users to write." required:"" placeholder:"N"`
	DevicesPerUser int    `name:"devices-per-user" default:"2" help:"Devices per user, alternately an HOTP token (h6, random secret) and a mobile phone." placeholder:"K"`
	Prefix         string `default:"gen-" help:"Username prefix: user i is <prefix><i, 7 digits>." placeholder:"PREFIX"`
	Start          int    `default:"0" help:"Index of the first user." placeholder:"I"`
	Batch          int    `default:"2000" help:"Users per transaction." placeholder:"N"`
}

// run opens the database as migrate does (same locks, keys and schema
// check) and writes the users in batches, printing progress. Usernames
// that exist are skipped, so running it again resumes an interrupted run.
func (c genUsersCmd) run(e *env) error {
	g := &loadgen.Generator{Prefix: c.Prefix, Users: c.Users, Start: c.Start, DevicesPerUser: c.DevicesPerUser,
		Batch: c.Batch, Rand: rand.Reader, Now: time.Now}
	if err := g.Check(); err != nil {
		return usageError{err}
	}
	cfg, log, dir, unlock, err := e.prepare()
	if err != nil {
		return err
	}
	defer unlock()
	st, _, err := openChecked(e.ctx, cfg, dir, log)
	if err != nil {
		return err
	}
	defer st.Close()
	db := cfg.DatabaseRedacted()
	if cfg.DatabaseKind() == config.SQLite {
		db = "SQLite " + cfg.SQLitePath()
	}
	fmt.Fprintf(e.stdout, "database %s: writing users %s to %s with %d devices each\n",
		db, g.Username(c.Start), g.Username(c.Start+c.Users-1), c.DevicesPerUser)
	last := time.Time{}
	g.Progress = func(p loadgen.Progress) {
		if p.Done < p.Total && time.Since(last) < 2*time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(e.stdout, "%d/%d users (%d created, %d existed) in %v, %.0f users/s\n",
			p.Done, p.Total, p.Created, p.Skipped, p.Elapsed.Round(time.Millisecond), float64(p.Done)/p.Elapsed.Seconds())
	}
	p, err := g.Run(e.ctx, st)
	if err != nil {
		return fmt.Errorf("after %d of %d users (%d created; run the same command again to resume): %w", p.Done, p.Total, p.Created, err)
	}
	return nil
}
