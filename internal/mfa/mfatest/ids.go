package mfatest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func idTests() []storeTest {
	return []storeTest{
		{"Duplicate", testDuplicateIDs},
	}
}

// testDuplicateIDs proves that an id is a unique value like any other: a
// create with a taken id is Conflict and leaves the first object as it was
// (no silent upsert).
func testDuplicateIDs(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	other := NewUser(t, s)
	p := NewPhone(t, s)
	p2 := NewPhone(t, s)
	a := NewAuthenticator(t, s, p.ID)
	keep := NewAuthenticator(t, s, p2.ID)
	admin := NewAdmin(t, s)
	codes := newCodes(t, u.ID, 1, nil)
	createCodes(t, s, u.ID, false, codes)
	batch := newBatch(t, u.ID, p.ID, 2, time.Time{})
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(ctx, batch))
	tx := newTransaction(t, s, u.ID, p.ID, at(time.Hour))

	tests := []struct {
		name string
		give func() error
		// check reads the first object back and reports whether it is unchanged.
		check func(t *testing.T)
	}{
		{"user", func() error {
			return s.CreateUser(ctx, mfa.User{ID: u.ID, Username: "someone-else", Status: mfa.StatusDisabled, Created: at(time.Hour)})
		}, func(t *testing.T) {
			if diff := cmp.Diff(u, getUser(t, s, u.ID), cmpOpts); diff != "" {
				t.Errorf("GetUser(%s) after a refused create mismatch (-want +got):\n%s", u.ID, diff)
			}
			if _, err := s.GetUserByName(ctx, "someone-else"); !isKind(err, mfa.NotFound) {
				t.Errorf("GetUserByName(%q) after a refused create = %v, want not found", "someone-else", err)
			}
		}},
		{"phone", func() error {
			return s.CreatePhone(ctx, mfa.Phone{ID: p.ID, Number: "+15555550000", Type: mfa.PhoneLandline, Created: at(time.Hour)})
		}, func(t *testing.T) {
			if got := getPhone(t, s, p.ID); got.Number != p.Number || got.Type != p.Type {
				t.Errorf("GetPhone(%s) after a refused create = %q %q, want %q %q", p.ID, got.Number, got.Type, p.Number, p.Type)
			}
		}},
		{"authenticator", func() error {
			dup := a
			dup.PhoneID, dup.HOTPCounter = p2.ID, 99
			return s.ActivateAuthenticator(ctx, dup)
		}, func(t *testing.T) {
			if diff := cmp.Diff(a, getAuthenticator(t, s, a.ID), cmpOpts); diff != "" {
				t.Errorf("GetAuthenticator(%s) after a refused activation mismatch (-want +got):\n%s", a.ID, diff)
			}
			if got := getAuthenticator(t, s, keep.ID); got.Status != mfa.AuthenticatorActive {
				t.Errorf("GetAuthenticator(install on the target phone).Status = %q, want %q: a refused activation revokes nothing", got.Status, mfa.AuthenticatorActive)
			}
		}},
		{"admin", func() error {
			return s.CreateAdmin(ctx, mfa.Admin{ID: admin.ID, Email: "other-admin@example.com", Role: mfa.RoleReadOnly, Created: at(time.Hour)})
		}, func(t *testing.T) {
			if diff := cmp.Diff(admin, getAdmin(t, s, admin.ID), cmpOpts); diff != "" {
				t.Errorf("GetAdmin(%s) after a refused create mismatch (-want +got):\n%s", admin.ID, diff)
			}
		}},
		{"bypass code", func() error {
			dup := newCodes(t, other.ID, 1, nil)
			dup[0].ID = codes[0].ID
			return s.CreateBypassCodes(ctx, mfa.NewBypassCodes{UserID: other.ID, Codes: dup, PreserveExisting: true, MaxActive: 100}, at(0))
		}, func(t *testing.T) {
			got, err := s.GetBypassCode(ctx, codes[0].ID)
			check(t, "GetBypassCode()", err)
			if got.UserID != u.ID {
				t.Errorf("GetBypassCode(%s).UserID after a refused create = %s, want %s", codes[0].ID, got.UserID, u.ID)
			}
		}},
		{"transaction", func() error {
			dup := tx
			dup.UserID, dup.Status = other.ID, "calling"
			return s.CreateTransaction(ctx, dup)
		}, func(t *testing.T) {
			if diff := cmp.Diff(tx, getTransaction(t, s, tx.ID), cmpOpts); diff != "" {
				t.Errorf("GetTransaction(%s) after a refused create mismatch (-want +got):\n%s", tx.ID, diff)
			}
		}},
		{"sms batch", func() error {
			dup := newBatch(t, other.ID, p2.ID, 2, time.Time{})
			dup.ID = batch.ID
			return s.ReplaceSMSBatch(ctx, dup)
		}, func(t *testing.T) {
			wantState(t, s, u.ID, p.ID, at(0), 0, 2)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKind(t, "create with a taken "+tt.name+" id", tt.give(), mfa.Conflict)
			tt.check(t)
		})
	}
}
