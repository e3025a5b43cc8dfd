package mfatest

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func activationDeviceTests() []storeTest {
	return []storeTest{
		{"ByCode", testActivationByCode},
		{"CompleteExistingPhone", testCompleteActivationExistingPhone},
		{"CompleteNewPhone", testCompleteActivationNewPhone},
		{"CompleteNotFound", testCompleteActivationNotFound},
		{"CompleteWritesNothingOnFailure", testCompleteActivationAtomic},
		{"CompleteConcurrent", testCompleteActivationConcurrent},
		{"CompleteVoidsSpareCodes", testCompleteActivationVoidsSpares},
	}
}

// newInstall returns an install to activate (not stored), created at
// created. PhoneID and UserID are left for CompleteActivation to fill in.
func newInstall(t *testing.T, created time.Time) mfa.Authenticator {
	t.Helper()
	return mfa.Authenticator{
		ID:          NewID(t, mfa.PrefixAuthenticator),
		Status:      mfa.AuthenticatorActive,
		PublicKey:   mfa.Secret("-----BEGIN PUBLIC KEY-----\n" + hex.EncodeToString(randomBytes(t, 32)) + "\n-----END PUBLIC KEY-----\n"),
		HOTPSecret:  NewSecret(t, 20),
		HOTPCounter: 0,
		Platform:    "google android",
		Model:       "Pixel 9",
		AppVersion:  "4.2.0",
		Created:     created,
	}
}

// newDevicePhone returns a phone for CompleteActivation to create (not
// stored).
func newDevicePhone(t *testing.T) mfa.Phone {
	t.Helper()
	return mfa.Phone{
		ID:       NewID(t, mfa.PrefixPhone),
		Number:   "+1555" + digitsOf(t, 7),
		Name:     "enrolled phone",
		Type:     mfa.PhoneMobile,
		Platform: "google android",
		Model:    "Pixel 9",
		Created:  at(time.Minute),
	}
}

func testActivationByCode(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	fresh := newActivation(t, s, u.ID, p.ID)
	redeemed := newActivation(t, s, u.ID, "")
	_, err := s.RedeemActivation(ctx, redeemed.Code, at(time.Minute))
	check(t, "RedeemActivation()", err)
	expired := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = at(time.Minute) })

	redeemedWant := storedActivation(redeemed)
	redeemedWant.Redeemed = at(time.Minute)
	tests := []struct {
		name string
		code mfa.Passcode
		want mfa.Activation
	}{
		{"fresh", fresh.Code, storedActivation(fresh)},
		{"redeemed", redeemed.Code, redeemedWant},
		{"expired", expired.Code, storedActivation(expired)},
	}
	for _, tt := range tests {
		got, err := s.ActivationByCode(ctx, tt.code)
		check(t, "ActivationByCode("+tt.name+")", err)
		if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
			t.Errorf("ActivationByCode(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
		if got.Code != "" {
			t.Errorf("ActivationByCode(%s) returned the code, want it empty", tt.name)
		}
	}

	code := string(fresh.Code)
	changed := "x" + code[1:]
	if changed == code {
		changed = "y" + code[1:]
	}
	for name, code := range map[string]mfa.Passcode{
		"unknown":               newActivationCode(t),
		"empty":                 "",
		"prefix":                mfa.Passcode(code[:len(code)-1]),
		"with a suffix":         mfa.Passcode(code + "x"),
		"one character changed": mfa.Passcode(changed),
		"a bypass code":         "123456789",
	} {
		_, err := s.ActivationByCode(ctx, code)
		wantKind(t, "ActivationByCode("+name+")", err, mfa.NotFound)
	}

	// Looking does not redeem.
	if _, err := s.RedeemActivation(ctx, fresh.Code, at(2*time.Minute)); err != nil {
		t.Errorf("RedeemActivation(after ActivationByCode) = %v, want nil", err)
	}
	// Reaped codes are gone.
	_, err = s.DeleteExpiredActivations(ctx, at(time.Hour))
	check(t, "DeleteExpiredActivations()", err)
	for _, a := range []mfa.Activation{redeemed, expired} {
		_, err := s.ActivationByCode(ctx, a.Code)
		wantKind(t, "ActivationByCode(reaped "+a.ID+")", err, mfa.NotFound)
	}
}

