// Package loadgen puts a running twostepd under a bounded Auth API load
// (Bench, used by `twostepd bench` and by the load benchmarks in
// cmd/twostepd) and writes large user populations straight into a store
// (Generator, used by `twostepd gen-users`). See docs/benchmarks.md.
package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/adminclient"
	"github.com/twostep-auth/twostep/internal/otp"
)

// PasscodesPerUser is how many HOTP codes a load user gets, below
// authflow.DefaultUserLimit's burst of 20, so that the per-user attempt
// limit never binds.
const PasscodesPerUser = 16

// RequestTimeout bounds any one request, long polls included (an
// auth_status poll answers within authflow.StatusPollWait).
const RequestTimeout = 60 * time.Second

// ErrRateLimited is an HTTP 429. DuoTransport returns it instead of the
// response: duo_api_golang would retry a 429 itself, re-sending a spent
// POST body.
var ErrRateLimited = errors.New("HTTP 429")

// Transport is an HTTP/1.1 transport trusting pool that keeps up to idle
// connections open, as Duo's clients speak it (duo_api_golang's own
// transport, duo_unix): one TCP+TLS connection per request in flight, so
// a waiting long poll holds a connection. A non-empty dialIP is dialled
// whatever the host name (the certificate names localhost).
func Transport(pool *x509.CertPool, idle int, dialIP string) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dialIP == "" {
				return d.DialContext(ctx, network, addr)
			}
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, "tcp", net.JoinHostPort(dialIP, port))
		},
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
	}
}

// LoopbackTransport is Transport dialling 127.0.0.1.
func LoopbackTransport(pool *x509.CertPool, idle int) *http.Transport {
	return Transport(pool, idle, "127.0.0.1")
}

// DuoTransport sits under Duo's Auth API client, whose calls take no
// context: it bounds every request by the current phase's context, turns a
// 429 into ErrRateLimited, and, while Counting, counts auth_status requests
// written to the wire (Written).
type DuoTransport struct {
	Base     *http.Transport
	phase    atomic.Pointer[context.Context]
	Counting atomic.Bool
	Written  atomic.Int64
}

// NewDuoTransport wraps base.
func NewDuoTransport(base *http.Transport) *DuoTransport {
	t := &DuoTransport{Base: base}
	t.SetPhase(context.Background())
	return t
}

// SetPhase makes ctx bound every request from now on.
func (t *DuoTransport) SetPhase(ctx context.Context) { t.phase.Store(&ctx) }

func (t *DuoTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(*t.phase.Load(), cancel)
	done := func() { stop(); cancel() }
	if t.Counting.Load() && r.URL.Path == "/auth/v2/auth_status" {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { t.Written.Add(1) },
		})
	}
	resp, err := t.Base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		done()
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done()
		return nil, ErrRateLimited
	}
	resp.Body = &closeFunc{ReadCloser: resp.Body, done: done}
	return resp, nil
}

type closeFunc struct {
	io.ReadCloser
	done func()
}

func (c *closeFunc) Close() error {
	err := c.ReadCloser.Close()
	c.done()
	return err
}

// DuoClient is Duo's Auth API client for host (host[:port]) over rt.
func DuoClient(host, ikey, skey string, rt http.RoundTripper) *authapi.AuthApi {
	api := duoapi.NewDuoApi(ikey, skey, host, "twostep-load")
	api.SetCustomHTTPClient(&http.Client{Timeout: RequestTimeout, Transport: rt})
	return authapi.NewAuthApi(*api)
}

// IP is simulated user i's client address, in 198.18.0.0/15 (RFC 2544's
// benchmarking range), so that the per-address limiter sees many
// addresses.
func IP(i int) string {
	i++
	return fmt.Sprintf("198.%d.%d.%d", 18+(i>>16)&1, (i>>8)&255, i&255)
}

// ForEach calls fn(ctx, i) for every i in [0, n) on at most conc
// goroutines. The first error stops the rest and is returned.
func ForEach(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// SleepCtx sleeps for d or until ctx ends.
func SleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// Latencies summarises durations in milliseconds.
type Latencies []time.Duration

// Pct is the q quantile (0 < q <= 1) in milliseconds; NaN when empty.
func (l Latencies) Pct(q float64) float64 {
	if len(l) == 0 {
		return math.NaN()
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i]) / float64(time.Millisecond)
}

// HOTPUser is a user with an HOTP hardware token whose codes are known.
type HOTPUser struct {
	Name  string
	IP    string
	Codes []string // counters 0, 1, ...
}

// SetupHOTPUsers makes n users named prefix-i (i in five or more digits),
// each with an h6 token of a random secret, through the Admin API, and
// computes their first PasscodesPerUser codes.
func SetupHOTPUsers(ctx context.Context, adm *adminclient.Client, prefix string, n, conc int) ([]HOTPUser, error) {
	users := make([]HOTPUser, n)
	err := ForEach(ctx, n, conc, func(ctx context.Context, i int) error {
		u := HOTPUser{Name: fmt.Sprintf("%s-%05d", prefix, i), IP: IP(i)}
		secret := make([]byte, 20)
		rand.Read(secret)
		var user struct {
			UserID string `json:"user_id"`
		}
		if err := adm.Post(ctx, "/admin/v1/users", url.Values{"username": {u.Name}}, &user); err != nil {
			return fmt.Errorf("create user %s: %w", u.Name, err)
		}
		var tok struct {
			TokenID string `json:"token_id"`
		}
		p := url.Values{"type": {"h6"}, "serial": {u.Name}, "secret": {hex.EncodeToString(secret)}, "counter": {"0"}}
		if err := adm.Post(ctx, "/admin/v1/tokens", p, &tok); err != nil {
			return fmt.Errorf("create token for %s: %w", u.Name, err)
		}
		if err := adm.Post(ctx, "/admin/v1/users/"+user.UserID+"/tokens", url.Values{"token_id": {tok.TokenID}}, nil); err != nil {
			return fmt.Errorf("attach token to %s: %w", u.Name, err)
		}
		for c := range PasscodesPerUser {
			u.Codes = append(u.Codes, otp.HOTP(secret, uint64(c), 6))
		}
		users[i] = u
		return nil
	})
	return users, err
}

// CPUSelf is this process's CPU time so far.
func CPUSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ProcRSS is process pid's resident set (VmRSS) in bytes, from /proc.
func ProcRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}
