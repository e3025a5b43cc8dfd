package mfatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func signatureTests() []storeTest {
	return []storeTest{
		{"ClaimOnce", testSignatureClaimOnce},
		{"Expiry", testSignatureExpiry},
		{"Release", testSignatureRelease},
		{"Invalid", testSignatureInvalid},
		{"Concurrent", testSignatureConcurrent},
		{"ConcurrentTakeOver", testSignatureConcurrentTakeOver},
		{"DeleteExpired", testSignatureDeleteExpired},
	}
}

// sigKey is a valid signature key for name.
func sigKey(name string) string { return mfa.SignatureKey("DIXXXXXXXXXXXXXXXXXX", 2, name) }

// claim calls ClaimSignature.
func claim(t *testing.T, s mfa.Store, key string, now, expires time.Time) error {
	t.Helper()
	return s.ClaimSignature(t.Context(), key, now, expires)
}

// wantClaimed fails t unless err is the Conflict of a live claim.
func wantClaimed(t *testing.T, call string, err error) {
	t.Helper()
	if !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("%s = %v, want Conflict (already claimed)", call, err)
	}
}

func testSignatureClaimOnce(t *testing.T, s mfa.Store) {
	a, b := sigKey("a"), sigKey("b")
	check(t, "ClaimSignature(a)", claim(t, s, a, at(0), at(5*time.Minute)))
	wantClaimed(t, "ClaimSignature(a) again", claim(t, s, a, at(time.Second), at(5*time.Minute)))
	// A different key is independent.
	check(t, "ClaimSignature(b)", claim(t, s, b, at(time.Second), at(5*time.Minute)))
	// The last instant before the expiry is still claimed.
	wantClaimed(t, "ClaimSignature(a) just before expiry",
		claim(t, s, a, at(5*time.Minute-time.Microsecond), at(10*time.Minute)))
}

func testSignatureExpiry(t *testing.T, s mfa.Store) {
	k := sigKey("expiry")
	check(t, "ClaimSignature", claim(t, s, k, at(0), at(time.Minute)))
	// At the expiry the claim is over and may be taken again, for a new
	// period, which then holds.
	check(t, "ClaimSignature at expiry", claim(t, s, k, at(time.Minute), at(3*time.Minute)))
	wantClaimed(t, "ClaimSignature after take-over", claim(t, s, k, at(2*time.Minute), at(4*time.Minute)))
	check(t, "ClaimSignature at the new expiry", claim(t, s, k, at(3*time.Minute), at(4*time.Minute)))
}

func testSignatureRelease(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	k := sigKey("release")
	check(t, "ReleaseSignature(unclaimed)", s.ReleaseSignature(ctx, k))
	check(t, "ClaimSignature", claim(t, s, k, at(0), at(time.Minute)))
	check(t, "ReleaseSignature", s.ReleaseSignature(ctx, k))
	check(t, "ClaimSignature after release", claim(t, s, k, at(time.Second), at(time.Minute)))
	wantClaimed(t, "ClaimSignature after the second claim", claim(t, s, k, at(2*time.Second), at(time.Minute)))
	// Releasing one key leaves the others.
	other := sigKey("other")
	check(t, "ClaimSignature(other)", claim(t, s, other, at(0), at(time.Minute)))
	check(t, "ReleaseSignature", s.ReleaseSignature(ctx, k))
	wantClaimed(t, "ClaimSignature(other) after releasing another key", claim(t, s, other, at(time.Second), at(time.Minute)))
}

func testSignatureInvalid(t *testing.T, s mfa.Store) {
	tests := []struct {
		name         string
		key          string
		now, expires time.Time
		wantField    string
	}{
		{"empty key", "", at(0), at(time.Minute), "key"},
		{"short key", "abc", at(0), at(time.Minute), "key"},
		{"long key", sigKey("x") + "0", at(0), at(time.Minute), "key"},
		{"expires now", sigKey("x"), at(0), at(0), "expires"},
		{"expired", sigKey("x"), at(time.Minute), at(0), "expires"},
	}
	for _, tt := range tests {
		err := claim(t, s, tt.key, tt.now, tt.expires)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != tt.wantField {
			t.Errorf("ClaimSignature(%s) = %v, want Invalid with Field %q", tt.name, err, tt.wantField)
		}
	}
	// Refused calls claimed nothing.
	check(t, "ClaimSignature(x) after invalid calls", claim(t, s, sigKey("x"), at(0), at(time.Minute)))
}

// testSignatureConcurrent: many nodes receive the same signed request at
// once; exactly one may run it.
func testSignatureConcurrent(t *testing.T, s mfa.Store) {
	const n = 50
	k := sigKey("race")
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.ClaimSignature(ctx, k, at(time.Duration(i)*time.Millisecond), at(5*time.Minute))
	})
	wantRace(t, "ClaimSignature", errs, 1, mfa.Conflict)
}

// testSignatureConcurrentTakeOver: the same race on a key whose earlier
// claim expired.
func testSignatureConcurrentTakeOver(t *testing.T, s mfa.Store) {
	const n = 50
	k := sigKey("takeover")
	check(t, "ClaimSignature", claim(t, s, k, at(0), at(time.Minute)))
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.ClaimSignature(ctx, k, at(2*time.Minute), at(7*time.Minute))
	})
	wantRace(t, "ClaimSignature of an expired claim", errs, 1, mfa.Conflict)
}

func testSignatureDeleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	keys := map[string]time.Time{
		"ended":     at(time.Minute),
		"ends now":  now,
		"live":      now.Add(time.Microsecond),
		"long live": now.Add(time.Hour),
	}
	for name, exp := range keys {
		check(t, fmt.Sprintf("ClaimSignature(%s)", name), claim(t, s, sigKey(name), at(0), exp))
	}
	if n, err := s.DeleteExpiredSignatures(ctx, now); err != nil || n != 2 {
		t.Errorf("DeleteExpiredSignatures(now) = %d, %v, want 2, nil", n, err)
	}
	if n, err := s.DeleteExpiredSignatures(ctx, now); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSignatures(now) again = %d, %v, want 0, nil", n, err)
	}
	// The live claims are kept; the deleted ones may be claimed again (as
	// they could have been anyway).
	for _, name := range []string{"live", "long live"} {
		wantClaimed(t, "ClaimSignature("+name+") after the reaper", claim(t, s, sigKey(name), at(0), now.Add(2*time.Hour)))
	}
	check(t, "ClaimSignature(ended) after the reaper", claim(t, s, sigKey("ended"), at(0), now))
	if n, err := s.DeleteExpiredSignatures(ctx, now.Add(2*time.Hour)); err != nil || n != 3 {
		t.Errorf("DeleteExpiredSignatures(now+2h) = %d, %v, want 3, nil", n, err)
	}
}