func testCompleteActivationExistingPhone(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
	old := NewAuthenticator(t, s, p.ID, func(a *mfa.Authenticator) { a.UserID = u.ID })
	a := newActivation(t, s, u.ID, p.ID)
	_, phonesBefore, err := s.ListPhones(ctx, mfa.PhoneFilter{})
	check(t, "ListPhones()", err)

	auth := newInstall(t, at(10*time.Minute))
	ignored := newDevicePhone(t)       // the activation names its phone: newPhone is not used
	now := epoch.Add(10 * time.Minute) // nanoseconds: stored at microseconds
	gotA, gotAuth, err := s.CompleteActivation(ctx, a.Code, now, ignored, auth)
	check(t, "CompleteActivation()", err)

	wantA := storedActivation(a)
	wantA.Redeemed = at(10 * time.Minute)
	if diff := cmp.Diff(wantA, gotA, cmpOpts); diff != "" {
		t.Errorf("CompleteActivation() activation mismatch (-want +got):\n%s", diff)
	}
	if gotA.Code != "" {
		t.Error("CompleteActivation() returned the code, want it empty")
	}
	wantAuth := auth
	wantAuth.PhoneID, wantAuth.UserID, wantAuth.Status = p.ID, u.ID, mfa.AuthenticatorActive
	if diff := cmp.Diff(wantAuth, gotAuth, cmpOpts); diff != "" {
		t.Errorf("CompleteActivation() install mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAuth, getAuthenticator(t, s, auth.ID), cmpOpts); diff != "" {
		t.Errorf("GetAuthenticator(%s) after CompleteActivation mismatch (-want +got):\n%s", auth.ID, diff)
	}
	if stored := getAuthenticator(t, s, auth.ID); string(stored.HOTPSecret.Reveal()) != string(auth.HOTPSecret.Reveal()) ||
		string(stored.PublicKey.Reveal()) != string(auth.PublicKey.Reveal()) {
		t.Errorf("GetAuthenticator(%s) secrets differ from the ones activated", auth.ID)
	}
	if cur, err := s.PhoneAuthenticator(ctx, p.ID); err != nil || cur.ID != auth.ID {
		t.Errorf("PhoneAuthenticator(%s) = %s, %v, want %s, nil", p.ID, cur.ID, err, auth.ID)
	}
	if got := getAuthenticator(t, s, old.ID); got.Status != mfa.AuthenticatorRevoked {
		t.Errorf("GetAuthenticator(previous install).Status = %q, want %q", got.Status, mfa.AuthenticatorRevoked)
	}
	if got := getPhone(t, s, p.ID); !got.Activated {
		t.Errorf("GetPhone(%s).Activated after CompleteActivation = false, want true", p.ID)
	}
	if _, err := s.GetPhone(ctx, ignored.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetPhone(newPhone of an activation with a phone) = %v, want not found (not created)", err)
	}
	if _, total, err := s.ListPhones(ctx, mfa.PhoneFilter{}); err != nil || total != phonesBefore {
		t.Errorf("ListPhones() total after CompleteActivation = %d, %v, want %d (no phone created)", total, err, phonesBefore)
	}
	read, err := s.GetActivation(ctx, a.ID)
	check(t, "GetActivation()", err)
	if diff := cmp.Diff(wantA, read, cmpOpts); diff != "" {
		t.Errorf("GetActivation(completed) mismatch (-want +got):\n%s", diff)
	}

	// The code is used up, for both ways of redeeming it.
	_, err = s.RedeemActivation(ctx, a.Code, at(11*time.Minute))
	wantKind(t, "RedeemActivation(completed code)", err, mfa.NotFound)
	_, _, err = s.CompleteActivation(ctx, a.Code, at(11*time.Minute), newDevicePhone(t), newInstall(t, at(11*time.Minute)))
	wantKind(t, "CompleteActivation(completed code)", err, mfa.NotFound)
}

func testCompleteActivationNewPhone(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	kept := NewPhone(t, s) // the user's other phone stays as it is
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, kept.ID))
	keptAuth := NewAuthenticator(t, s, kept.ID)
	a := newActivation(t, s, u.ID, "")

	newPhone := newDevicePhone(t)
	newPhone.Activated = true               // ignored: it follows the installs
	newPhone.PushMutedUntil = at(time.Hour) // ignored: only MutePush writes it
	auth := newInstall(t, at(time.Minute))
	auth.PhoneID, auth.UserID = NewID(t, mfa.PrefixPhone), NewID(t, mfa.PrefixUser) // filled in from the activation
	gotA, gotAuth, err := s.CompleteActivation(ctx, a.Code, at(time.Minute), newPhone, auth)
	check(t, "CompleteActivation()", err)

	if gotA.ID != a.ID || !gotA.Redeemed.Equal(at(time.Minute)) || gotA.PhoneID != "" {
		t.Errorf("CompleteActivation() activation = %s redeemed %v phone %q, want %s redeemed %v phone \"\"",
			gotA.ID, gotA.Redeemed, gotA.PhoneID, a.ID, at(time.Minute))
	}
	wantPhone := newPhone
	wantPhone.Activated, wantPhone.PushMutedUntil = true, time.Time{}
	if diff := cmp.Diff(wantPhone, getPhone(t, s, newPhone.ID), cmpOpts); diff != "" {
		t.Errorf("GetPhone(new phone) mismatch (-want +got):\n%s", diff)
	}
	wantAuth := auth
	wantAuth.PhoneID, wantAuth.UserID, wantAuth.Status = newPhone.ID, u.ID, mfa.AuthenticatorActive
	if diff := cmp.Diff(wantAuth, gotAuth, cmpOpts); diff != "" {
		t.Errorf("CompleteActivation() install mismatch (-want +got):\n%s", diff)
	}
	if cur, err := s.PhoneAuthenticator(ctx, newPhone.ID); err != nil || cur.ID != auth.ID {
		t.Errorf("PhoneAuthenticator(new phone) = %s, %v, want %s, nil", cur.ID, err, auth.ID)
	}
	phones, err := s.UserPhones(ctx, u.ID)
	check(t, "UserPhones()", err)
	if diff := cmp.Diff([]mfa.Phone{wantPhone, getPhone(t, s, kept.ID)}, phones, cmpOpts, sortPhones); diff != "" {
		t.Errorf("UserPhones() after CompleteActivation mismatch (-want +got):\n%s", diff)
	}
	users, err := s.PhoneUsers(ctx, newPhone.ID)
	check(t, "PhoneUsers()", err)
	if len(users) != 1 || users[0].ID != u.ID {
		t.Errorf("PhoneUsers(new phone) = %d users, want only %s", len(users), u.ID)
	}
	if got := getAuthenticator(t, s, keptAuth.ID); got.Status != mfa.AuthenticatorActive {
		t.Errorf("GetAuthenticator(install on the user's other phone).Status = %q, want %q", got.Status, mfa.AuthenticatorActive)
	}
	installs, err := s.UserAuthenticators(ctx, u.ID)
	check(t, "UserAuthenticators()", err)
	if len(installs) != 2 {
		t.Errorf("UserAuthenticators() after CompleteActivation = %d installs, want 2", len(installs))
	}
}

func testCompleteActivationNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	used := newActivation(t, s, u.ID, p.ID)
	_, err := s.RedeemActivation(ctx, used.Code, at(time.Minute))
	check(t, "RedeemActivation()", err)
	expired := newActivation(t, s, u.ID, "", func(a *mfa.Activation) { a.Expires = at(time.Hour) })
	gone := NewUser(t, s)
	ofDeleted := newActivation(t, s, gone.ID, "")
	check(t, "DeleteUser()", s.DeleteUser(ctx, gone.ID))
	live := newActivation(t, s, u.ID, "")
	code := string(live.Code)

	tests := []struct {
		name string
		code mfa.Passcode
		now  time.Time
	}{
		{"unknown", newActivationCode(t), at(time.Minute)},
		{"empty", "", at(time.Minute)},
		{"prefix of a live code", mfa.Passcode(code[:len(code)-1]), at(time.Minute)},
		{"used", used.Code, at(2 * time.Minute)},
		{"at expiry", expired.Code, at(time.Hour)},
		{"after expiry", expired.Code, at(2 * time.Hour)},
		{"of a deleted user", ofDeleted.Code, at(time.Minute)},
	}
	for _, tt := range tests {
		newPhone := newDevicePhone(t)
		auth := newInstall(t, at(time.Minute))
		_, _, err := s.CompleteActivation(ctx, tt.code, tt.now, newPhone, auth)
		wantKind(t, "CompleteActivation("+tt.name+")", err, mfa.NotFound)
		_, err = s.GetPhone(ctx, newPhone.ID)
		wantKind(t, "GetPhone(new phone after CompleteActivation("+tt.name+"))", err, mfa.NotFound)
		_, err = s.GetAuthenticator(ctx, auth.ID)
		wantKind(t, "GetAuthenticator(after CompleteActivation("+tt.name+"))", err, mfa.NotFound)
	}
	if _, err := s.PhoneAuthenticator(ctx, p.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("PhoneAuthenticator(phone of a used code) = %v, want not found", err)
	}
	if read, err := s.GetActivation(ctx, expired.ID); err != nil || !read.Redeemed.IsZero() {
		t.Errorf("GetActivation(expired) after CompleteActivation = redeemed %v, %v, want zero, nil", read.Redeemed, err)
	}
}

