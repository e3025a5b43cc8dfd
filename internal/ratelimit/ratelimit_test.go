package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/ratelimit"
)

func TestBoundsMemory(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := ratelimit.New(2, time.Hour, func() time.Time { return now })
	// Every key spends a token, so no bucket is full and pruning frees
	// nothing: the map must still stay at MaxBuckets.
	for i := range ratelimit.MaxBuckets + 500 {
		if ok, _ := l.Take(fmt.Sprintf("user-%d", i)); !ok {
			t.Fatalf("Take(new key %d) = false, want true", i)
		}
	}
	if n := l.Len(); n > ratelimit.MaxBuckets {
		t.Errorf("limiter holds %d buckets, want at most %d", n, ratelimit.MaxBuckets)
	}
	// A key still tracked keeps its limit.
	key := fmt.Sprintf("user-%d", ratelimit.MaxBuckets+499)
	if ok, _ := l.Take(key); !ok {
		t.Errorf("Take(%s) second time = false, want true (burst 2)", key)
	}
	if ok, wait := l.Take(key); ok || wait != time.Hour {
		t.Errorf("Take(%s) third time = %v, %v; want false, 1h (the burst of 2 is spent)", key, ok, wait)
	}
}

func TestRefillAndPrune(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := ratelimit.New(1, time.Minute, func() time.Time { return now })
	if ok, _ := l.Take("a"); !ok {
		t.Fatal("first Take = false")
	}
	if ok, wait := l.Take("a"); ok || wait != time.Minute {
		t.Fatalf("second Take = %v, %v; want false, 1m", ok, wait)
	}
	now = now.Add(30 * time.Second)
	if ok, wait := l.Take("a"); ok || wait != 30*time.Second {
		t.Fatalf("Take after 30s = %v, %v; want false, 30s", ok, wait)
	}
	now = now.Add(30 * time.Second)
	if ok, _ := l.Take("a"); !ok {
		t.Fatal("Take after a full period = false, want true")
	}
	if ok, _ := l.Take(""); !ok {
		t.Error("empty key refused")
	}
	var off *ratelimit.Buckets
	if ok, _ := off.Take("a"); !ok || ratelimit.New(0, time.Minute, nil) != nil || ratelimit.New(1, 0, nil) != nil {
		t.Error("a limit that is off refused")
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"::ffff:192.0.2.7":          "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1%eth0": "2001:db8:1:2::/64",
		"not-an-ip":                 "not-an-ip",
	} {
		if got := ratelimit.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
