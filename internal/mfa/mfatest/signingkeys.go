package mfatest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func signingKeyTests() []storeTest {
	return []storeTest{
		{"CreateList", testSigningKeyCreateList},
		{"Invalid", testSigningKeyInvalid},
		{"Retire", testSigningKeyRetire},
		{"DeleteExpired", testSigningKeyDeleteExpired},
	}
}

func newSigningKey(t *testing.T, s mfa.Store, id string, created time.Duration) mfa.SigningKey {
	t.Helper()
	k := mfa.SigningKey{ID: id, Algorithm: "ES256", Private: NewSecret(t, 121), Created: at(created),
		NotAfter: at(created + 24*time.Hour), Expires: at(created + 25*time.Hour)}
	check(t, "CreateSigningKey("+id+")", s.CreateSigningKey(t.Context(), k))
	return k
}

func testSigningKeyCreateList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	old := newSigningKey(t, s, "k1", 0)
	cur := newSigningKey(t, s, "k2", time.Hour)
	got, err := s.ListSigningKeys(ctx, at(2*time.Hour))
	check(t, "ListSigningKeys", err)
	if diff := cmp.Diff([]mfa.SigningKey{cur, old}, got, cmpOpts); diff != "" {
		t.Errorf("ListSigningKeys mismatch (-want +got):\n%s", diff)
	}
	for i, k := range got {
		if want := []mfa.SigningKey{cur, old}[i]; string(k.Private.Reveal()) != string(want.Private.Reveal()) {
			t.Errorf("ListSigningKeys()[%d].Private differs from the stored key", i)
		}
	}
	// k1 expires at 25h: only k2 is left at 25h.
	got, err = s.ListSigningKeys(ctx, at(25*time.Hour))
	check(t, "ListSigningKeys(25h)", err)
	if len(got) != 1 || got[0].ID != "k2" {
		t.Errorf("ListSigningKeys(25h) = %d keys, want only k2", len(got))
	}
	wantKind(t, "CreateSigningKey(k1 again)", s.CreateSigningKey(ctx, old), mfa.Conflict)
}

func testSigningKeyInvalid(t *testing.T, s mfa.Store) {
	ok := mfa.SigningKey{ID: "k", Algorithm: "ES256", Private: NewSecret(t, 32), Created: at(0), NotAfter: at(time.Hour), Expires: at(2 * time.Hour)}
	tests := []struct {
		name string
		mod  func(*mfa.SigningKey)
	}{
		{"no id", func(k *mfa.SigningKey) { k.ID = "" }},
		{"no algorithm", func(k *mfa.SigningKey) { k.Algorithm = "" }},
		{"no private key", func(k *mfa.SigningKey) { k.Private = nil }},
		{"expires before not_after", func(k *mfa.SigningKey) { k.Expires = at(time.Minute) }},
	}
	for _, tt := range tests {
		k := ok
		tt.mod(&k)
		wantKind(t, "CreateSigningKey("+tt.name+")", s.CreateSigningKey(t.Context(), k), mfa.Invalid)
	}
}

func testSigningKeyRetire(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	newSigningKey(t, s, "k1", 0)
	newSigningKey(t, s, "k2", time.Hour)
	// Rotation at 2h: k1 and k2 stop signing, published for 10 more minutes.
	k3 := newSigningKey(t, s, "k3", 2*time.Hour)
	n, err := s.RetireSigningKeys(ctx, k3.Created, at(2*time.Hour), 10*time.Minute)
	check(t, "RetireSigningKeys", err)
	if n != 2 {
		t.Errorf("RetireSigningKeys() = %d, want 2", n)
	}
	got, err := s.ListSigningKeys(ctx, at(2*time.Hour+time.Minute))
	check(t, "ListSigningKeys", err)
	if len(got) != 3 || got[0].ID != "k3" {
		t.Fatalf("ListSigningKeys after rotation = %d keys, want k3, k2, k1", len(got))
	}
	for _, k := range got[1:] {
		if !k.NotAfter.Equal(at(2*time.Hour)) || !k.Expires.Equal(at(2*time.Hour+10*time.Minute)) {
			t.Errorf("retired %s: not_after %v expires %v, want %v and %v", k.ID, k.NotAfter, k.Expires, at(2*time.Hour), at(2*time.Hour+10*time.Minute))
		}
	}
	if !got[0].NotAfter.Equal(k3.NotAfter) {
		t.Errorf("the new key was retired too")
	}
	got, err = s.ListSigningKeys(ctx, at(2*time.Hour+10*time.Minute))
	check(t, "ListSigningKeys(after overlap)", err)
	if len(got) != 1 {
		t.Errorf("ListSigningKeys after the overlap = %d keys, want 1", len(got))
	}
}

func testSigningKeyDeleteExpired(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	newSigningKey(t, s, "k1", 0)
	newSigningKey(t, s, "k2", time.Hour)
	n, err := s.DeleteExpiredSigningKeys(ctx, at(25*time.Hour))
	check(t, "DeleteExpiredSigningKeys", err)
	if n != 1 {
		t.Errorf("DeleteExpiredSigningKeys(25h) = %d, want 1", n)
	}
	got, err := s.ListSigningKeys(ctx, at(0))
	check(t, "ListSigningKeys", err)
	if len(got) != 1 || got[0].ID != "k2" {
		t.Errorf("after delete: %d keys, want k2", len(got))
	}
}