// testCompleteActivationAtomic: when a later step fails, the earlier ones
// are undone: the code is not spent, no phone or install is left, and the
// phone's current install stays active.
func testCompleteActivationAtomic(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
	cur := NewAuthenticator(t, s, p.ID)
	taken := NewPhone(t, s)                                // a phone id already in use
	elsewhere := NewAuthenticator(t, s, NewPhone(t, s).ID) // an install id already in use

	tests := []struct {
		name     string
		phoneID  string // the activation's phone
		newPhone func() mfa.Phone
		auth     func() mfa.Authenticator
		kind     mfa.Kind
	}{
		{"new phone without id", "", func() mfa.Phone { p := newDevicePhone(t); p.ID = ""; return p },
			func() mfa.Authenticator { return newInstall(t, at(time.Minute)) }, mfa.Invalid},
		{"new phone id taken", "", func() mfa.Phone { p := newDevicePhone(t); p.ID = taken.ID; return p },
			func() mfa.Authenticator { return newInstall(t, at(time.Minute)) }, mfa.Conflict},
		{"install id taken, new phone", "", func() mfa.Phone { return newDevicePhone(t) },
			func() mfa.Authenticator { a := newInstall(t, at(time.Minute)); a.ID = elsewhere.ID; return a }, mfa.Conflict},
		{"install id taken, existing phone", p.ID, func() mfa.Phone { return newDevicePhone(t) },
			func() mfa.Authenticator { a := newInstall(t, at(time.Minute)); a.ID = elsewhere.ID; return a }, mfa.Conflict},
	}
	wantPhones := []string{p.ID} // the user's phones
	for _, tt := range tests {
		a := newActivation(t, s, u.ID, tt.phoneID)
		newPhone, auth := tt.newPhone(), tt.auth()
		_, _, err := s.CompleteActivation(ctx, a.Code, at(time.Minute), newPhone, auth)
		wantKind(t, "CompleteActivation("+tt.name+")", err, tt.kind)

		if read, err := s.GetActivation(ctx, a.ID); err != nil || !read.Redeemed.IsZero() {
			t.Errorf("GetActivation() after CompleteActivation(%s) failed = redeemed %v, %v; want unredeemed, nil", tt.name, read.Redeemed, err)
		}
		if newPhone.ID != "" && newPhone.ID != taken.ID {
			_, err := s.GetPhone(ctx, newPhone.ID)
			wantKind(t, "GetPhone(new phone) after CompleteActivation("+tt.name+") failed", err, mfa.NotFound)
		}
		phones, err := s.UserPhones(ctx, u.ID)
		check(t, "UserPhones()", err)
		var gotPhones []string
		for _, q := range phones {
			gotPhones = append(gotPhones, q.ID)
		}
		if diff := cmp.Diff(wantPhones, gotPhones, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("UserPhones() after CompleteActivation(%s) failed mismatch (-want +got):\n%s", tt.name, diff)
		}
		if got, err := s.PhoneAuthenticator(ctx, p.ID); err != nil || got.ID != cur.ID {
			t.Errorf("PhoneAuthenticator(%s) after CompleteActivation(%s) failed = %s, %v; want %s, nil", p.ID, tt.name, got.ID, err, cur.ID)
		}
		if got := getAuthenticator(t, s, elsewhere.ID); got.PhoneID != elsewhere.PhoneID || got.Status != mfa.AuthenticatorActive {
			t.Errorf("GetAuthenticator(install whose id was reused) = phone %s %s, want phone %s active", got.PhoneID, got.Status, elsewhere.PhoneID)
		}

		// The code still works.
		fixed := newInstall(t, at(2*time.Minute))
		_, got, err := s.CompleteActivation(ctx, a.Code, at(2*time.Minute), newDevicePhone(t), fixed)
		check(t, "CompleteActivation(after a failed one)", err)
		if got.ID != fixed.ID {
			t.Errorf("CompleteActivation(after a failed one) = install %s, want %s", got.ID, fixed.ID)
		}
		if tt.phoneID != "" {
			cur = got // it replaced the phone's install
		} else {
			wantPhones = append(wantPhones, got.PhoneID)
		}
	}
}

