package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// MaxRateLimitKey is the longest rate-limit key a store keeps as it is.
// Keys are built from client input (an address, a user id), so a longer one
// is kept as its digest instead (see RateLimitKey): a row stays small
// whatever a client sends.
const MaxRateLimitKey = 200

// RateLimitKey returns the key a store keeps for key: key itself when it is
// at most MaxRateLimitKey bytes, else "sha256:" and the hex SHA-256 of key,
// so that distinct long keys stay distinct.
func RateLimitKey(key string) string {
	if len(key) <= MaxRateLimitKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RateLimitResult is the outcome of one hit on a rate-limit counter.
type RateLimitResult struct {
	// Allowed reports whether this hit is within the limit (Count <= limit).
	Allowed bool
	// Count is the number of hits in the key's current window, this one
	// included. Refused hits count too.
	Count int
	// RetryAfter is, for a refused hit, the time until the window ends
	// (always > 0); zero for an allowed hit.
	RetryAfter time.Duration
}

// RateLimitStore keeps durable fixed-window counters, shared by every node
// that uses the database. They are the cross-node ceiling on attempts; a
// node's in-memory limiter is only the cheap first line.
type RateLimitStore interface {
	// HitRateLimit counts one hit on key at now and reports whether it is
	// within limit hits per window. A key's window starts at the hit that
	// finds no live window and ends window later; the first hit at or after
	// that end starts a new window with a count of 1. Each hit is one
	// atomic conditional write, so of N concurrent hits on one key, from any
	// number of nodes, exactly N are counted and each sees a different
	// Count. A key keeps the window it started with until that window ends,
	// so callers use one window per key. Keys are opaque; one longer than
	// MaxRateLimitKey bytes is kept as RateLimitKey(key). Invalid for an
	// empty key, a limit below 1 or a window that is not positive.
	HitRateLimit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (RateLimitResult, error)
	// DeleteExpiredRateLimits deletes the counters whose window ended at or
	// before now (the reaper), returning how many. Deleting one changes no
	// answer: the next hit on its key would have started a new window anyway.
	DeleteExpiredRateLimits(ctx context.Context, now time.Time) (int, error)
}

// CheckRateLimitArgs reports an Invalid error for HitRateLimit arguments
// that the contract refuses, for stores to share.
func CheckRateLimitArgs(key string, limit int, window time.Duration) error {
	switch {
	case key == "":
		return InvalidField("key", "a rate-limit key must not be empty")
	case limit < 1:
		return InvalidField("limit", "a rate limit must allow at least one hit")
	case window <= 0:
		return InvalidField("window", "a rate-limit window must be positive")
	}
	return nil
}
