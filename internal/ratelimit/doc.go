// Package ratelimit holds the per-node, in-memory token buckets that slow
// guessing down (passcodes, passwords, self-service bypass identity
// checks, SMS sends, pushes) and the key a client address is limited by.
// They are the cheap first line on each node; correctness never depends
// on them: the durable lockout and the durable limits are in the store.
// It imports nothing of twostep's.
package ratelimit
