package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func phoneTests() []storeTest {
	return []storeTest{
		{"Create", testPhoneCreate},
		{"List", testPhoneList},
		{"ListFilter", testPhoneListFilter},
		{"Update", testPhoneUpdate},
		{"Delete", testPhoneDelete},
		{"AttachDetach", testPhoneAttachDetach},
		{"AttachConcurrent", testPhoneAttachConcurrent},
		{"NotFound", testPhoneNotFound},
	}
}

func testPhoneCreate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		give mfa.Phone
	}{
		{"full", mfa.Phone{
			ID:               NewID(t, mfa.PrefixPhone),
			Number:           "+15555550100",
			Extension:        "42",
			PreDelay:         durationPtr(3 * time.Second),
			PostDelay:        durationPtr(0), // set to zero: not the same as unset
			Name:             "Alice's phone",
			Type:             mfa.PhoneMobile,
			Platform:         "google android",
			Model:            "Pixel 9",
			SMSPasscodesSent: true,
			Created:          at(0),
			LastSeen:         at(time.Hour),
		}},
		{"tablet without number", mfa.Phone{
			ID:       NewID(t, mfa.PrefixPhone),
			Type:     mfa.PhoneTablet,
			Platform: "apple ios",
			Created:  at(time.Minute).UTC(),
		}},
		{"landline", mfa.Phone{
			ID:      NewID(t, mfa.PrefixPhone),
			Number:  "+15555550101",
			Type:    mfa.PhoneLandline,
			Created: at(-time.Hour),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, fmt.Sprintf("CreatePhone(%s)", tt.give.ID), s.CreatePhone(ctx, tt.give))
			got, err := s.GetPhone(ctx, tt.give.ID)
			check(t, fmt.Sprintf("GetPhone(%s)", tt.give.ID), err)
			if diff := cmp.Diff(tt.give, got, cmpOpts); diff != "" {
				t.Errorf("GetPhone(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
			}
			if tt.give.LastSeen.IsZero() && !got.LastSeen.IsZero() {
				t.Errorf("GetPhone(%s).LastSeen = %v, want zero", tt.give.ID, got.LastSeen)
			}
		})
	}
}

func testPhoneList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	var phones []mfa.Phone
	for i := 5; i >= 0; i-- {
		phones = append(phones, NewPhone(t, s, func(p *mfa.Phone) { p.Created = at(time.Duration(i/2) * time.Second) }))
	}
	sortCreated(phones, func(p mfa.Phone) time.Time { return p.Created }, func(p mfa.Phone) string { return p.ID })
	for _, tt := range pageTests(len(phones)) {
		got, total, err := s.ListPhones(ctx, mfa.PhoneFilter{Page: tt.give})
		call := fmt.Sprintf("ListPhones(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(phones[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(phones) {
			t.Errorf("%s total = %d, want %d", call, total, len(phones))
		}
	}
}

func testPhoneListFilter(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	mk := func(number, ext string, sec int) mfa.Phone {
		return NewPhone(t, s, func(p *mfa.Phone) { p.Number, p.Extension, p.Created = number, ext, at(time.Duration(sec)*time.Second) })
	}
	a := mk("+15555550100", "", 1)
	b := mk("+15555550100", "12", 2)
	c := mk("+15555550199", "12", 3)
	d := mk("+15555550100", "", 4) // a number may be shared
	tests := []struct {
		give mfa.PhoneFilter
		want []mfa.Phone
	}{
		{mfa.PhoneFilter{}, []mfa.Phone{a, b, c, d}},
		{mfa.PhoneFilter{Number: "+15555550100"}, []mfa.Phone{a, b, d}},
		{mfa.PhoneFilter{Number: "+15555550199"}, []mfa.Phone{c}},
		{mfa.PhoneFilter{Number: "+15555550100", Extension: "12"}, []mfa.Phone{b}},
		{mfa.PhoneFilter{Extension: "12"}, []mfa.Phone{b, c}},
		{mfa.PhoneFilter{Number: "+1555555010"}, nil},
		{mfa.PhoneFilter{Number: "+15555550100", Page: mfa.Page{Limit: 1, Offset: 1}}, []mfa.Phone{b}},
	}
	for _, tt := range tests {
		got, total, err := s.ListPhones(ctx, tt.give)
		call := fmt.Sprintf("ListPhones(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		want := len(tt.want)
		if tt.give.Limit > 0 {
			want = 3
		}
		if total != want {
			t.Errorf("%s total = %d, want %d", call, total, want)
		}
	}
}

func testPhoneUpdate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	p := NewPhone(t, s)
	NewAuthenticator(t, s, p.ID)
	p = getPhone(t, s, p.ID)
	if !p.Activated {
		t.Fatalf("GetPhone(%s).Activated after ActivateAuthenticator = false, want true", p.ID)
	}

	give := p
	give.Number = "+15555550123"
	give.Extension = "7"
	give.PreDelay, give.PostDelay = durationPtr(10*time.Second), durationPtr(2*time.Second)
	give.Name = "renamed"
	give.Type = mfa.PhoneTablet
	give.Platform = "apple ios"
	give.Model = "iPad"
	give.SMSPasscodesSent = true
	give.LastSeen = at(2 * time.Hour)
	want := give
	give.Created = at(5 * time.Hour)
	give.Activated = false
	check(t, "UpdatePhone()", s.UpdatePhone(ctx, give))
	got := getPhone(t, s, p.ID)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetPhone(%s) after UpdatePhone mismatch (-want +got):\n%s", p.ID, diff)
	}

	// Clearing fields writes zeros.
	give = want
	give.Number, give.Extension, give.Model, give.SMSPasscodesSent, give.LastSeen = "", "", "", false, time.Time{}
	give.PreDelay, give.PostDelay = nil, nil
	check(t, "UpdatePhone(cleared)", s.UpdatePhone(ctx, give))
	got = getPhone(t, s, p.ID)
	if diff := cmp.Diff(give, got, cmpOpts); diff != "" {
		t.Errorf("GetPhone(%s) after clearing UpdatePhone mismatch (-want +got):\n%s", p.ID, diff)
	}
	if !got.LastSeen.IsZero() {
		t.Errorf("GetPhone(%s).LastSeen = %v, want zero", p.ID, got.LastSeen)
	}
}

