package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// TestCreateUserPhone: the phone is created and associated in one step,
// both logged; a bad field, an unknown user or a refused role leave no
// phone behind.
func TestCreateUserPhone(t *testing.T) { testCreateUserPhone(t, newDevEnv(t)) }

func TestCreateUserPhonePostgres(t *testing.T) {
	testCreateUserPhone(t, newDevEnv(t, sqltest.PostgresDSN(t)))
}

func testCreateUserPhone(t *testing.T, e *devEnv) {
	ctx := t.Context()
	u := e.user("alice")
	s := func(v string) *string { return &v }
	p, err := e.svc.CreateUserPhone(ctx, e.owner, u.ID, admin.PhoneFields{Number: s("+1 555 555 0100"), Extension: s("12"),
		Type: s("landline"), Name: s("Desk")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Number != "+15555550100" || p.Type != mfa.PhoneLandline || len(p.Users) != 1 || p.Users[0].ID != u.ID {
		t.Errorf("CreateUserPhone() = %+v", p)
	}
	if phones, _ := e.store.UserPhones(ctx, u.ID); len(phones) != 1 || phones[0].ID != p.ID {
		t.Errorf("alice's phones = %+v", phones)
	}
	log := e.adminLog()
	if !strings.Contains(log, "phone_create phone "+p.ID) || !strings.Contains(log, "user_phone_associate user "+u.ID) {
		t.Errorf("admin log lacks the create or the associate:\n%s", log)
	}
	count := func() int {
		_, n, err := e.store.ListPhones(ctx, mfa.PhoneFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	readOnly := admin.Actor{Kind: admin.ActorAdmin, Name: "ro@example.com", Role: mfa.RoleReadOnly}
	for _, tt := range []struct {
		name string
		a    admin.Actor
		user string
		f    admin.PhoneFields
		kind mfa.Kind
	}{
		{"bad number", e.owner, u.ID, admin.PhoneFields{Number: s("555")}, mfa.Invalid},
		{"unknown user", e.owner, "DUNKNOWN0000000000000", admin.PhoneFields{Number: s("+15555550101")}, mfa.NotFound},
		{"read-only", readOnly, u.ID, admin.PhoneFields{Number: s("+15555550102")}, mfa.Denied},
	} {
		_, err := e.svc.CreateUserPhone(ctx, tt.a, tt.user, tt.f)
		if mfa.KindOf(err) != tt.kind {
			t.Errorf("%s: err = %v, want kind %v", tt.name, err, tt.kind)
		}
		if errors.Is(err, mfa.ErrNotFound) != (tt.kind == mfa.NotFound) {
			t.Errorf("%s: errors.Is NotFound wrong: %v", tt.name, err)
		}
	}
	if n := count(); n != before {
		t.Errorf("failed calls left %d phones, want %d", n, before)
	}
}
