package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

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
			users := make([]string, 0, parallelism*runtime.GOMAXPROCS(0)) // one per goroutine
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

// BenchmarkHitRateLimit measures one durable rate-limit hit (one
// conditional upsert), one at a time and from many concurrent requests
// spread over 512 keys:
//
//	go test -run '^$' -bench HitRateLimit -benchtime 5s ./internal/sqlstore/
func BenchmarkHitRateLimit(b *testing.B) {
	tests := []struct {
		name string
		dsn  func(b *testing.B) string
		opts sqlstore.Options
	}{
		{"sqlite", func(b *testing.B) string { return sqltest.SQLitePath(b) }, sqlstore.Options{GroupCommit: true}},
		{"postgres", func(b *testing.B) string {
			if os.Getenv(sqltest.EnvPostgres) == "" {
				b.Skip("set " + sqltest.EnvPostgres)
			}
			return sqltest.PostgresDSN(b)
		}, sqlstore.Options{}},
	}
	const parallelism = 16 // goroutines per GOMAXPROCS: concurrent requests
	for _, tt := range tests {
		for _, parallel := range []bool{false, true} {
			name := tt.name + "/serial"
			if parallel {
				name = tt.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				s := sqltest.Open(b, tt.dsn(b), tt.opts)
				if _, err := s.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				keys := make([]string, 512)
				for i := range keys {
					keys[i] = fmt.Sprintf("user:DUBENCH%013d", i)
				}
				hit := func(i int64) bool {
					if _, err := s.HitRateLimit(ctx, keys[i%int64(len(keys))], 1<<30, time.Minute, epoch); err != nil {
						b.Error(err)
						return false
					}
					return true
				}
				var next atomic.Int64
				if !parallel {
					for b.Loop() {
						if !hit(next.Add(1)) {
							return
						}
					}
					return
				}
				b.SetParallelism(parallelism)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if !hit(next.Add(1)) {
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkLoginRead compares what a login reads about its user as the
// five separate queries authflow made before (user by name, phones,
// tokens, groups, authenticators) with one LoginAccount (one read
// transaction on SQLite, one batch on PostgreSQL), from 16 concurrent
// readers per GOMAXPROCS while a writer commits continuously (as logins
// do), so that SQLite's readers refill their page caches as they do under
// load:
//
//	go test -run '^$' -bench LoginRead -benchtime 3s ./internal/sqlstore/
func BenchmarkLoginRead(b *testing.B) {
	dbs := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return sqltest.SQLitePath(b) }},
		{"postgres", func(b *testing.B) string {
			if os.Getenv(sqltest.EnvPostgres) == "" {
				b.Skip("set " + sqltest.EnvPostgres)
			}
			return sqltest.PostgresDSN(b)
		}},
	}
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			ctx := context.Background()
			s := sqltest.Open(b, db.dsn(b), sqlstore.Options{GroupCommit: true})
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			const users = 64
			for i := range users {
				uid, pid, tid := fmt.Sprintf("DUREAD%014d", i), fmt.Sprintf("DPREAD%014d", i), fmt.Sprintf("DHREAD%014d", i)
				mustB(b, s.CreateUser(ctx, mfa.User{ID: uid, Username: uid, Status: mfa.StatusActive, Created: epoch}))
				mustB(b, s.CreatePhone(ctx, mfa.Phone{ID: pid, Type: mfa.PhoneMobile, Created: epoch}))
				mustB(b, s.AttachPhone(ctx, uid, pid))
				mustB(b, s.CreateToken(ctx, mfa.Token{ID: tid, Type: mfa.TokenH6, Serial: tid, Secret: mfa.Secret("12345678901234567890"), Created: epoch}))
				mustB(b, s.AttachToken(ctx, uid, tid))
			}
			for _, mode := range []string{"separate", "LoginAccount"} {
				b.Run(mode, func(b *testing.B) {
					stop := make(chan struct{})
					done := make(chan struct{})
					go func() { // a writer committing all the while
						defer close(done)
						for i := 0; ; i++ {
							select {
							case <-stop:
								return
							default:
							}
							uid := fmt.Sprintf("DUREAD%014d", i%users)
							if _, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: uid, Success: true, At: epoch}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
					var next atomic.Int64
					b.SetParallelism(16)
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							name := fmt.Sprintf("DUREAD%014d", next.Add(1)%users)
							var err error
							if mode == "LoginAccount" {
								_, err = s.LoginAccount(ctx, mfa.AccountQuery{Name: name})
							} else {
								var u mfa.User
								if u, err = s.GetUserByName(ctx, name); err == nil {
									_, err = s.UserPhones(ctx, u.ID)
									_, err = s.UserTokens(ctx, u.ID)
									_, err = s.UserGroups(ctx, u.ID)
									_, err = s.UserAuthenticators(ctx, u.ID)
								}
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.StopTimer()
					close(stop)
					<-done
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
				})
			}
		})
	}
}

func mustB(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// revokedOthers is how many other users BenchmarkLoginAccountRevoked
// stores (TestBenchmarksShort makes it few).
var revokedOthers = 5000

// BenchmarkLoginAccountRevoked measures LoginAccount as a 6-digit
// passcode login reads it (with the recently revoked installs) for a user
// with one phone, among 5,000 other users with a revoked install each:
// without an index on authenticators.user_id (migration 19) the revoked
// installs' read scanned them all.
//
//	go test -run '^$' -bench LoginAccountRevoked ./internal/sqlstore/
func BenchmarkLoginAccountRevoked(b *testing.B) {
	ctx := context.Background()
	s := sqltest.Open(b, sqltest.SQLitePath(b), sqlstore.Options{GroupCommit: true})
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	others := revokedOthers
	err := s.Atomic(ctx, func(ctx context.Context) error {
		for i := range others + 1 {
			uid, pid := fmt.Sprintf("DUREVK%014d", i), fmt.Sprintf("DPREVK%014d", i)
			if err := s.CreateUser(ctx, mfa.User{ID: uid, Username: uid, Status: mfa.StatusActive, Created: epoch}); err != nil {
				return err
			}
			if err := s.CreatePhone(ctx, mfa.Phone{ID: pid, Type: mfa.PhoneMobile, Created: epoch}); err != nil {
				return err
			}
			if err := s.AttachPhone(ctx, uid, pid); err != nil {
				return err
			}
			aid := fmt.Sprintf("DAREVK%014d", i)
			if err := s.ActivateAuthenticator(ctx, mfa.Authenticator{ID: aid, PhoneID: pid, UserID: uid,
				HOTPSecret: mfa.Secret("seed"), Created: epoch}); err != nil {
				return err
			}
			if i > 0 {
				if err := s.RevokeAuthenticator(ctx, aid); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("DUREVK%014d", 0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.LoginAccount(ctx, mfa.AccountQuery{Name: name, Revoked: true}); err != nil {
			b.Fatal(err)
		}
	}
}