func testCompleteActivationConcurrent(t *testing.T, s mfa.Store) {
	const n = 20
	tests := []struct {
		name     string
		newPhone bool
	}{
		{"new phone", true},
		{"existing phone", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			u := NewUser(t, s)
			phoneID := ""
			var old mfa.Authenticator
			if !tt.newPhone {
				p := NewPhone(t, s)
				check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
				old = NewAuthenticator(t, s, p.ID)
				phoneID = p.ID
			}
			a := newActivation(t, s, u.ID, phoneID)
			phones := make([]mfa.Phone, n)
			auths := make([]mfa.Authenticator, n)
			for i := range n {
				phones[i] = newDevicePhone(t)
				auths[i] = newInstall(t, at(time.Minute))
			}
			results := make([]mfa.Authenticator, n)
			errs := Race(t, n, func(ctx context.Context, i int) error {
				var err error
				_, results[i], err = s.CompleteActivation(ctx, a.Code, at(time.Minute+time.Duration(i)*time.Microsecond), phones[i], auths[i])
				return err
			})
			wantRace(t, "CompleteActivation(one code)", errs, 1, mfa.NotFound)
			winner := -1
			for i, err := range errs {
				if err == nil {
					winner = i
				}
			}
			if winner < 0 {
				return
			}

			// Exactly the winner's install (and phone) exist.
			var installs, created []string
			for i := range n {
				if _, err := s.GetAuthenticator(ctx, auths[i].ID); err == nil {
					installs = append(installs, auths[i].ID)
				}
				if _, err := s.GetPhone(ctx, phones[i].ID); err == nil {
					created = append(created, phones[i].ID)
				}
			}
			if len(installs) != 1 || installs[0] != auths[winner].ID {
				t.Errorf("installs stored after %d concurrent CompleteActivation = %v, want only the winner's %s", n, installs, auths[winner].ID)
			}
			wantPhoneID := phoneID
			wantCreated := []string(nil)
			if tt.newPhone {
				wantPhoneID = phones[winner].ID
				wantCreated = []string{wantPhoneID}
			}
			if fmt.Sprint(created) != fmt.Sprint(wantCreated) {
				t.Errorf("phones created by %d concurrent CompleteActivation = %v, want %v", n, created, wantCreated)
			}
			if results[winner].PhoneID != wantPhoneID || results[winner].UserID != u.ID {
				t.Errorf("winning CompleteActivation() install on phone %s of user %s, want phone %s of user %s",
					results[winner].PhoneID, results[winner].UserID, wantPhoneID, u.ID)
			}
			userPhones, err := s.UserPhones(ctx, u.ID)
			check(t, "UserPhones()", err)
			if len(userPhones) != 1 || userPhones[0].ID != wantPhoneID {
				t.Errorf("UserPhones() after %d concurrent CompleteActivation = %d phones, want only %s", n, len(userPhones), wantPhoneID)
			}
			if cur, err := s.PhoneAuthenticator(ctx, wantPhoneID); err != nil || cur.ID != auths[winner].ID {
				t.Errorf("PhoneAuthenticator(%s) = %s, %v, want the winner's %s", wantPhoneID, cur.ID, err, auths[winner].ID)
			}
			if !tt.newPhone {
				if got := getAuthenticator(t, s, old.ID); got.Status != mfa.AuthenticatorRevoked {
					t.Errorf("GetAuthenticator(previous install).Status = %q, want %q", got.Status, mfa.AuthenticatorRevoked)
				}
			}
		})
	}
}

