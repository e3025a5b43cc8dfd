package password

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

var cheap = Hasher{Time: 1, Memory: 8 * 1024, Threads: 1}

func TestHashVerify(t *testing.T) {
	h, err := cheap.Hash("correct horse battery staple", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Errorf("Hash() = %q, want the PHC form with its parameters", h)
	}
	h2, _ := cheap.Hash("correct horse battery staple", rand.Reader)
	if h == h2 {
		t.Errorf("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		give    string
		hash    string
		want    bool
		wantErr bool
	}{
		{"correct horse battery staple", h, true, false},
		{"correct horse battery stapl", h, false, false},
		{"", h, false, false},
		{"x", "$argon2i$v=19$m=8192,t=1,p=1$c2FsdA$a2V5", false, true},
		{"x", "$argon2id$v=18$m=8192,t=1,p=1$c2FsdA$a2V5", false, true},
		{"x", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$a2V5", false, true},
		{"x", "$argon2id$v=19$m=8192,t=1,p=1$!!$a2V5", false, true},
		{"x", "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$", false, true},
		{"x", "plain", false, true},
	}
	for _, tt := range tests {
		got, err := Verify(tt.give, tt.hash)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Verify(%q, %q) = %v, %v; want %v, error %v", tt.give, tt.hash, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(2)
		var running atomic.Int32
		release := make(chan struct{})
		for range 5 {
			go l.Do(context.Background(), func() {
				running.Add(1)
				<-release
				running.Add(-1)
			})
		}
		synctest.Wait() // every goroutine is inside f or waiting for a slot
		if n := running.Load(); n != 2 {
			t.Errorf("%d hashes running under NewLimiter(2), want 2", n)
		}
		close(release)
		synctest.Wait()
		if n := running.Load(); n != 0 {
			t.Errorf("%d still running after release", n)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	full := NewLimiter(1)
	full <- struct{}{}
	if err := full.Do(ctx, func() { t.Error("ran on a full limiter with a cancelled context") }); err == nil {
		t.Error("Do(cancelled ctx, full) = nil, want the context's error")
	}
}

// BenchmarkHash measures one hash per cost: go test -bench Hash -run ^$ ./internal/password
// (docs/first-factor.md records the results).
func BenchmarkHash(b *testing.B) {
	for _, h := range []Hasher{UserDefault(), {Time: 1, Memory: 46 * 1024, Threads: 1}, Default()} {
		b.Run(fmt.Sprintf("m=%dMiB,t=%d,p=%d", h.Memory/1024, h.Time, h.Threads), func(b *testing.B) {
			for b.Loop() {
				if _, err := h.Hash("correct horse battery staple", rand.Reader); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
