package admin_test

import (
	"fmt"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// TestGrantableRoles: each role may give only roles with no permission it
// lacks itself.
func TestGrantableRoles(t *testing.T) {
	for role, want := range map[mfa.Role]string{
		mfa.RoleOwner:         "[Owner Administrator User Manager Help Desk Read-only]",
		mfa.RoleAdministrator: "[Administrator User Manager Help Desk Read-only]",
		mfa.RoleHelpDesk:      "[Help Desk]", // ManageAdmins is checked on its own
		mfa.RoleReadOnly:      "[Read-only]",
	} {
		got := fmt.Sprint(admin.GrantableRoles(admin.AdminActor(mfa.Admin{ID: "x", Email: "a@example.com", Role: role})))
		if got != want {
			t.Errorf("%s may grant %s, want %s", role, got, want)
		}
	}
}
