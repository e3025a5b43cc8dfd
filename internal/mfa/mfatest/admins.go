package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func adminTests() []storeTest {
	return []storeTest{
		{"Create", testAdminCreate},
		{"GetByEmail", testAdminGetByEmail},
		{"Conflict", testAdminConflict},
		{"List", testAdminList},
		{"Update", testAdminUpdate},
		{"Delete", testAdminDelete},
		{"Count", testAdminCount},
		{"NotFound", testAdminNotFound},
		{"LastOwner", testAdminLastOwner},
		{"LastOwnerConcurrent", testAdminLastOwnerConcurrent},
		{"Disabled", testAdminDisabled},
		{"Bootstrap", testAdminBootstrap},
		{"BootstrapConcurrent", testAdminBootstrapConcurrent},
		{"Failures", testAdminFailures},
		{"TOTP", testAdminTOTP},
		{"WebAuthn", testAdminWebAuthn},
		{"WebAuthnCounterConcurrent", testAdminWebAuthnCounterConcurrent},
	}
}

// getAdmin reads an administrator, failing t at once if it cannot.
func getAdmin(t *testing.T, s mfa.Store, id string) mfa.Admin {
	t.Helper()
	a, err := s.GetAdmin(t.Context(), id)
	check(t, fmt.Sprintf("GetAdmin(%s)", id), err)
	return a
}

func testAdminCreate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		give mfa.Admin
	}{
		{"owner", mfa.Admin{
			ID:           NewID(t, mfa.PrefixAdmin),
			Email:        "Owner@Example.com",
			Name:         "The Owner",
			Role:         mfa.RoleOwner,
			PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
			Created:      at(0),
			LastLogin:    at(time.Hour),
		}},
		// Instants before 1970 and after 2262 (beyond UnixNano) survive too.
		{"far times", mfa.Admin{
			ID:        NewID(t, mfa.PrefixAdmin),
			Email:     "old@example.com",
			Role:      mfa.RoleReadOnly,
			Created:   time.Date(1969, time.December, 31, 23, 59, 59, 999999000, zone),
			LastLogin: time.Date(2300, time.January, 2, 3, 4, 5, 6000, zone),
		}},
		{"never logged in", mfa.Admin{
			ID:      NewID(t, mfa.PrefixAdmin),
			Email:   "helpdesk@example.com",
			Role:    mfa.RoleHelpDesk,
			Created: at(time.Minute).UTC(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "CreateAdmin()", s.CreateAdmin(ctx, tt.give))
			got := getAdmin(t, s, tt.give.ID)
			if diff := cmp.Diff(tt.give, got, cmpOpts); diff != "" {
				t.Errorf("GetAdmin(%s) mismatch (-want +got):\n%s", tt.give.ID, diff)
			}
			if tt.give.LastLogin.IsZero() && !got.LastLogin.IsZero() {
				t.Errorf("GetAdmin(%s).LastLogin = %v, want zero", tt.give.ID, got.LastLogin)
			}
		})
	}
}