// getPhone reads a phone, failing t at once if it cannot.
func getPhone(t *testing.T, s mfa.Store, id string) mfa.Phone {
	t.Helper()
	p, err := s.GetPhone(t.Context(), id)
	check(t, fmt.Sprintf("GetPhone(%s)", id), err)
	return p
}

func testPhoneDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	other := NewPhone(t, s)
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
	check(t, "AttachPhone(other)", s.AttachPhone(ctx, u.ID, other.ID))
	old := NewAuthenticator(t, s, p.ID)
	cur := NewAuthenticator(t, s, p.ID)
	keep := NewAuthenticator(t, s, other.ID)
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(ctx, newBatch(t, u.ID, p.ID, 2, time.Time{})))
	check(t, "ReplaceSMSBatch(other)", s.ReplaceSMSBatch(ctx, newBatch(t, u.ID, other.ID, 2, time.Time{})))

	check(t, "DeletePhone()", s.DeletePhone(ctx, p.ID))

	if _, err := s.GetPhone(ctx, p.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetPhone(%s) after DeletePhone = %v, want not found", p.ID, err)
	}
	for _, a := range []mfa.Authenticator{old, cur} {
		if _, err := s.GetAuthenticator(ctx, a.ID); !isKind(err, mfa.NotFound) {
			t.Errorf("GetAuthenticator(%s) after DeletePhone = %v, want not found", a.ID, err)
		}
	}
	if _, err := s.GetAuthenticator(ctx, keep.ID); err != nil {
		t.Errorf("GetAuthenticator(%s) of another phone after DeletePhone = %v, want nil", keep.ID, err)
	}
	if _, _, err := s.SMSBatchState(ctx, u.ID, p.ID, at(0)); !isKind(err, mfa.NotFound) {
		t.Errorf("SMSBatchState(%s, %s) after DeletePhone = %v, want not found", u.ID, p.ID, err)
	}
	if _, _, err := s.SMSBatchState(ctx, u.ID, other.ID, at(0)); err != nil {
		t.Errorf("SMSBatchState(%s, other phone) after DeletePhone = %v, want nil", u.ID, err)
	}
	phones, err := s.UserPhones(ctx, u.ID)
	check(t, "UserPhones()", err)
	if diff := cmp.Diff([]mfa.Phone{getPhone(t, s, other.ID)}, phones, cmpOpts); diff != "" {
		t.Errorf("UserPhones(%s) after DeletePhone mismatch (-want +got):\n%s", u.ID, diff)
	}
	auths, err := s.UserAuthenticators(ctx, u.ID)
	check(t, "UserAuthenticators()", err)
	if len(auths) != 1 || auths[0].ID != keep.ID {
		t.Errorf("UserAuthenticators(%s) after DeletePhone = %d installs, want only %s", u.ID, len(auths), keep.ID)
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Errorf("GetUser(%s) after DeletePhone = %v, want nil (users stay)", u.ID, err)
	}
	wantKind(t, fmt.Sprintf("DeletePhone(%s) again", p.ID), s.DeletePhone(ctx, p.ID), mfa.NotFound)
}

