package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/password"
)

func TestSetUserPassword(t *testing.T) {
	svc, st := newService(t)
	ctx := t.Context()
	owner := adminActor(mfa.RoleOwner)
	d, err := svc.CreateUser(ctx, owner, admin.UserFields{Username: ref("jsmith"), Email: ref("john.smith@example.com"),
		RealName: ref("Johnathan Smith")})
	if err != nil {
		t.Fatal(err)
	}
	id := d.User.ID
	tests := []struct {
		name, give string
		wantErr    bool
	}{
		{"too short", "short pw", true},
		{"only spaces", strings.Repeat(" ", 14), true},
		{"too long", strings.Repeat("x", mfa.MaxPasswordLen+1), true},
		{"contains the username", "my-JSMITH-password", true},
		{"contains the email", "john.smith@example.com!", true},
		{"contains the email's local part", "xx john.smith xx", true},
		{"contains a word of the name", "Johnathan was here 2026", true},
		{"fine", "correct horse battery staple", false},
		{"fine, unicode", "pässwörter sind lang", false},
	}
	for _, tt := range tests {
		err := svc.SetUserPassword(ctx, owner, id, mfa.Passcode(tt.give))
		var me *mfa.Error
		if tt.wantErr && !(isKind(err, mfa.Invalid, &me) && me.Field == "password") {
			t.Errorf("SetUserPassword(%s) = %v, want Invalid on password", tt.name, err)
		}
		if !tt.wantErr && err != nil {
			t.Errorf("SetUserPassword(%s) = %v, want nil", tt.name, err)
		}
	}
	pw, err := st.GetUserPassword(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify("pässwörter sind lang", pw.Hash); !ok || err != nil {
		t.Errorf("the stored hash does not verify the last password set: %v, %v", ok, err)
	}
	if !strings.HasPrefix(pw.Hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("stored hash %q, want argon2id at the user cost", pw.Hash)
	}
	logs, err := st.ListAdminLog(ctx, mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range logs {
		if l.Action == "user_password_set" {
			n++
			if strings.Contains(l.Description, "pässwörter") || strings.Contains(l.Description, "$argon2id") {
				t.Errorf("admin log record holds the password or its hash: %s", l.Description)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d user_password_set records, want 2 (one per password set)", n)
	}

	if err := svc.SetUserPassword(ctx, adminActor(mfa.RoleReadOnly), id, "correct horse battery staple"); !isKind(err, mfa.Denied, nil) {
		t.Errorf("SetUserPassword(read-only) = %v, want Denied", err)
	}
	if err := svc.SetUserPassword(ctx, owner, "DUNOSUCHUSER00000000", "correct horse battery staple"); !isKind(err, mfa.NotFound, nil) {
		t.Errorf("SetUserPassword(unknown user) = %v, want NotFound", err)
	}
	if err := svc.ClearUserPassword(ctx, owner, id); err != nil {
		t.Fatal(err)
	}
	if err := svc.ClearUserPassword(ctx, owner, id); !isKind(err, mfa.NotFound, nil) {
		t.Errorf("ClearUserPassword(again) = %v, want NotFound", err)
	}
}

func isKind(err error, k mfa.Kind, out **mfa.Error) bool {
	var e *mfa.Error
	if !errors.As(err, &e) {
		return false
	}
	if out != nil {
		*out = e
	}
	return e.Kind == k
}
