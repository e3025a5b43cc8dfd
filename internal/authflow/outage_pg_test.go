package authflow_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// cutProxy relays TCP connections from a loopback port to PostgreSQL.
// cut closes every relayed connection and answers new ones by closing
// them at once, as a stopped server would; restore relays again, on the
// same port. The shared PostgreSQL itself is never touched.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			p.wg.Go(func() { io.Copy(up, c); up.Close(); c.Close() })
			p.wg.Go(func() { io.Copy(c, up); c.Close(); up.Close() })
		}
	})
	return p
}

func (p *cutProxy) set(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *cutProxy) close() {
	p.set(true)
	p.ln.Close()
	p.wg.Wait()
}

// TestPostgresOutage: with PostgreSQL unreachable, logins fail at once
// with Unavailable (503 at the API), nothing hangs; when it is back, the
// next login succeeds without a restart; and once the store is closed no
// goroutine of the store or the service is left. The shared PostgreSQL is
// never stopped: the test cuts an in-process proxy in front of it. Times
// are logged, not asserted (a loaded machine would make them flaky); a
// failed attempt must end within the context's 30 s, and recovery must
// come within 30 s of the restore.
func TestPostgresOutage(t *testing.T) {
	dsn := sqltest.PostgresDSN(t) // creates the schema (before the leak baseline)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := startCutProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	st, err := sqlstore.Open(context.Background(), sqlstore.Options{DSN: u.String(), Sealer: sqltest.Keyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := newEnvStore(t, st, authflow.WithDurableLimits(authflow.DefaultDurableUserLimit, authflow.DefaultDurableIPLimit))
	e.token(e.user("alice", mfa.StatusActive), mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
	login := func(c uint64) (authflow.AuthResult, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return e.Svc.Auth(ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"},
			Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(otp.HOTP(seed, c, 6)), IP: "192.0.2.1"})
	}
	if res, err := login(0); err != nil || res.Result != authflow.ResultAllow {
		t.Fatalf("login before the outage = %+v, %v; want allow", res, err)
	}

	p.set(true)
	for i := range 5 {
		t0 := time.Now()
		_, err := login(1)
		if mfa.KindOf(err) != mfa.Unavailable {
			t.Errorf("login %d during the outage = %v (kind %v), want Unavailable", i, err, mfa.KindOf(err))
		}
		t.Logf("login %d during the outage failed after %v", i, time.Since(t0))
	}

	p.set(false)
	t0 := time.Now()
	for attempt := 1; ; attempt++ {
		res, err := login(1)
		if err == nil {
			if res.Result != authflow.ResultAllow {
				t.Errorf("login after the outage = %+v, want allow (the failed attempts spent nothing)", res)
			}
			t.Logf("recovered at attempt %d, %v after PostgreSQL's return", attempt, time.Since(t0))
			break
		}
		if time.Since(t0) > 30*time.Second {
			t.Fatalf("no login succeeded within 30 s of PostgreSQL's return: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a real server's return
	}
	st.Close()
	p.close()
}
