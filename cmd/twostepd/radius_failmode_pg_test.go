package main

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// tcpForwarder relays TCP connections from a loopback port to target,
// until stop closes the port and every relayed connection: to the
// servers behind it, the database has gone away.
type tcpForwarder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startForwarder(t *testing.T, target string) *tcpForwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &tcpForwarder{ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(f.stop)
	return f
}

func (f *tcpForwarder) stop() {
	f.ln.Close()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// TestRadiusFailmodeDatabaseDown runs two twostepd nodes on one
// PostgreSQL database reached through a relay, one RADIUS client failmode
// secure on the first and safe on the second; then the relay stops. Secure
// rejects saying why; safe accepts and logs it; before the outage safe
// rejects a wrong code like secure does.
func TestRadiusFailmodeDatabaseDown(t *testing.T) {
	needProgram(t, "radclient", "freeradius-utils")
	needProgram(t, "oathtool", "oathtool")
	dsn := sqltest.FreshDatabaseDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	fw := startForwarder(t, u.Host)
	u.Host = fw.ln.Addr().String()
	key := make([]byte, 32)
	rand.Read(key)
	env := map[string]string{"TWOSTEP_DATABASE": u.String(), "TWOSTEP_MASTER_KEY": base64.StdEncoding.EncodeToString(key)}
	getenv := func(k string) string { return env[k] }
	client := func(failmode string) string {
		return `
[[radius.clients]]
name = "vpn"
networks = ["127.0.0.1/32"]
secret = "` + radiusSecret + `"
failmode = "` + failmode + `"
`
	}
	secure := startRadiusServe(t, client("secure"), getenv)
	safe := startRadiusServe(t, client("safe"), getenv)
	secret := secure.hotpUser("carol")
	login := func(code string) []string {
		return []string{"User-Name = carol", `User-Password = "` + code + `"`}
	}

	// Up: a wrong code is rejected on both, a right one accepted.
	for _, rs := range []*radiusServer{secure, safe} {
		if r := rs.radclient(radiusSecret, true, login("000000")...); r.Code != "Access-Reject" {
			t.Errorf("wrong code with the database up = %q, want Access-Reject:\n%s", r.Code, r.Out)
		}
	}
	if r := safe.radclient(radiusSecret, true, login(oathHOTP(t, secret, 0))...); r.Code != "Access-Accept" {
		t.Fatalf("right code with the database up = %q, want Access-Accept:\n%s", r.Code, r.Out)
	}

	fw.stop()
	r := secure.radclient(radiusSecret, true, login(oathHOTP(t, secret, 1))...)
	if r.Code != "Access-Reject" || !strings.Contains(r.Out, "cannot reach its database") {
		t.Errorf("failmode secure, database down = %q, want Access-Reject saying why:\n%s", r.Code, r.Out)
	}
	r = safe.radclient(radiusSecret, true, login(oathHOTP(t, secret, 1))...)
	if r.Code != "Access-Accept" || !strings.Contains(r.Out, "database is unreachable") {
		t.Errorf("failmode safe, database down = %q, want Access-Accept saying why:\n%s", r.Code, r.Out)
	}
	if !strings.Contains(safe.in.logs.String(), "failmode safe: accepted without a second factor") {
		t.Errorf("the safe node's log does not record the fail-open accept:\n%s", safe.in.logs)
	}
	if strings.Contains(secure.in.logs.String(), "failmode safe") {
		t.Error("the secure node logged a fail-open accept")
	}
}
