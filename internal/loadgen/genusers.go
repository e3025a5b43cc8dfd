package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// Generator writes a population of users with devices straight into the
// store, in batches (sqlstore.BulkCreateUsers), for scale tests. User i is
// named Prefix followed by i in seven or more digits; its devices
// alternate, starting with an HOTP token (h6, serial "<username>-<k>",
// random secret, sealed like any token) and then a mobile phone (SMS
// capable, number +1555 and seven digits, no authenticator app). Names are
// deterministic, so a run over names that already exist skips them: an
// interrupted run is resumed by running it again.
type Generator struct {
	Prefix         string
	Users          int // how many users, named Prefix+Start .. Prefix+Start+Users-1
	Start          int
	DevicesPerUser int
	Batch          int // users per transaction
	Rand           io.Reader
	Now            func() time.Time
	// Progress, if set, is called after each batch.
	Progress func(Progress)
}

// Progress is where a run stands.
type Progress struct {
	Done, Created, Skipped, Total int
	Elapsed                       time.Duration
}

// MaxGenUsers and MaxDevicesPerUser bound a run.
const (
	MaxGenUsers       = 10_000_000
	MaxDevicesPerUser = 10
)

// Username is user i's name.
func (g *Generator) Username(i int) string { return fmt.Sprintf("%s%07d", g.Prefix, i) }

// Check reports the first invalid setting.
func (g *Generator) Check() error {
	switch {
	case g.Users < 1 || g.Users > MaxGenUsers:
		return fmt.Errorf("--users %d: want 1 to %d", g.Users, MaxGenUsers)
	case g.Start < 0 || g.Start > MaxGenUsers:
		return fmt.Errorf("--start %d: want 0 to %d", g.Start, MaxGenUsers)
	case g.DevicesPerUser < 0 || g.DevicesPerUser > MaxDevicesPerUser:
		return fmt.Errorf("--devices-per-user %d: want 0 to %d", g.DevicesPerUser, MaxDevicesPerUser)
	case g.Batch < 1 || g.Batch > 100_000:
		return fmt.Errorf("--batch %d: want 1 to 100000", g.Batch)
	case g.Prefix == "" || len(g.Prefix) > 64:
		return errors.New("--prefix: want 1 to 64 characters")
	}
	return nil
}

// Run writes the users, batch after batch, until done or ctx ends.
func (g *Generator) Run(ctx context.Context, st *sqlstore.Store) (Progress, error) {
	if err := g.Check(); err != nil {
		return Progress{}, err
	}
	p := Progress{Total: g.Users}
	start := time.Now()
	for p.Done < g.Users {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		n := min(g.Batch, g.Users-p.Done)
		batch, err := g.batch(g.Start+p.Done, n)
		if err != nil {
			return p, err
		}
		created, err := st.BulkCreateUsers(ctx, batch)
		if err != nil {
			return p, fmt.Errorf("users %s to %s: %w", g.Username(g.Start+p.Done), g.Username(g.Start+p.Done+n-1), err)
		}
		p.Done += n
		p.Created += created
		p.Skipped += n - created
		p.Elapsed = time.Since(start)
		if g.Progress != nil {
			g.Progress(p)
		}
	}
	return p, nil
}

// batch builds users first .. first+n-1.
func (g *Generator) batch(first, n int) ([]sqlstore.BulkUser, error) {
	now := g.Now().UTC()
	out := make([]sqlstore.BulkUser, n)
	for j := range out {
		i := first + j
		id, err := mfa.NewID(mfa.PrefixUser, g.Rand)
		if err != nil {
			return nil, err
		}
		name := g.Username(i)
		b := sqlstore.BulkUser{User: mfa.User{ID: id, Username: name, Status: mfa.StatusActive, Created: now}}
		for k := range g.DevicesPerUser {
			if k%2 == 0 {
				tid, err := mfa.NewID(mfa.PrefixToken, g.Rand)
				if err != nil {
					return nil, err
				}
				secret := make([]byte, 20)
				if _, err := io.ReadFull(g.Rand, secret); err != nil {
					return nil, err
				}
				b.Tokens = append(b.Tokens, mfa.Token{ID: tid, Type: mfa.TokenH6, Serial: fmt.Sprintf("%s-%d", name, k),
					Secret: mfa.Secret(secret), Created: now})
				continue
			}
			pid, err := mfa.NewID(mfa.PrefixPhone, g.Rand)
			if err != nil {
				return nil, err
			}
			b.Phones = append(b.Phones, mfa.Phone{ID: pid, Number: fmt.Sprintf("+1555%07d", (i*MaxDevicesPerUser+k)%10_000_000),
				Name: fmt.Sprintf("phone %d", k), Type: mfa.PhoneMobile, Platform: "generic smartphone", Created: now})
		}
		out[j] = b
	}
	return out, nil
}
