package mfatest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func pushMuteTests() []storeTest {
	return []storeTest{
		{"MuteRead", testPushMuteRead},
		{"Unmute", testPushMuteUnmute},
		{"UpdatePhoneKeeps", testPushMuteUpdatePhone},
		{"CreatePhoneUnmuted", testPushMuteCreatePhone},
		{"NotFound", testPushMuteNotFound},
	}
}

// testPushMuteRead: every read of a phone carries PushMutedUntil.
func testPushMuteRead(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	other := NewPhone(t, s)
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
	check(t, "AttachPhone(other)", s.AttachPhone(ctx, u.ID, other.ID))

	tests := []struct {
		name  string
		until time.Time
		want  time.Time
	}{
		// Odd zone and nanoseconds: the same instant comes back, at
		// microsecond precision.
		{"muted", epoch.Add(20 * time.Minute), at(20 * time.Minute)},
		{"muted longer", at(time.Hour).UTC(), at(time.Hour)},
		{"muted shorter", at(5 * time.Minute), at(5 * time.Minute)}, // it sets, it does not extend
	}
	for _, tt := range tests {
		check(t, "MutePush("+tt.name+")", s.MutePush(ctx, p.ID, tt.until))
		want := p
		want.PushMutedUntil = tt.want
		reads := map[string]func() (mfa.Phone, error){
			"GetPhone": func() (mfa.Phone, error) { return s.GetPhone(ctx, p.ID) },
			"ListPhones": func() (mfa.Phone, error) {
				got, _, err := s.ListPhones(ctx, mfa.PhoneFilter{Number: p.Number})
				if err != nil || len(got) != 1 {
					return mfa.Phone{}, fmt.Errorf("%d phones, %v", len(got), err)
				}
				return got[0], nil
			},
			"UserPhones": func() (mfa.Phone, error) {
				got, err := s.UserPhones(ctx, u.ID)
				for _, q := range got {
					if q.ID == p.ID {
						return q, err
					}
				}
				return mfa.Phone{}, fmt.Errorf("phone missing, %v", err)
			},
		}
		for name, read := range reads {
			got, err := read()
			check(t, name+"("+tt.name+")", err)
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("%s after MutePush(%s) mismatch (-want +got):\n%s", name, tt.name, diff)
			}
		}
		got := getPhone(t, s, p.ID)
		if !got.PushMuted(tt.want.Add(-time.Microsecond)) || got.PushMuted(tt.want) {
			t.Errorf("GetPhone(%s).PushMuted around %v = %v, %v; want true just before, false at it", p.ID, tt.want,
				got.PushMuted(tt.want.Add(-time.Microsecond)), got.PushMuted(tt.want))
		}
	}
	if got := getPhone(t, s, other.ID); !got.PushMutedUntil.IsZero() {
		t.Errorf("GetPhone(another phone).PushMutedUntil = %v, want zero", got.PushMutedUntil)
	}
}

func testPushMuteUnmute(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	p := NewPhone(t, s)
	check(t, "MutePush()", s.MutePush(ctx, p.ID, at(time.Hour)))
	check(t, "MutePush(zero)", s.MutePush(ctx, p.ID, time.Time{}))
	got := getPhone(t, s, p.ID)
	if !got.PushMutedUntil.IsZero() || got.PushMuted(at(0)) {
		t.Errorf("GetPhone(%s).PushMutedUntil after MutePush(zero) = %v, want zero (unmuted)", p.ID, got.PushMutedUntil)
	}
	if diff := cmp.Diff(p, got, cmpOpts); diff != "" {
		t.Errorf("GetPhone(%s) after mute and unmute mismatch (-want +got):\n%s", p.ID, diff)
	}
}

func testPushMuteUpdatePhone(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	p := NewPhone(t, s)
	check(t, "MutePush()", s.MutePush(ctx, p.ID, at(time.Hour)))
	tests := []struct {
		name  string
		until time.Time
	}{
		{"zero", time.Time{}},
		{"other time", at(48 * time.Hour)},
	}
	for _, tt := range tests {
		upd := p
		upd.Name = "renamed " + tt.name
		upd.PushMutedUntil = tt.until
		check(t, "UpdatePhone("+tt.name+")", s.UpdatePhone(ctx, upd))
		want := upd
		want.PushMutedUntil = at(time.Hour)
		if diff := cmp.Diff(want, getPhone(t, s, p.ID), cmpOpts); diff != "" {
			t.Errorf("GetPhone() after UpdatePhone(PushMutedUntil %s) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

// testPushMuteCreatePhone: only MutePush writes PushMutedUntil; a new phone
// is not muted.
func testPushMuteCreatePhone(t *testing.T, s mfa.Store) {
	p := NewPhone(t, s, func(p *mfa.Phone) { p.PushMutedUntil = at(time.Hour) })
	if got := getPhone(t, s, p.ID); !got.PushMutedUntil.IsZero() {
		t.Errorf("GetPhone(created with PushMutedUntil).PushMutedUntil = %v, want zero", got.PushMutedUntil)
	}
}

func testPushMuteNotFound(t *testing.T, s mfa.Store) {
	err := s.MutePush(t.Context(), NewID(t, mfa.PrefixPhone), at(time.Hour))
	wantKind(t, "MutePush(unknown phone)", err, mfa.NotFound)
	p := NewPhone(t, s)
	check(t, "DeletePhone()", s.DeletePhone(t.Context(), p.ID))
	wantKind(t, "MutePush(deleted phone)", s.MutePush(t.Context(), p.ID, at(time.Hour)), mfa.NotFound)
}
