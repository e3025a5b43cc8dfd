package mfatest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func tokenTests() []storeTest {
	return []storeTest{
		{"Create", testTokenCreate},
		{"CreateConflict", testTokenCreateConflict},
		{"List", testTokenList},
		{"ListFilter", testTokenListFilter},
		{"Update", testTokenUpdate},
		{"Rename", testTokenRename},
		{"Delete", testTokenDelete},
		{"AttachDetach", testTokenAttachDetach},
		{"NotFound", testTokenNotFound},
	}
}

// getToken reads a token, failing t at once if it cannot.
func getToken(t *testing.T, s mfa.Store, id string) mfa.Token {
	t.Helper()
	tk, err := s.GetToken(t.Context(), id)
	check(t, fmt.Sprintf("GetToken(%s)", id), err)
	return tk
}

func testTokenCreate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		give mfa.Token
	}{
		{"h6", mfa.Token{Type: mfa.TokenH6, Serial: "h6-0001", Secret: NewSecret(t, 20), Counter: 17, Created: at(0)}},
		{"h8", mfa.Token{Type: mfa.TokenH8, Serial: "h8-0001", Secret: mfa.Secret([]byte{0, 0, 0xff}), Created: at(time.Second).UTC()}},
		{"t6", mfa.Token{Type: mfa.TokenT6, Serial: "t6-0001", Secret: NewSecret(t, 32), TOTPStep: 30, LastStep: 58_000_001, Created: at(0)}},
		{"t8", mfa.Token{Type: mfa.TokenT8, Serial: "t8-0001", Secret: NewSecret(t, 64), TOTPStep: 60, Created: at(0)}},
		{"yk", mfa.Token{Type: mfa.TokenYK, Serial: "cccccccbcjdf", PrivateID: NewSecret(t, 6), AESKey: NewSecret(t, 16), YKCounter: 0xfffe01, Created: at(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := tt.give
			give.ID = NewID(t, mfa.PrefixToken)
			check(t, fmt.Sprintf("CreateToken(%s)", tt.name), s.CreateToken(ctx, give))
			got := getToken(t, s, give.ID)
			if diff := cmp.Diff(give, got, cmpOpts); diff != "" {
				t.Errorf("GetToken(%s) mismatch (-want +got):\n%s", give.ID, diff)
			}
			for _, pair := range [][2]mfa.Secret{{give.Secret, got.Secret}, {give.PrivateID, got.PrivateID}, {give.AESKey, got.AESKey}} {
				if string(pair[0].Reveal()) != string(pair[1].Reveal()) {
					t.Errorf("GetToken(%s) secrets differ from the stored ones", give.ID)
				}
			}
		})
	}
}

func testTokenCreateConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	first := NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Serial = "123456" })
	dup := mfa.Token{ID: NewID(t, mfa.PrefixToken), Type: mfa.TokenH6, Serial: "123456", Secret: NewSecret(t, 20), Created: at(0)}
	wantKind(t, "CreateToken(same type and serial)", s.CreateToken(ctx, dup), mfa.Conflict)
	if _, err := s.GetToken(ctx, dup.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetToken(%s) after a refused create = %v, want not found", dup.ID, err)
	}
	// The same serial of another type is another token.
	NewToken(t, s, mfa.TokenT6, func(tk *mfa.Token) { tk.Serial = "123456" })
	NewToken(t, s, mfa.TokenYK, func(tk *mfa.Token) { tk.Serial = "123456" })
	wantKind(t, "CreateToken(same id)", s.CreateToken(ctx, mfa.Token{ID: first.ID, Type: mfa.TokenH8, Serial: "other", Created: at(0)}), mfa.Conflict)
	_, total, err := s.ListTokens(ctx, mfa.TokenFilter{})
	check(t, "ListTokens()", err)
	if total != 3 {
		t.Errorf("ListTokens() total = %d, want 3", total)
	}
}

func testTokenList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	var tokens []mfa.Token
	for i := 5; i >= 0; i-- {
		tokens = append(tokens, NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Created = at(time.Duration(i/2) * time.Second) }))
	}
	sortCreated(tokens, func(tk mfa.Token) time.Time { return tk.Created }, func(tk mfa.Token) string { return tk.ID })
	for _, tt := range pageTests(len(tokens)) {
		got, total, err := s.ListTokens(ctx, mfa.TokenFilter{Page: tt.give})
		call := fmt.Sprintf("ListTokens(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(tokens[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(tokens) {
			t.Errorf("%s total = %d, want %d", call, total, len(tokens))
		}
	}
}

