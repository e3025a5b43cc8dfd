package mfatest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestRunStoreTests runs the suite against the in-memory reference store:
// the suite must pass on an implementation that follows the contracts.
func TestRunStoreTests(t *testing.T) {
	RunStoreTests(t, func(t *testing.T) mfa.Store { return newMemStore() })
}

func TestIsKind(t *testing.T) {
	tests := []struct {
		give error
		kind mfa.Kind
		want bool
	}{
		{nil, mfa.NotFound, false},
		{nil, mfa.Internal, false},
		{mfa.NotFoundf("user %s", "x"), mfa.NotFound, true},
		{fmt.Errorf("get user: %w", mfa.NotFoundf("user")), mfa.NotFound, true},
		{mfa.NotFoundf("user"), mfa.Conflict, false},
		{&mfa.Error{Kind: mfa.Conflict, Field: "codes"}, mfa.Conflict, true},
		{mfa.InvalidField("count", "too many"), mfa.Invalid, true},
		{errors.New("database is locked"), mfa.Conflict, false},
		{errors.New("database is locked"), mfa.Internal, false},
	}
	for _, tt := range tests {
		if got := isKind(tt.give, tt.kind); got != tt.want {
			t.Errorf("isKind(%v, %v) = %v, want %v", tt.give, tt.kind, got, tt.want)
		}
	}
}

func TestNewTxID(t *testing.T) {
	id := NewTxID(t)
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[14] != '4' || id[18] != '-' || id[23] != '-' {
		t.Errorf("NewTxID() = %q, want a version 4 UUID", id)
	}
	if other := NewTxID(t); other == id {
		t.Errorf("NewTxID() twice = %q, want different ids", id)
	}
}
