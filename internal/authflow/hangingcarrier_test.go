package authflow_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// hangingCarrier is an SMS and voice carrier that takes every message and
// never answers until released (or the sender gives up).
type hangingCarrier struct {
	entered chan struct{}
	release chan struct{}
}

func (h *hangingCarrier) Send(ctx context.Context, _ mfa.Message) error {
	h.entered <- struct{}{}
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestHangingCarrierDoesNotSlowPasscodes: while SMS sends hang in the
// carrier, one per store connection and more, passcode logins of other
// users (and of the same user) are decided: nothing they need waits for
// the carrier. No timing: the logins complete while every send is still
// hanging, which a shared lock or a held connection would prevent.
func TestHangingCarrierDoesNotSlowPasscodes(t *testing.T) {
	const hanging = 24 // more than the store's 20 pooled connections
	h := &hangingCarrier{entered: make(chan struct{}, hanging), release: make(chan struct{})}
	e := newEnv(t, authflow.WithNotifier(h), authflow.WithSMSLimit(authflow.Limit{}))
	for i := range hanging {
		u := e.user(fmt.Sprintf("sms%d", i), mfa.StatusActive)
		e.phone(u, "+15555550100", mfa.PhoneMobile)
	}
	alice := e.user("alice", mfa.StatusActive)
	e.token(alice, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})

	var wg sync.WaitGroup
	for i := range hanging {
		wg.Go(func() {
			// The carrier answers once released: the send's outcome is
			// not what this test is about.
			e.Svc.Auth(context.Background(), authflow.AuthRequest{Integration: e.In,
				Who: authflow.Who{Username: fmt.Sprintf("sms%d", i)}, Factor: mfa.FactorSMS, Device: "auto", IP: "192.0.2.9"})
		})
	}
	for range hanging {
		<-h.entered // every send is in the carrier now
	}
	for c := range uint64(16) {
		if res := e.auth("alice", otp.HOTP(seed, c, 6)); res.Result != authflow.ResultAllow {
			t.Errorf("passcode %d while the carrier hangs = %+v, want allow", c, res)
		}
	}
	close(h.release)
	wg.Wait()
}

// BenchmarkPasscodeWhileCarrierHangs measures passcode logins (parallel,
// SQLite with group commit, as twostepd runs) with the carrier idle and
// with 24 SMS sends hanging in it for the whole run: the two figures
// should be the same (docs/benchmarks.md).
func BenchmarkPasscodeWhileCarrierHangs(b *testing.B) {
	for _, hanging := range []int{0, 24} {
		b.Run(fmt.Sprintf("sends-hanging=%d", hanging), func(b *testing.B) {
			h := &hangingCarrier{entered: make(chan struct{}, hanging), release: make(chan struct{})}
			e := newBenchEnv(b, sqltest.SQLitePath(b), authflow.WithNotifier(h), authflow.WithSMSLimit(authflow.Limit{}))
			const users = 64
			names := make([]string, users)
			for i := range names {
				names[i] = fmt.Sprintf("user%02d", i)
				u := e.user(names[i], mfa.StatusActive)
				e.app(u, 0, false)
				e.bypass(u, "123456789", 0)
			}
			for i := range hanging {
				e.phone(e.user(fmt.Sprintf("sms%d", i), mfa.StatusActive), "+15555550100", mfa.PhoneMobile)
			}
			var wg sync.WaitGroup
			for i := range hanging {
				wg.Go(func() {
					e.Svc.Auth(context.Background(), authflow.AuthRequest{Integration: e.In,
						Who: authflow.Who{Username: fmt.Sprintf("sms%d", i)}, Factor: mfa.FactorSMS, Device: "auto", IP: "192.0.2.9"})
				})
			}
			for range hanging {
				<-h.entered
			}
			defer wg.Wait()
			defer close(h.release)
			var (
				mu sync.Mutex
				n  int
			)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				mu.Lock()
				i := n
				n++
				mu.Unlock()
				for pb.Next() {
					res, err := e.Svc.Auth(context.Background(), authflow.AuthRequest{Integration: e.In,
						Who: authflow.Who{Username: names[i%users]}, Factor: mfa.FactorPasscode, Passcode: "123456789",
						IP: fmt.Sprintf("192.0.2.%d", i%250)})
					if err != nil || res.Result != authflow.ResultAllow {
						b.Errorf("Auth() = %+v, %v; want allow", res, err)
						return
					}
					i += 16
				}
			})
			b.StopTimer()
			if len(h.entered) != 0 {
				b.Errorf("%d more sends reached the carrier during the run", len(h.entered))
			}
		})
	}
}
