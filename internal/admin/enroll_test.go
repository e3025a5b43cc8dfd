package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestEnrollUser(t *testing.T) { testEnrollUser(t, newActEnv(t)) }

func TestEnrollUserPostgres(t *testing.T) { testEnrollUser(t, newActEnv(t, sqltest.PostgresDSN(t))) }

func testEnrollUser(t *testing.T, e *actEnv) {
	ctx := t.Context()

	// A new user is created and emailed.
	if err := e.svc.EnrollUser(ctx, e.owner, admin.EnrollRequest{Username: " carol ", Email: "carol@example.com"}); err != nil {
		t.Fatalf("EnrollUser(new) = %v", err)
	}
	carol, err := e.store.GetUserByName(ctx, "carol")
	if err != nil || carol.Email != "carol@example.com" || carol.Status != mfa.StatusActive {
		t.Fatalf("enrolled user = %+v, %v; want active carol with her email", carol, err)
	}
	msgs := e.notes.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sent %d messages, want one email", len(msgs))
	}
	m := msgs[0]
	if m.Channel != mfa.ChannelEmail || m.To != "carol@example.com" || m.Subject != "Enroll in twostep" || m.Context != "enrollment" || m.UserID != carol.ID {
		t.Errorf("message = %s to %s %q context %q; want an enrollment email to carol", m.Channel, m.To, m.Subject, m.Context)
	}
	body := string(m.Body)
	for _, want := range []string{"Hello carol,", "twostep activate ", "expires Sat, 08 Mar 2025 12:00:00 UTC"} {
		if !strings.Contains(body, want) {
			t.Errorf("email body lacks %q:\n%s", want, body)
		}
	}
	code, _ := parseActivationURL(t, body)
	a := e.redeem(body)
	if a.UserID != carol.ID || a.PhoneID != "" || !a.Expires.Equal(e.clock.Now().Add(7*24*time.Hour)) {
		t.Errorf("redeemed activation = %+v; want carol's, no phone, expiring in 7 days", a)
	}
	if len(e.telephony()) != 0 {
		t.Error("an email was logged as telephony")
	}

	// An existing user with the same email (any case), or none on record, is
	// emailed without a new user; the record is unchanged.
	dave := e.user("dave", "")
	before := e.created()
	for _, req := range []admin.EnrollRequest{
		{Username: "CAROL", Email: "Carol@Example.com", ValidSecs: ptr(3600)},
		{Username: "dave", Email: "dave@example.com"},
	} {
		if err := e.svc.EnrollUser(ctx, e.owner, req); err != nil {
			t.Errorf("EnrollUser(%+v) = %v", req, err)
		}
	}
	if got := e.created(); got[2] != before[2] || got[0] != before[0]+2 {
		t.Errorf("enrolling existing users created %v (before %v); want two activations, no users", got, before)
	}
	msgs = e.notes.Messages()
	if len(msgs) != 3 || msgs[1].To != "Carol@Example.com" || msgs[2].To != "dave@example.com" || msgs[2].UserID != dave.ID {
		t.Errorf("messages = %+v; want emails to carol and dave", msgs)
	}
	if a := e.redeem(string(msgs[1].Body)); a.UserID != carol.ID || !a.Expires.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("second activation = %+v; want carol's, valid an hour", a)
	}
	if got, _ := e.store.GetUser(ctx, dave.ID); got.Email != "" {
		t.Errorf("dave's email = %q after enrollment; want it unchanged (empty)", got.Email)
	}

	log := e.adminLog()
	if strings.Count(log, "user_create user "+carol.ID) != 1 || strings.Count(log, "user_enroll user ") != 3 {
		t.Errorf("admin log = %q; want one user_create and three user_enroll", log)
	}
	e.secretsAbsent(code)
}
