package mfatest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func passwordTests() []storeTest {
	return []storeTest{
		{"SetGetReplace", testPasswordSetGet},
		{"Invalid", testPasswordInvalid},
		{"UserDeleted", testPasswordUserDeleted},
	}
}

const (
	hashA = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	hashB = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0MTIz$b3RoZXJoYXNob3RoZXJoYXNob3RoZXJoYXNoMTIzNA"
)

func testPasswordSetGet(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	_, err := s.GetUserPassword(ctx, u.ID)
	wantKind(t, "GetUserPassword(none yet)", err, mfa.NotFound)
	check(t, "SetUserPassword", s.SetUserPassword(ctx, u.ID, hashA, at(time.Minute)))
	got, err := s.GetUserPassword(ctx, u.ID)
	check(t, "GetUserPassword", err)
	if diff := cmp.Diff(mfa.UserPassword{UserID: u.ID, Hash: hashA, Set: at(time.Minute)}, got, cmpOpts); diff != "" {
		t.Errorf("GetUserPassword mismatch (-want +got):\n%s", diff)
	}
	check(t, "SetUserPassword(replace)", s.SetUserPassword(ctx, u.ID, hashB, at(2*time.Minute)))
	got, err = s.GetUserPassword(ctx, u.ID)
	check(t, "GetUserPassword", err)
	if got.Hash != hashB || !got.Set.Equal(at(2*time.Minute)) {
		t.Errorf("GetUserPassword after replace = %q at %v, want hashB at %v", got.Hash, got.Set, at(2*time.Minute))
	}
	// Another user's password is their own.
	other := NewUser(t, s)
	_, err = s.GetUserPassword(ctx, other.ID)
	wantKind(t, "GetUserPassword(other user)", err, mfa.NotFound)
	check(t, "DeleteUserPassword", s.DeleteUserPassword(ctx, u.ID))
	_, err = s.GetUserPassword(ctx, u.ID)
	wantKind(t, "GetUserPassword(deleted)", err, mfa.NotFound)
	wantKind(t, "DeleteUserPassword(again)", s.DeleteUserPassword(ctx, u.ID), mfa.NotFound)
}

func testPasswordInvalid(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	tests := []struct{ name, give string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv"},
		{"plain", "hunter2hunter2"},
		{"too long", "$argon2id$" + strings.Repeat("a", mfa.MaxPasswordHashLen)},
	}
	for _, tt := range tests {
		wantKind(t, "SetUserPassword("+tt.name+")", s.SetUserPassword(ctx, u.ID, tt.give, at(0)), mfa.Invalid)
	}
	wantKind(t, "SetUserPassword(unknown user)", s.SetUserPassword(ctx, "DUNOSUCHUSER0000000", hashA, at(0)), mfa.NotFound)
}

func testPasswordUserDeleted(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	check(t, "SetUserPassword", s.SetUserPassword(ctx, u.ID, hashA, at(0)))
	check(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	_, err := s.GetUserPassword(ctx, u.ID)
	wantKind(t, "GetUserPassword(deleted user)", err, mfa.NotFound)
}