func testAdminGetByEmail(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewAdmin(t, s, func(a *mfa.Admin) { a.Email = "Alice@Example.com" })
	b := NewAdmin(t, s, func(a *mfa.Admin) { a.Email = "bob@example.com" })
	tests := []struct {
		give string
		want string // admin id; "" = not found
	}{
		{"Alice@Example.com", a.ID},
		{"alice@example.com", a.ID},
		{"ALICE@EXAMPLE.COM", a.ID},
		{"Bob@Example.Com", b.ID},
		{"alice@example.co", ""},
		{"%@example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := s.GetAdminByEmail(ctx, tt.give)
		if tt.want == "" {
			wantKind(t, fmt.Sprintf("GetAdminByEmail(%q)", tt.give), err, mfa.NotFound)
			continue
		}
		if err != nil || got.ID != tt.want {
			t.Errorf("GetAdminByEmail(%q) = %s, %v, want %s, nil", tt.give, got.ID, err, tt.want)
		}
	}
	got, err := s.GetAdminByEmail(ctx, "ALICE@example.com")
	check(t, "GetAdminByEmail()", err)
	if diff := cmp.Diff(a, got, cmpOpts); diff != "" {
		t.Errorf("GetAdminByEmail(%q) mismatch (-want +got):\n%s", "ALICE@example.com", diff)
	}
}

func testAdminConflict(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	alice := NewAdmin(t, s, func(a *mfa.Admin) { a.Email = "alice@example.com" })
	bob := NewAdmin(t, s, func(a *mfa.Admin) { a.Email = "bob@example.com" })
	for _, email := range []string{"alice@example.com", "ALICE@example.com", "Alice@Example.Com"} {
		dup := mfa.Admin{ID: NewID(t, mfa.PrefixAdmin), Email: email, Role: mfa.RoleReadOnly, Created: at(0)}
		wantKind(t, fmt.Sprintf("CreateAdmin(%q)", email), s.CreateAdmin(ctx, dup), mfa.Conflict)
	}
	moved := bob
	moved.Email = "Alice@EXAMPLE.com"
	wantKind(t, "UpdateAdmin(bob takes alice's email)", s.UpdateAdmin(ctx, moved), mfa.Conflict)
	for _, want := range []mfa.Admin{alice, bob} {
		if diff := cmp.Diff(want, getAdmin(t, s, want.ID), cmpOpts); diff != "" {
			t.Errorf("GetAdmin(%s) after refused writes mismatch (-want +got):\n%s", want.ID, diff)
		}
	}
	// Changing the case of one's own email is no clash.
	bob.Email = "Bob@Example.com"
	check(t, "UpdateAdmin(bob, own email in another case)", s.UpdateAdmin(ctx, bob))
	if n, err := s.CountAdmins(ctx); err != nil || n != 2 {
		t.Errorf("CountAdmins() = %d, %v, want 2, nil", n, err)
	}
}

func testAdminList(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	var all []mfa.Admin
	for i := 5; i >= 0; i-- {
		all = append(all, NewAdmin(t, s, func(a *mfa.Admin) { a.Created = at(time.Duration(i/2) * time.Second) }))
	}
	sortCreated(all, func(a mfa.Admin) time.Time { return a.Created }, func(a mfa.Admin) string { return a.ID })
	for _, tt := range pageTests(len(all)) {
		got, total, err := s.ListAdmins(ctx, tt.give)
		call := fmt.Sprintf("ListAdmins(%+v)", tt.give)
		check(t, call, err)
		if diff := cmp.Diff(all[tt.from:tt.to], got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
		if total != len(all) {
			t.Errorf("%s total = %d, want %d", call, total, len(all))
		}
	}
}

func testAdminUpdate(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewAdmin(t, s)
	other := NewAdmin(t, s)
	want := a
	want.Email = "new-address@example.com"
	want.Name = "Renamed"
	want.Role = mfa.RoleUserManager
	want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA"
	want.LastLogin = at(3 * time.Hour).UTC()
	give := want
	give.Created = at(24 * time.Hour)
	check(t, "UpdateAdmin()", s.UpdateAdmin(ctx, give))
	if diff := cmp.Diff(want, getAdmin(t, s, a.ID), cmpOpts); diff != "" {
		t.Errorf("GetAdmin(%s) after UpdateAdmin mismatch (-want +got):\n%s", a.ID, diff)
	}
	if _, err := s.GetAdminByEmail(ctx, a.Email); !isKind(err, mfa.NotFound) {
		t.Errorf("GetAdminByEmail(old email) = %v, want not found", err)
	}
	if diff := cmp.Diff(other, getAdmin(t, s, other.ID), cmpOpts); diff != "" {
		t.Errorf("GetAdmin(other) after UpdateAdmin mismatch (-want +got):\n%s", diff)
	}
}

func testAdminDelete(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	a := NewAdmin(t, s)
	keep := NewAdmin(t, s)
	check(t, "DeleteAdmin()", s.DeleteAdmin(ctx, a.ID))
	if _, err := s.GetAdmin(ctx, a.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetAdmin(%s) after DeleteAdmin = %v, want not found", a.ID, err)
	}
	if _, err := s.GetAdminByEmail(ctx, a.Email); !isKind(err, mfa.NotFound) {
		t.Errorf("GetAdminByEmail(%q) after DeleteAdmin = %v, want not found", a.Email, err)
	}
	got, total, err := s.ListAdmins(ctx, mfa.Page{})
	check(t, "ListAdmins()", err)
	if diff := cmp.Diff([]mfa.Admin{keep}, got, cmpOpts); diff != "" || total != 1 {
		t.Errorf("ListAdmins() after DeleteAdmin = total %d, mismatch (-want +got):\n%s", total, diff)
	}
	wantKind(t, "DeleteAdmin() again", s.DeleteAdmin(ctx, a.ID), mfa.NotFound)
	// The email is free again.
	NewAdmin(t, s, func(x *mfa.Admin) { x.Email = a.Email })
}

func testAdminCount(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	count := func() int {
		t.Helper()
		n, err := s.CountAdmins(ctx)
		check(t, "CountAdmins()", err)
		return n
	}
	if n := count(); n != 0 {
		t.Errorf("CountAdmins() of a fresh store = %d, want 0", n)
	}
	var admins []mfa.Admin
	for i := range 3 {
		admins = append(admins, NewAdmin(t, s))
		if n := count(); n != i+1 {
			t.Errorf("CountAdmins() after %d creates = %d, want %d", i+1, n, i+1)
		}
	}
	check(t, "DeleteAdmin()", s.DeleteAdmin(ctx, admins[1].ID))
	if n := count(); n != 2 {
		t.Errorf("CountAdmins() after a delete = %d, want 2", n)
	}
}

func testAdminNotFound(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	NewAdmin(t, s)
	missing := mfa.Admin{ID: NewID(t, mfa.PrefixAdmin), Email: "ghost@example.com", Role: mfa.RoleOwner, Created: at(0)}
	if _, err := s.GetAdmin(ctx, missing.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetAdmin(%s) = %v, want not found", missing.ID, err)
	}
	if _, err := s.GetAdminByEmail(ctx, missing.Email); !isKind(err, mfa.NotFound) {
		t.Errorf("GetAdminByEmail(%q) = %v, want not found", missing.Email, err)
	}
	wantKind(t, "UpdateAdmin(missing)", s.UpdateAdmin(ctx, missing), mfa.NotFound)
	wantKind(t, "DeleteAdmin(missing)", s.DeleteAdmin(ctx, missing.ID), mfa.NotFound)
	wantKind(t, "LockAdmin(missing)", s.LockAdmin(ctx, missing.ID), mfa.NotFound)
	wantKind(t, "LockAdmin(missing) in Atomic",
		s.Atomic(ctx, func(ctx context.Context) error { return s.LockAdmin(ctx, missing.ID) }), mfa.NotFound)
	if n, err := s.CountAdmins(ctx); err != nil || n != 1 {
		t.Errorf("CountAdmins() = %d, %v, want 1, nil", n, err)
	}
}

// bootstrapSet makes an owner and two integrations that are not stored yet.
func bootstrapSet(t *testing.T, i int) (mfa.Admin, []mfa.Integration) {
	t.Helper()
	owner := mfa.Admin{
		ID:      NewID(t, mfa.PrefixAdmin),
		Email:   fmt.Sprintf("owner-%d@example.com", i),
		Name:    "Owner",
		Role:    mfa.RoleOwner,
		Created: at(0),
	}
	var ins []mfa.Integration
	for _, typ := range []mfa.IntegrationType{mfa.IntegrationAdminAPI, mfa.IntegrationAuthAPI} {
		ins = append(ins, mfa.Integration{
			IKey:         NewID(t, mfa.PrefixIntegration),
			SKey:         NewSecret(t, 20),
			Name:         string(typ),
			Type:         typ,
			EnrollPolicy: mfa.EnrollPolicyEnroll,
			Created:      at(0),
		})
	}
	ins[0].Permissions = mfa.AllAdminPermissions()
	return owner, ins
}

func testAdminBootstrap(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	owner, ins := bootstrapSet(t, 0)
	check(t, "Bootstrap(empty store)", s.Bootstrap(ctx, owner, ins))
	if got := getAdmin(t, s, owner.ID); !cmp.Equal(got, owner, cmpOpts) {
		t.Errorf("GetAdmin(bootstrapped owner) = %+v, want %+v", got, owner)
	}
	for _, in := range ins {
		got, err := s.GetIntegration(ctx, in.IKey)
		check(t, "GetIntegration(bootstrapped)", err)
		if !cmp.Equal(got, in, cmpOpts) {
			t.Errorf("GetIntegration(%s) = %+v, want %+v", in.IKey, got, in)
		}
	}

	// A second bootstrap is Conflict and stores nothing.
	owner2, ins2 := bootstrapSet(t, 1)
	wantKind(t, "Bootstrap(bootstrapped store)", s.Bootstrap(ctx, owner2, ins2), mfa.Conflict)
	if _, err := s.GetAdmin(ctx, owner2.ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetAdmin(second owner) = %v, want NotFound", err)
	}
	if _, err := s.GetIntegration(ctx, ins2[0].IKey); !isKind(err, mfa.NotFound) {
		t.Errorf("GetIntegration(second bootstrap) = %v, want NotFound", err)
	}
}

func testAdminBootstrapConcurrent(t *testing.T, s mfa.Store) {
	const n = 10
	owners := make([]mfa.Admin, n)
	sets := make([][]mfa.Integration, n)
	for i := range n {
		owners[i], sets[i] = bootstrapSet(t, i)
	}
	errs := Race(t, n, func(ctx context.Context, i int) error {
		return s.Bootstrap(ctx, owners[i], sets[i])
	})
	wantRace(t, "Bootstrap", errs, 1, mfa.Conflict)
	count, err := s.CountAdmins(t.Context())
	check(t, "CountAdmins", err)
	if count != 1 {
		t.Errorf("CountAdmins() after %d concurrent bootstraps = %d, want 1", n, count)
	}
	_, total, err := s.ListIntegrations(t.Context(), mfa.Page{})
	check(t, "ListIntegrations", err)
	if total != 2 {
		t.Errorf("ListIntegrations() total after concurrent bootstraps = %d, want 2 (one winner's)", total)
	}
}

func testAdminLastOwner(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	owner := NewAdmin(t, s, func(a *mfa.Admin) { a.Role = mfa.RoleOwner })
	NewAdmin(t, s, func(a *mfa.Admin) { a.Role = mfa.RoleAdministrator })

	demoted := owner
	demoted.Role = mfa.RoleAdministrator
	wantField(t, "UpdateAdmin(demote the only Owner)", s.UpdateAdmin(ctx, demoted), mfa.Conflict, "role")
	wantField(t, "DeleteAdmin(the only Owner)", s.DeleteAdmin(ctx, owner.ID), mfa.Conflict, "admin_id")
	if got := getAdmin(t, s, owner.ID); got.Role != mfa.RoleOwner {
		t.Errorf("refused demotion changed the role to %q", got.Role)
	}
	// Other changes to the only Owner are fine.
	renamed := owner
	renamed.Name = "Renamed"
	check(t, "UpdateAdmin(rename the only Owner)", s.UpdateAdmin(ctx, renamed))

	// With a second Owner, one of them can go.
	second := NewAdmin(t, s, func(a *mfa.Admin) { a.Role = mfa.RoleOwner })
	check(t, "DeleteAdmin(one of two Owners)", s.DeleteAdmin(ctx, owner.ID))
	wantField(t, "DeleteAdmin(the remaining Owner)", s.DeleteAdmin(ctx, second.ID), mfa.Conflict, "admin_id")
}

func testAdminLastOwnerConcurrent(t *testing.T, s mfa.Store) {
	const n = 5
	owners := make([]mfa.Admin, n)
	for i := range owners {
		owners[i] = NewAdmin(t, s, func(a *mfa.Admin) { a.Role = mfa.RoleOwner })
	}
	errs := Race(t, n, func(ctx context.Context, i int) error {
		a := owners[i]
		a.Role = mfa.RoleHelpDesk
		if i%2 == 0 {
			return s.DeleteAdmin(ctx, a.ID)
		}
		return s.UpdateAdmin(ctx, a)
	})
	wantRace(t, "demote or delete every Owner at once", errs, n-1, mfa.Conflict)
	list, _, err := s.ListAdmins(t.Context(), mfa.Page{})
	check(t, "ListAdmins", err)
	left := 0
	for _, a := range list {
		if a.Role == mfa.RoleOwner {
			left++
		}
	}
	if left != 1 {
		t.Errorf("after demoting every Owner at once, %d Owners remain, want 1", left)
	}
}

// testAdminDisabled: the status round-trips, and a disabled Owner does not
// count as an Owner: the last active Owner can be neither disabled,
// demoted nor deleted while the other Owner is disabled.
func testAdminDisabled(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	owner := NewAdmin(t, s, func(a *mfa.Admin) { a.Role = mfa.RoleOwner })
	off := NewAdmin(t, s, func(a *mfa.Admin) { a.Role = mfa.RoleOwner; a.Disabled = true })
	if got := getAdmin(t, s, off.ID); !got.Disabled || got.Status() != mfa.AdminStatusDisabled || got.CanSignIn() {
		t.Errorf("created disabled: got Disabled %v, status %q", got.Disabled, got.Status())
	}
	if got := getAdmin(t, s, owner.ID); got.Disabled || got.Status() != mfa.AdminStatusActive || !got.CanSignIn() {
		t.Errorf("created active: got Disabled %v, status %q", got.Disabled, got.Status())
	}
	disabled := owner
	disabled.Disabled = true
	wantField(t, "UpdateAdmin(disable the only active Owner)", s.UpdateAdmin(ctx, disabled), mfa.Conflict, "status")
	demoted := owner
	demoted.Role = mfa.RoleAdministrator
	wantField(t, "UpdateAdmin(demote the only active Owner)", s.UpdateAdmin(ctx, demoted), mfa.Conflict, "role")
	wantField(t, "DeleteAdmin(the only active Owner)", s.DeleteAdmin(ctx, owner.ID), mfa.Conflict, "admin_id")
	if got := getAdmin(t, s, owner.ID); got.Disabled || got.Role != mfa.RoleOwner {
		t.Errorf("refused changes changed the Owner: %+v", got)
	}
	// The disabled Owner itself may go, and once re-enabled the first may be disabled.
	on := off
	on.Disabled = false
	check(t, "UpdateAdmin(enable the second Owner)", s.UpdateAdmin(ctx, on))
	check(t, "UpdateAdmin(disable one of two active Owners)", s.UpdateAdmin(ctx, disabled))
	if got := getAdmin(t, s, owner.ID); !got.Disabled {
		t.Errorf("UpdateAdmin(disable) did not store the status")
	}
	check(t, "DeleteAdmin(a disabled Owner)", s.DeleteAdmin(ctx, owner.ID))
}