func testTokenListFilter(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	mk := func(typ mfa.TokenType, serial string, sec int) mfa.Token {
		return NewToken(t, s, typ, func(tk *mfa.Token) { tk.Serial, tk.Created = serial, at(time.Duration(sec)*time.Second) })
	}
	h6a := mk(mfa.TokenH6, "A1", 1)
	h6b := mk(mfa.TokenH6, "B2", 2)
	t6a := mk(mfa.TokenT6, "A1", 3)
	yk := mk(mfa.TokenYK, "cccccc", 4)
	tests := []struct {
		give      mfa.TokenFilter
		want      []mfa.Token
		wantTotal int
	}{
		{mfa.TokenFilter{}, []mfa.Token{h6a, h6b, t6a, yk}, 4},
		{mfa.TokenFilter{Type: mfa.TokenH6}, []mfa.Token{h6a, h6b}, 2},
		{mfa.TokenFilter{Type: mfa.TokenYK}, []mfa.Token{yk}, 1},
		{mfa.TokenFilter{Type: mfa.TokenH8}, nil, 0},
		{mfa.TokenFilter{Serial: "A1"}, []mfa.Token{h6a, t6a}, 2},
		{mfa.TokenFilter{Type: mfa.TokenT6, Serial: "A1"}, []mfa.Token{t6a}, 1},
		{mfa.TokenFilter{Serial: "a1"}, nil, 0},
		{mfa.TokenFilter{Type: mfa.TokenH6, Page: mfa.Page{Limit: 1, Offset: 1}}, []mfa.Token{h6b}, 2},
	}
	for _, tt := range tests {
		got, total, err := s.ListTokens(ctx, tt.give)
		call := fmt.Sprintf("ListTokens(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != tt.wantTotal {
			t.Errorf("%s total = %d, want %d", call, total, tt.wantTotal)
		}
	}
}

func testTokenUpdate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		typ  mfa.TokenType
		mod  func(*mfa.Token)
	}{
		{"hotp resync", mfa.TokenH6, func(tk *mfa.Token) { tk.Counter = 1000 }},
		{"totp step", mfa.TokenT6, func(tk *mfa.Token) { tk.TOTPStep = 60; tk.LastStep = 29_000_000 }},
		{"yubikey", mfa.TokenYK, func(tk *mfa.Token) { tk.YKCounter = 0x0102 }},
		{"counter never goes back", mfa.TokenH8, func(tk *mfa.Token) { tk.TOTPStep = 60 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := NewToken(t, s, tt.typ, func(tk *mfa.Token) { tk.Counter = 5 })
			want := tk
			tt.mod(&want)
			give := want
			if tt.name == "counter never goes back" {
				give.Counter = 0 // rewinding would make used codes valid again
			}
			// Fields UpdateToken must not write.
			give.Type = mfa.TokenH8
			give.Serial = "changed"
			give.Secret = NewSecret(t, 20)
			give.PrivateID = NewSecret(t, 6)
			give.AESKey = NewSecret(t, 16)
			give.Created = at(time.Hour)
			check(t, "UpdateToken()", s.UpdateToken(ctx, give))
			if diff := cmp.Diff(want, getToken(t, s, tk.ID), cmpOpts); diff != "" {
				t.Errorf("GetToken(%s) after UpdateToken mismatch (-want +got):\n%s", tk.ID, diff)
			}
		})
	}
}

func testTokenRename(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tk := NewToken(t, s, mfa.TokenT6, func(tk *mfa.Token) { tk.Serial = "alice: Aegis" })
	other := NewToken(t, s, mfa.TokenT6, func(tk *mfa.Token) { tk.Serial = "alice: Phone" })
	NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Serial = "alice: Desk" })
	check(t, "RenameToken()", s.RenameToken(ctx, tk.ID, "alice: Work"))
	want := tk
	want.Serial = "alice: Work"
	if diff := cmp.Diff(want, getToken(t, s, tk.ID), cmpOpts); diff != "" {
		t.Errorf("GetToken after RenameToken mismatch (-want +got):\n%s", diff)
	}
	if err := s.RenameToken(ctx, other.ID, "alice: Work"); !errors.Is(err, mfa.ErrConflict) {
		t.Errorf("RenameToken(to a serial of the same type) = %v, want Conflict", err)
	}
	check(t, "RenameToken(serial of another type)", s.RenameToken(ctx, other.ID, "alice: Desk"))
	if err := s.RenameToken(ctx, "DHmissing", "x"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("RenameToken(missing) = %v, want NotFound", err)
	}
}

func testTokenDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	tk := NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Serial = "S1" })
	keep := NewToken(t, s, mfa.TokenH6)
	check(t, "AttachToken()", s.AttachToken(ctx, u.ID, tk.ID))
	check(t, "AttachToken(keep)", s.AttachToken(ctx, u.ID, keep.ID))

	check(t, "DeleteToken()", s.DeleteToken(ctx, tk.ID))
	if _, err := s.GetToken(ctx, tk.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetToken(%s) after DeleteToken = %v, want not found", tk.ID, err)
	}
	got, err := s.UserTokens(ctx, u.ID)
	check(t, "UserTokens()", err)
	if diff := cmp.Diff([]mfa.Token{keep}, got, cmpOpts); diff != "" {
		t.Errorf("UserTokens(%s) after DeleteToken mismatch (-want +got):\n%s", u.ID, diff)
	}
	getUser(t, s, u.ID)
	wantKind(t, "DeleteToken() again", s.DeleteToken(ctx, tk.ID), mfa.NotFound)
	// Its serial is free again.
	NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Serial = "S1" })
}

func testTokenAttachDetach(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	loner := NewUser(t, s)
	t1 := NewToken(t, s, mfa.TokenH6)
	t2 := NewToken(t, s, mfa.TokenYK)
	t3 := NewToken(t, s, mfa.TokenT6)

	check(t, "AttachToken(alice, t1)", s.AttachToken(ctx, alice.ID, t1.ID))
	check(t, "AttachToken(alice, t2)", s.AttachToken(ctx, alice.ID, t2.ID))
	check(t, "AttachToken(bob, t1)", s.AttachToken(ctx, bob.ID, t1.ID))

	userTokens := []struct {
		give mfa.User
		want []mfa.Token
	}{
		{alice, []mfa.Token{t1, t2}},
		{bob, []mfa.Token{t1}},
		{loner, nil},
	}
	for _, tt := range userTokens {
		got, err := s.UserTokens(ctx, tt.give.ID)
		check(t, "UserTokens()", err)
		if diff := cmp.Diff(tt.want, got, cmpOpts, sortTokens); diff != "" {
			t.Errorf("UserTokens(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
		}
	}
	tokenUsers := []struct {
		give mfa.Token
		want []mfa.User
	}{
		{t1, []mfa.User{alice, bob}},
		{t2, []mfa.User{alice}},
		{t3, nil},
	}
	for _, tt := range tokenUsers {
		got, err := s.TokenUsers(ctx, tt.give.ID)
		check(t, "TokenUsers()", err)
		if diff := cmp.Diff(tt.want, got, cmpOpts, sortUsers); diff != "" {
			t.Errorf("TokenUsers(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
		}
	}

	check(t, "DetachToken(alice, t1)", s.DetachToken(ctx, alice.ID, t1.ID))
	got, err := s.UserTokens(ctx, alice.ID)
	check(t, "UserTokens()", err)
	if diff := cmp.Diff([]mfa.Token{t2}, got, cmpOpts); diff != "" {
		t.Errorf("UserTokens(alice) after DetachToken mismatch (-want +got):\n%s", diff)
	}
	users, err := s.TokenUsers(ctx, t1.ID)
	check(t, "TokenUsers()", err)
	if diff := cmp.Diff([]mfa.User{bob}, users, cmpOpts); diff != "" {
		t.Errorf("TokenUsers(t1) after DetachToken mismatch (-want +got):\n%s", diff)
	}
	getToken(t, s, t1.ID)
	check(t, "AttachToken(alice, t1) after detach", s.AttachToken(ctx, alice.ID, t1.ID))
}

func testTokenNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	tk := NewToken(t, s, mfa.TokenH6)
	missing := mfa.Token{ID: NewID(t, mfa.PrefixToken), Type: mfa.TokenH6, Serial: "missing", Counter: 9, Created: at(0)}
	missingUser := NewID(t, mfa.PrefixUser)
	tests := []struct {
		call string
		give func() error
	}{
		{"GetToken(missing)", func() error { _, err := s.GetToken(ctx, missing.ID); return err }},
		{"UpdateToken(missing)", func() error { return s.UpdateToken(ctx, missing) }},
		{"DeleteToken(missing)", func() error { return s.DeleteToken(ctx, missing.ID) }},
		{"AttachToken(user, missing)", func() error { return s.AttachToken(ctx, u.ID, missing.ID) }},
		{"AttachToken(missing user, token)", func() error { return s.AttachToken(ctx, missingUser, tk.ID) }},
	}
	for _, tt := range tests {
		wantKind(t, tt.call, tt.give(), mfa.NotFound)
	}
	if users, err := s.TokenUsers(ctx, tk.ID); err != nil || len(users) != 0 {
		t.Errorf("TokenUsers(%s) after refused attaches = %d users, %v, want 0, nil", tk.ID, len(users), err)
	}
}
