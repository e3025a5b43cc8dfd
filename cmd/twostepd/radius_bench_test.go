package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duosecurity/duo_api_golang/authapi"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twostep-auth/twostep/internal/loadgen"
	"github.com/twostep-auth/twostep/internal/radiusd"
)

// BenchmarkRadiusPasscode compares, in one run on one server (a separate
// process, SQLite), append-mode RADIUS Access-Requests carrying an HOTP
// passcode with the Auth API's passcode logins: per iteration, fresh users
// with h6 tokens (Admin API) log in TWOSTEP_LOAD_AUTHS times (default
// 4096) through each front end, TWOSTEP_LOAD_CLIENTS (default 16) at a
// time, every one allowed. Each RADIUS client sends with its own UDP
// socket and a Message-Authenticator, waiting for each answer.
func BenchmarkRadiusPasscode(b *testing.B) {
	k := loadEnvInt(b, "TWOSTEP_LOAD_CLIENTS", defaultPasscodeClients, 1, 1024)
	auths := loadEnvInt(b, "TWOSTEP_LOAD_AUTHS", defaultPasscodeAuths, 1, 1<<20)
	conc := loadEnvInt(b, "TWOSTEP_LOAD_CONCURRENCY", defaultLoadConcurrency, 1, 1024)
	nUsers := (auths + loadgen.PasscodesPerUser - 1) / loadgen.PasscodesPerUser
	checkFileLimit(b, 2*k+conc)
	cfg := filepath.Join(b.TempDir(), "twostep.toml")
	os.WriteFile(cfg, []byte(`[radius]
listen = "127.0.0.1:0"

[[radius.clients]]
name = "bench-vpn"
networks = ["127.0.0.0/8"]
secret = "`+radiusSecret+`"
`), 0o600)
	s := startLoadServer(b, nil, "--config", cfg)
	var raddr string
	for deadline := time.Now().Add(10 * time.Second); raddr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`"msg":"radius listening","addr":"([^"]+)"`).FindStringSubmatch(s.logs.tail()); m != nil {
			raddr = m[1]
		}
	}
	if raddr == "" {
		b.Fatalf("no radius listener in the log:\n%s", s.logs.tail())
	}
	creds := s.credentials(b)
	pool := s.pool(b)
	duoTr := loadgen.NewDuoTransport(loadgen.LoopbackTransport(pool, k))
	setupTr := loadgen.LoopbackTransport(pool, conc)
	b.Cleanup(func() { duoTr.Base.CloseIdleConnections(); setupTr.CloseIdleConnections() })
	client := loadDuoClient(s.host, creds, duoTr)
	adm := loadAdminClient(b, s, creds, setupTr)

	// run sends every code of users, client w owning users w, w+k, ...,
	// in counter order, and returns how long it took.
	run := func(ctx context.Context, users []loadgen.HOTPUser, login func(w int, u loadgen.HOTPUser, code string) error) (time.Duration, error) {
		var firstErr atomic.Pointer[error]
		start := time.Now()
		var wg sync.WaitGroup
		for w := range k {
			wg.Go(func() {
				for c := range loadgen.PasscodesPerUser {
					for u := w; u < len(users) && ctx.Err() == nil && firstErr.Load() == nil; u += k {
						if err := login(w, users[u], users[u].Codes[c]); err != nil {
							err = fmt.Errorf("%s code %d: %w", users[u].Name, c, err)
							firstErr.CompareAndSwap(nil, &err)
						}
					}
				}
			})
		}
		wg.Wait()
		if p := firstErr.Load(); p != nil {
			return 0, *p
		}
		return time.Since(start), ctx.Err()
	}

	conns := make([]net.Conn, k)
	for w := range conns {
		c, err := net.Dial("udp", raddr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[w] = c
	}
	radiusLogin := func(w int, u loadgen.HOTPUser, code string) error {
		p := radius.New(radius.CodeAccessRequest, []byte(radiusSecret))
		rfc2865.UserName_SetString(p, u.Name)
		rfc2865.UserPassword_SetString(p, code)
		rfc2865.CallingStationID_SetString(p, u.IP)
		wire, err := radiusd.EncodeRequest(p)
		if err != nil {
			return err
		}
		c := conns[w]
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(wire); err != nil {
			return err
		}
		buf := make([]byte, radius.MaxPacketLength)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return err
			}
			if n < 20 || buf[1] != wire[1] {
				continue // a late answer to an earlier request
			}
			if code := radius.Code(buf[0]); code != radius.CodeAccessAccept {
				return fmt.Errorf("RADIUS answered %v", code)
			}
			return nil
		}
	}
	apiLogin := func(_ int, u loadgen.HOTPUser, code string) error {
		r, err := client.Auth("passcode", authapi.AuthUsername(u.Name), authapi.AuthPasscode(code), authapi.AuthIpAddr(u.IP))
		switch {
		case err != nil:
			return err
		case r.Stat != "OK" || r.Response.Result != "allow":
			return fmt.Errorf("Auth API answered %s %s %q", r.Stat, r.Response.Result, r.Response.Status_Msg)
		}
		return nil
	}

	var radiusDur, apiDur time.Duration
	var logins float64
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), loadPhaseTimeout)
		duoTr.SetPhase(ctx)
		apiUsers, err := loadgen.SetupHOTPUsers(ctx, adm, fmt.Sprintf("api%d", iter), nUsers, conc)
		if err == nil {
			var radUsers []loadgen.HOTPUser
			radUsers, err = loadgen.SetupHOTPUsers(ctx, adm, fmt.Sprintf("rad%d", iter), nUsers, conc)
			setupTr.CloseIdleConnections()
			b.StartTimer()
			var d time.Duration
			if d, err = run(ctx, apiUsers, apiLogin); err == nil {
				apiDur += d
				if d, err = run(ctx, radUsers, radiusLogin); err == nil {
					radiusDur += d
				}
			}
			b.StopTimer()
		}
		cancel()
		if err != nil {
			b.Fatalf("iteration %d: %v\nlog tail:\n%s", iter, err, s.logs.tail())
		}
		logins += float64(nUsers * loadgen.PasscodesPerUser)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(logins/radiusDur.Seconds(), "radius-auths/s")
	b.ReportMetric(logins/apiDur.Seconds(), "api-auths/s")
	b.ReportMetric(apiDur.Seconds()/radiusDur.Seconds(), "radius-vs-api")
	if warns, errs, problems := s.logs.counts(); warns+errs > 0 {
		b.Logf("server log: %d WARN and %d ERROR records; first: %v", warns, errs, problems)
	}
}