func testPhoneAttachDetach(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	loner := NewUser(t, s)
	p1 := NewPhone(t, s)
	p2 := NewPhone(t, s)
	p3 := NewPhone(t, s)

	check(t, "AttachPhone(alice, p1)", s.AttachPhone(ctx, alice.ID, p1.ID))
	check(t, "AttachPhone(alice, p1) again", s.AttachPhone(ctx, alice.ID, p1.ID))
	check(t, "AttachPhone(alice, p2)", s.AttachPhone(ctx, alice.ID, p2.ID))
	check(t, "AttachPhone(bob, p1)", s.AttachPhone(ctx, bob.ID, p1.ID))

	userPhones := []struct {
		give mfa.User
		want []mfa.Phone
	}{
		{alice, []mfa.Phone{p1, p2}},
		{bob, []mfa.Phone{p1}},
		{loner, nil},
	}
	for _, tt := range userPhones {
		got, err := s.UserPhones(ctx, tt.give.ID)
		check(t, "UserPhones()", err)
		if diff := cmp.Diff(tt.want, got, cmpOpts, sortPhones); diff != "" {
			t.Errorf("UserPhones(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
		}
	}
	phoneUsers := []struct {
		give mfa.Phone
		want []mfa.User
	}{
		{p1, []mfa.User{alice, bob}},
		{p2, []mfa.User{alice}},
		{p3, nil},
	}
	for _, tt := range phoneUsers {
		got, err := s.PhoneUsers(ctx, tt.give.ID)
		check(t, "PhoneUsers()", err)
		if diff := cmp.Diff(tt.want, got, cmpOpts, sortUsers); diff != "" {
			t.Errorf("PhoneUsers(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
		}
	}

	check(t, "DetachPhone(alice, p1)", s.DetachPhone(ctx, alice.ID, p1.ID))
	wantKind(t, "DetachPhone(alice, p1) again", s.DetachPhone(ctx, alice.ID, p1.ID), mfa.NotFound)
	wantKind(t, "DetachPhone(loner, p3)", s.DetachPhone(ctx, loner.ID, p3.ID), mfa.NotFound)
	got, err := s.UserPhones(ctx, alice.ID)
	check(t, "UserPhones()", err)
	if diff := cmp.Diff([]mfa.Phone{p2}, got, cmpOpts); diff != "" {
		t.Errorf("UserPhones(alice) after DetachPhone mismatch (-want +got):\n%s", diff)
	}
	users, err := s.PhoneUsers(ctx, p1.ID)
	check(t, "PhoneUsers()", err)
	if diff := cmp.Diff([]mfa.User{bob}, users, cmpOpts); diff != "" {
		t.Errorf("PhoneUsers(p1) after DetachPhone mismatch (-want +got):\n%s", diff)
	}
	// Detaching keeps both the phone and the user.
	getPhone(t, s, p1.ID)
	getUser(t, s, alice.ID)
	// And the pair can be attached again.
	check(t, "AttachPhone(alice, p1) after detach", s.AttachPhone(ctx, alice.ID, p1.ID))
}

func testPhoneNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	missing := mfa.Phone{ID: NewID(t, mfa.PrefixPhone), Type: mfa.PhoneMobile, Number: "+15555550100", Created: at(0)}
	missingUser := NewID(t, mfa.PrefixUser)
	tests := []struct {
		call string
		give func() error
	}{
		{"GetPhone(missing)", func() error { _, err := s.GetPhone(ctx, missing.ID); return err }},
		{"UpdatePhone(missing)", func() error { return s.UpdatePhone(ctx, missing) }},
		{"DeletePhone(missing)", func() error { return s.DeletePhone(ctx, missing.ID) }},
		{"AttachPhone(user, missing)", func() error { return s.AttachPhone(ctx, u.ID, missing.ID) }},
		{"AttachPhone(missing user, phone)", func() error { return s.AttachPhone(ctx, missingUser, p.ID) }},
		{"DetachPhone(user, missing)", func() error { return s.DetachPhone(ctx, u.ID, missing.ID) }},
		{"DetachPhone(missing user, phone)", func() error { return s.DetachPhone(ctx, missingUser, p.ID) }},
	}
	for _, tt := range tests {
		wantKind(t, tt.call, tt.give(), mfa.NotFound)
	}
	if _, err := s.GetPhone(ctx, missing.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetPhone(%s) after UpdatePhone of a missing phone = %v, want not found", missing.ID, err)
	}
	if users, err := s.PhoneUsers(ctx, p.ID); err != nil || len(users) != 0 {
		t.Errorf("PhoneUsers(%s) after refused attaches = %d users, %v, want 0, nil", p.ID, len(users), err)
	}
}

func testPhoneAttachConcurrent(t *testing.T, s mfa.Store) {
	const n = 10
	u := NewUser(t, s)
	p := NewPhone(t, s)
	// Attaching twice is not an error, even at the same moment.
	errs := Race(t, n, func(ctx context.Context, i int) error { return s.AttachPhone(ctx, u.ID, p.ID) })
	wantAllOK(t, "AttachPhone(same pair)", errs)
	got, err := s.UserPhones(t.Context(), u.ID)
	check(t, "UserPhones()", err)
	if diff := cmp.Diff([]mfa.Phone{p}, got, cmpOpts); diff != "" {
		t.Errorf("UserPhones(%s) after concurrent attaches mismatch (-want +got):\n%s", u.ID, diff)
	}
}

func durationPtr(d time.Duration) *time.Duration { return &d }