// testCompleteActivationVoidsSpares: redeeming one code voids every
// other unredeemed code of its phone and every enrolment code (no phone)
// of its user, so that a spare code issued earlier cannot replace the
// install just made; codes of other phones and other users stay valid.
func testCompleteActivationVoidsSpares(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	check(t, "AttachPhone()", s.AttachPhone(ctx, u.ID, p.ID))
	other := NewPhone(t, s)
	check(t, "AttachPhone(other)", s.AttachPhone(ctx, u.ID, other.ID))
	stranger := NewUser(t, s)

	older := newActivation(t, s, u.ID, p.ID)
	enrol := newActivation(t, s, u.ID, "")
	otherPhone := newActivation(t, s, u.ID, other.ID)
	strangers := newActivation(t, s, stranger.ID, "")
	newer := newActivation(t, s, u.ID, p.ID)

	install := newInstall(t, at(time.Minute))
	_, _, err := s.CompleteActivation(ctx, newer.Code, at(time.Minute), newDevicePhone(t), install)
	check(t, "CompleteActivation(newer)", err)

	for _, spare := range []struct {
		name string
		a    mfa.Activation
	}{{"older code of the phone", older}, {"enrolment code of the user", enrol}} {
		_, _, err := s.CompleteActivation(ctx, spare.a.Code, at(2*time.Minute), newDevicePhone(t), newInstall(t, at(2*time.Minute)))
		wantKind(t, "CompleteActivation("+spare.name+")", err, mfa.NotFound)
		_, err = s.ActivationByCode(ctx, spare.a.Code)
		wantKind(t, "ActivationByCode("+spare.name+")", err, mfa.NotFound)
	}
	if cur, err := s.PhoneAuthenticator(ctx, p.ID); err != nil || cur.ID != install.ID {
		t.Errorf("PhoneAuthenticator(%s) after the spare codes = %s, %v, want %s (not replaced)", p.ID, cur.ID, err, install.ID)
	}
	if a, err := s.ActivationByCode(ctx, newer.Code); err != nil || a.Redeemed.IsZero() {
		t.Errorf("ActivationByCode(redeemed code) = redeemed %v, %v, want it kept as redeemed", a.Redeemed, err)
	}
	for _, kept := range []struct {
		name string
		a    mfa.Activation
	}{{"code of another phone", otherPhone}, {"another user's enrolment code", strangers}} {
		if a, err := s.ActivationByCode(ctx, kept.a.Code); err != nil || !a.Redeemed.IsZero() {
			t.Errorf("ActivationByCode(%s) = redeemed %v, %v, want it still valid", kept.name, a.Redeemed, err)
		}
	}

	// An enrolment code voids the user's other enrolment codes too.
	e1 := newActivation(t, s, stranger.ID, "")
	_, _, err = s.CompleteActivation(ctx, strangers.Code, at(3*time.Minute), newDevicePhone(t), newInstall(t, at(3*time.Minute)))
	check(t, "CompleteActivation(enrolment)", err)
	_, err = s.ActivationByCode(ctx, e1.Code)
	wantKind(t, "ActivationByCode(second enrolment code after the first was redeemed)", err, mfa.NotFound)
}
