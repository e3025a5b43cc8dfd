package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// BenchmarkApplyAuth measures a passcode login's write (HOTP counter guard,
// success reset, auth log record) from many concurrent requests, each
// goroutine a user with their own authenticator:
//
//	go test -run '^$' -bench ApplyAuth -benchtime 5s ./internal/sqlstore/
func BenchmarkApplyAuth(b *testing.B) {
	tests := []struct {
		name string
		dsn  func(b *testing.B) string
		opts sqlstore.Options
	}{
		{"sqlite/tx", func(b *testing.B) string { return sqltest.SQLitePath(b) }, sqlstore.Options{}},
		{"sqlite/groupcommit", func(b *testing.B) string { return sqltest.SQLitePath(b) }, sqlstore.Options{GroupCommit: true}},
		{"postgres", func(b *testing.B) string {
			if os.Getenv(sqltest.EnvPostgres) == "" {
				b.Skip("set " + sqltest.EnvPostgres)
			}
			return sqltest.PostgresDSN(b)
		}, sqlstore.Options{}},
	}
	const parallelism = 16 // goroutines per GOMAXPROCS: concurrent requests
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			s := sqltest.Open(b, tt.dsn(b), tt.opts)
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			users := make([]string, 0, 512)
			for i := range cap(users) {
				uid, pid, aid := fmt.Sprintf("DUBENCH%013d", i), fmt.Sprintf("DPBENCH%013d", i), fmt.Sprintf("DABENCH%013d", i)
				if err := s.CreateUser(ctx, mfa.User{ID: uid, Username: uid, Status: mfa.StatusActive, Created: epoch}); err != nil {
					b.Fatal(err)
				}
				if err := s.CreatePhone(ctx, mfa.Phone{ID: pid, Type: mfa.PhoneMobile, Created: epoch}); err != nil {
					b.Fatal(err)
				}
				if err := s.ActivateAuthenticator(ctx, mfa.Authenticator{ID: aid, PhoneID: pid, HOTPSecret: mfa.Secret("seed"), Created: epoch}); err != nil {
					b.Fatal(err)
				}
				users = append(users, uid)
			}
			var next atomic.Int64
			b.SetParallelism(parallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) - 1)
				if i >= len(users) {
					b.Error("more goroutines than prepared users")
					return
				}
				uid, aid := users[i], fmt.Sprintf("DABENCH%013d", i)
				var counter uint64
				for pb.Next() {
					_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: uid, Success: true, At: epoch,
						Guard: mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: aid, Counter: counter},
						Log: &mfa.AuthLogEntry{TxID: fmt.Sprintf("%s-%d", uid, counter), UserID: uid, Username: uid,
							Factor: "duo_mobile_passcode", Result: mfa.ResultSuccess, Reason: "valid_passcode"}})
					if err != nil {
						b.Error(err)
						return
					}
					counter++
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auths/s")
			if groups, units := sqlstore.GroupCommitStats(s); groups > 0 {
				b.ReportMetric(float64(units)/float64(groups), "units/txn")
			}
		})
	}
}
