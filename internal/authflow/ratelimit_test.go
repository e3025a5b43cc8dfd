package authflow

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiterBoundsMemory(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := newLimiter(Limit{Burst: 2, Every: time.Hour}, func() time.Time { return now })
	// Every key spends a token, so no bucket is full and pruning frees
	// nothing: the map must still stay at maxBuckets.
	for i := range maxBuckets + 500 {
		if ok, _ := l.take(fmt.Sprintf("user-%d", i)); !ok {
			t.Fatalf("take(new key %d) = false, want true", i)
		}
	}
	if n := len(l.buckets); n > maxBuckets {
		t.Errorf("limiter holds %d buckets, want at most %d", n, maxBuckets)
	}
	// A key still tracked keeps its limit.
	key := fmt.Sprintf("user-%d", maxBuckets+499)
	if ok, _ := l.take(key); !ok {
		t.Errorf("take(%s) second time = false, want true (burst 2)", key)
	}
	if ok, wait := l.take(key); ok || wait != time.Hour {
		t.Errorf("take(%s) third time = %v, %v; want false, 1h (the burst of 2 is spent)", key, ok, wait)
	}
}
