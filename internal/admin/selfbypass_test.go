package admin_test

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func kindOf(err error) mfa.Kind {
	var me *mfa.Error
	if errors.As(err, &me) {
		return me.Kind
	}
	return -1
}

func TestCheckPIN(t *testing.T) {
	tests := []struct {
		give, want string // want: a fragment of the error, "" for none
	}{
		{"482913", ""},
		{"004821937712", ""},
		{"", "Enter a PIN"},
		{"12345", "6 to 12 digits; this one has 5"},
		{"1234567890123", "6 to 12 digits; this one has 13"},
		{"48291a", "digits only"},
		{"482 913", "digits only"},
		{"０１２３４５", "digits only"},
		{"777777", "same digit"},
		{"123456", "run of digits"},
		{"987654", "run of digits"},
		{"890123", "run of digits"},
		{"109876", "run of digits"},
		{"123457", ""},
	}
	for _, tt := range tests {
		err := admin.CheckPIN(tt.give)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckPIN(%q) = %v, want nil", tt.give, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || fieldOf(err) != "pin"):
			t.Errorf("CheckPIN(%q) = %v, want an Invalid pin error containing %q", tt.give, err, tt.want)
		}
	}
}

func TestDOBIDAnswer(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		dob, last4 string
		want       mfa.Passcode
		wantField  string
	}{
		{"1984-03-07", "0042", "1984-03-07|0042", ""},
		{" 1980-02-29 ", " 1234 ", "1980-02-29|1234", ""},
		{"", "1234", "", "dob"},
		{"07/03/1984", "1234", "", "dob"},
		{"1981-02-29", "1234", "", "dob"},
		{"1899-12-31", "1234", "", "dob"},
		{"2025-03-02", "1234", "", "dob"},
		{"1984-03-07", "123", "", "id_last4"},
		{"1984-03-07", "12345", "", "id_last4"},
		{"1984-03-07", "12a4", "", "id_last4"},
	}
	for _, tt := range tests {
		got, err := admin.DOBIDAnswer(tt.dob, tt.last4, now)
		if got != tt.want || fieldOf(err) != tt.wantField {
			t.Errorf("DOBIDAnswer(%q, %q) = %d chars, %v; want %d chars, field %q", tt.dob, tt.last4, len(got), err, len(tt.want), tt.wantField)
		}
	}
}

// selfEnv is a devEnv with self-service bypass on and alice, who has a
// hardware token and the PIN 482913.
type selfEnv struct {
	*devEnv
	alice mfa.User
}

func newSelfEnv(t *testing.T, dsn ...string) *selfEnv {
	e := &selfEnv{devEnv: newDevEnv(t, dsn...)}
	ctx := t.Context()
	if _, err := e.svc.UpdateSettings(ctx, e.owner, admin.SettingsFields{SelfBypass: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	e.alice = e.user("alice")
	e.giveDevice(e.alice)
	if err := e.svc.SetUserPIN(ctx, e.owner, e.alice.ID, "482913"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *selfEnv) giveDevice(u mfa.User) {
	tok := mfatest.NewToken(e.t, e.store, mfa.TokenH6)
	if err := e.store.AttachToken(e.t.Context(), u.ID, tok.ID); err != nil {
		e.t.Fatal(err)
	}
}

func (e *selfEnv) self(u mfa.User) admin.Actor { return admin.SelfServiceActor(u, "192.0.2.7") }

func TestSelfBypassSettings(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	p, err := e.svc.SelfBypassPolicy(ctx)
	if err != nil || p.On || p.Check != mfa.IdentityPIN || p.Lifetime != 10*time.Minute {
		t.Fatalf("default policy = %+v, %v; want off, pin, 10 minutes", p, err)
	}
	for _, tt := range []struct {
		f     admin.SettingsFields
		field string
	}{
		{admin.SettingsFields{SelfBypassCheck: ptr("ssn")}, "self_service_bypass_check"},
		{admin.SettingsFields{SelfBypassMinutes: ptr(0)}, "self_service_bypass_minutes"},
		{admin.SettingsFields{SelfBypassMinutes: ptr(61)}, "self_service_bypass_minutes"},
	} {
		if _, err := e.svc.UpdateSettings(ctx, e.owner, tt.f); fieldOf(err) != tt.field {
			t.Errorf("UpdateSettings(%+v) = %v, want Invalid %s", tt.f, err, tt.field)
		}
	}
	if _, err := e.svc.UpdateSettings(ctx, e.owner, admin.SettingsFields{SelfBypass: ptr(true), SelfBypassCheck: ptr(" DOB_ID "),
		SelfBypassMinutes: ptr(15)}); err != nil {
		t.Fatal(err)
	}
	p, _ = e.svc.SelfBypassPolicy(ctx)
	if !p.On || p.Check != mfa.IdentityDOBID || p.Lifetime != 15*time.Minute {
		t.Errorf("policy = %+v, want on, dob_id, 15 minutes", p)
	}
	if log := e.adminLog(); !strings.Contains(log, "customer_update settings settings") || !strings.Contains(log, "self_service_bypass_check") {
		t.Errorf("admin log = %s, want the settings change", log)
	}
	// Only those who may change settings.
	if _, err := e.svc.UpdateSettings(ctx, e.actor(mfa.RoleHelpDesk), admin.SettingsFields{SelfBypass: ptr(false)}); kindOf(err) != mfa.Denied {
		t.Errorf("Help Desk turning it off = %v, want Denied", err)
	}
}

func TestIdentityAdmin(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("bob")
	if err := e.svc.SetUserPIN(ctx, e.owner, u.ID, "111111"); fieldOf(err) != "pin" {
		t.Errorf("weak PIN = %v, want Invalid pin", err)
	}
	if err := e.svc.SetUserPIN(ctx, e.actor(mfa.RoleReadOnly), u.ID, "482913"); kindOf(err) != mfa.Denied {
		t.Errorf("read-only setting a PIN = %v, want Denied", err)
	}
	if err := e.svc.SetUserPIN(ctx, e.owner, "DUNOSUCH0000000000", "482913"); kindOf(err) != mfa.NotFound {
		t.Errorf("PIN of an unknown user = %v, want NotFound", err)
	}
	if err := e.svc.SetUserPIN(ctx, e.actor(mfa.RoleHelpDesk), u.ID, "482913"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetUserDOBID(ctx, e.owner, u.ID, "1984-03-07", ""); fieldOf(err) != "id_last4" {
		t.Errorf("DOB without ID digits = %v, want Invalid id_last4", err)
	}
	if err := e.svc.SetUserDOBID(ctx, e.owner, u.ID, "1984-03-07", "0042"); err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.UserIdentity(ctx, e.owner, u.ID)
	if err != nil || !st.Has(mfa.IdentityPIN) || !st.Has(mfa.IdentityDOBID) {
		t.Errorf("UserIdentity = %+v, %v; want both set", st, err)
	}
	if err := e.svc.SetUserPIN(ctx, e.owner, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetUserDOBID(ctx, e.owner, u.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.svc.UserIdentity(ctx, e.owner, u.ID); st.Has(mfa.IdentityPIN) || st.Has(mfa.IdentityDOBID) {
		t.Errorf("after clearing: %+v, want nothing set", st)
	}
	log := e.adminLog()
	for _, want := range []string{"user_pin_set", "user_dob_id_set", "user_pin_clear", "user_dob_id_clear"} {
		if !strings.Contains(log, want) {
			t.Errorf("admin log lacks %s:\n%s", want, log)
		}
	}
	for _, secret := range []string{"482913", "1984", "0042"} {
		if strings.Contains(log, secret) || strings.Contains(e.logs.String(), secret) {
			t.Errorf("a log holds %q:\n%s\n%s", secret, log, e.logs.String())
		}
	}
}

func TestImportIdentity(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	a, b := e.user("alice"), e.user("bob")
	csv := "\ufeffusername,dob,id_last4\nalice,1984-03-07,0042\n\nnobody,1990-01-01,1111\nbob,1990-13-01,1111\nBOB,1990-01-01,1111\ncarol,1990-01-01\n"
	rep, err := e.svc.ImportIdentity(ctx, e.owner, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 2 || rep.Failed != 3 || len(rep.Rows) != 5 {
		t.Fatalf("report = %+v, want 2 imported, 3 failed", rep)
	}
	want := []struct {
		line int
		ok   bool
		msg  string
	}{{2, true, "set"}, {4, false, "no such user"}, {5, false, "real date"}, {6, true, "set"}, {7, false, "3 columns"}}
	for i, w := range want {
		r := rep.Rows[i]
		if r.Line != w.line || r.OK != w.ok || !strings.Contains(r.Message, w.msg) {
			t.Errorf("row %d = %+v, want line %d ok %v message with %q", i, r, w.line, w.ok, w.msg)
		}
	}
	for _, u := range []mfa.User{a, b} {
		if st, _ := e.svc.UserIdentity(ctx, e.owner, u.ID); !st.Has(mfa.IdentityDOBID) {
			t.Errorf("%s has no dob_id after the import", u.Username)
		}
	}
	for _, tt := range []struct{ name, give string }{
		{"empty", "username,dob,id_last4\n"},
		{"bad csv", "alice,\"1984-03-07,0042\n"},
		{"too big", strings.Repeat("x", admin.MaxIdentityImportBytes+1)},
	} {
		if _, err := e.svc.ImportIdentity(ctx, e.owner, strings.NewReader(tt.give)); fieldOf(err) != "csv" {
			t.Errorf("import %s = %v, want Invalid csv", tt.name, err)
		}
	}
	if _, err := e.svc.ImportIdentity(ctx, e.actor(mfa.RoleReadOnly), strings.NewReader(csv)); kindOf(err) != mfa.Denied {
		t.Errorf("read-only import = %v, want Denied", err)
	}
}

func TestSelfBypass(t *testing.T) {
	e := newSelfEnv(t)
	ctx := t.Context()
	a := e.self(e.alice)
	p, err := e.svc.StartSelfBypass(ctx, a)
	if err != nil || p.Check != mfa.IdentityPIN {
		t.Fatalf("StartSelfBypass = %+v, %v", p, err)
	}
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "48291x"}, "proof1"); fieldOf(err) != "pin" {
		t.Errorf("malformed PIN = %v, want Invalid pin", err)
	}
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482914"}, "proof1"); kindOf(err) != mfa.Unauthorized ||
		!strings.Contains(err.Error(), admin.MsgSelfBypassWrong) {
		t.Errorf("wrong PIN = %v, want Unauthorized", err)
	}
	if u, _ := e.store.GetUser(ctx, e.alice.ID); u.FailedAttempts != 1 {
		t.Errorf("failed attempts after a wrong PIN = %d, want 1", u.FailedAttempts)
	}
	code, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482913"}, "proof1")
	if err != nil || !nineDigits.MatchString(string(code.Code)) || !code.Expires.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("right PIN = %+v, %v; want a 9-digit code for 10 minutes", code, err)
	}
	// The same password check gives no second code.
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482913"}, "proof1"); kindOf(err) != mfa.Conflict {
		t.Errorf("second code from one check = %v, want Conflict", err)
	}
	stored := e.stored(e.alice.ID)
	if len(stored) != 1 || stored[0].UsesLeft != 1 || stored[0].Unlimited || !stored[0].Expires.Equal(code.Expires) ||
		stored[0].CreatedBy != "alice" {
		t.Fatalf("stored = %+v, want one single-use code expiring at %v by alice", stored, code.Expires)
	}
	if err := e.spend(e.alice.ID, string(code.Code)); err != nil {
		t.Errorf("using the code = %v", err)
	}
	if err := e.spend(e.alice.ID, string(code.Code)); kindOf(err) != mfa.NotFound {
		t.Errorf("using the code again = %v, want NotFound", err)
	}
	// An administrator's codes stay.
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, e.alice.ID, admin.BypassRequest{Count: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482913"}, "proof2"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.stored(e.alice.ID)); n != 3 {
		t.Errorf("stored %d codes, want the administrator's 2 and 1 more", n)
	}
	// It expires.
	e.clock.Add(10 * time.Minute)
	log := e.adminLog()
	for _, want := range []string{`alice bypass_create user ` + e.alice.ID, `"source_ip":"192.0.2.7"`, `"reason":"wrong_identity"`, "self_bypass_failure",
		`"reason":"check_already_used"`} {
		if !strings.Contains(log, want) {
			t.Errorf("admin log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, string(code.Code)) || strings.Contains(log, "482913") {
		t.Error("the admin log holds the code or the PIN")
	}
	// Any other actor is refused.
	if _, err := e.svc.SelfBypass(ctx, e.owner, admin.IdentityAnswer{PIN: "482913"}, "proof3"); kindOf(err) != mfa.Denied {
		t.Errorf("an administrator using SelfBypass = %v, want Denied", err)
	}
	// And the self-service actor can do no administrative action.
	if _, err := e.svc.CreateBypassCodes(ctx, a, e.alice.ID, admin.BypassRequest{}); kindOf(err) != mfa.Denied {
		t.Errorf("self-service actor creating codes directly = %v, want Denied", err)
	}
}

func TestSelfBypassDOBID(t *testing.T) {
	e := newSelfEnv(t)
	ctx := t.Context()
	if _, err := e.svc.UpdateSettings(ctx, e.owner, admin.SettingsFields{SelfBypassCheck: ptr("dob_id"), SelfBypassMinutes: ptr(5)}); err != nil {
		t.Fatal(err)
	}
	a := e.self(e.alice)
	if _, err := e.svc.StartSelfBypass(ctx, a); kindOf(err) != mfa.Denied || !strings.Contains(err.Error(), admin.MsgSelfBypassNoDOBID) {
		t.Errorf("no dob_id on record = %v, want Denied %q", err, admin.MsgSelfBypassNoDOBID)
	}
	if err := e.svc.SetUserDOBID(ctx, e.owner, e.alice.ID, "1984-03-07", "0042"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{DOB: "1984-03-07", IDLast4: "0043"}, "p"); kindOf(err) != mfa.Unauthorized {
		t.Errorf("wrong digits = %v, want Unauthorized", err)
	}
	code, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{DOB: "1984-03-07", IDLast4: "0042"}, "p")
	if err != nil || !code.Expires.Equal(e.clock.Now().Add(5*time.Minute)) {
		t.Errorf("right answer = %+v, %v; want a code for 5 minutes", code, err)
	}
}

func TestSelfBypassRefusals(t *testing.T) {
	e := newSelfEnv(t)
	ctx := t.Context()
	// No device: Duo's rule (seed 004).
	nodev := e.user("nodev")
	if err := e.svc.SetUserPIN(ctx, e.owner, nodev.ID, "482913"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SelfBypass(ctx, e.self(nodev), admin.IdentityAnswer{PIN: "482913"}, "p1"); kindOf(err) != mfa.Denied ||
		!strings.Contains(err.Error(), "device enrolled") {
		t.Errorf("user without a device = %v, want Denied naming the device rule", err)
	}
	// Disabled.
	dis := e.user("dis")
	e.giveDevice(dis)
	_ = e.svc.SetUserPIN(ctx, e.owner, dis.ID, "482913")
	dis.Status = mfa.StatusDisabled
	if err := e.store.UpdateUser(ctx, dis); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SelfBypass(ctx, e.self(dis), admin.IdentityAnswer{PIN: "482913"}, "p2"); kindOf(err) != mfa.Denied {
		t.Errorf("disabled user = %v, want Denied", err)
	}
	// No PIN.
	nopin := e.user("nopin")
	e.giveDevice(nopin)
	if _, err := e.svc.StartSelfBypass(ctx, e.self(nopin)); !strings.Contains(errString(err), admin.MsgSelfBypassNoPIN) {
		t.Errorf("no PIN = %v", err)
	}
	for _, u := range []mfa.User{nodev, dis, nopin} {
		if n := len(e.stored(u.ID)); n != 0 {
			t.Errorf("%s got %d codes", u.Username, n)
		}
	}
	log := e.adminLog()
	for _, want := range []string{`"reason":"no_device"`, `"reason":"user_disabled"`, `"reason":"no_identity_pin"`} {
		if !strings.Contains(log, want) {
			t.Errorf("admin log lacks %s:\n%s", want, log)
		}
	}
	// Off.
	if _, err := e.svc.UpdateSettings(ctx, e.owner, admin.SettingsFields{SelfBypass: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SelfBypass(ctx, e.self(e.alice), admin.IdentityAnswer{PIN: "482913"}, "p3"); kindOf(err) != mfa.Unavailable {
		t.Errorf("feature off = %v, want Unavailable", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSelfBypassLockoutSQLite(t *testing.T) { testSelfBypassLockout(t, newSelfEnv(t)) }
func TestSelfBypassLockoutPostgres(t *testing.T) {
	testSelfBypassLockout(t, newSelfEnv(t, sqltest.PostgresDSN(t)))
}

func testSelfBypassLockout(t *testing.T, e *selfEnv) {
	ctx := t.Context()
	if _, err := e.svc.UpdateSettings(ctx, e.owner, admin.SettingsFields{LockoutThreshold: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	a := e.self(e.alice)
	for i := range 2 {
		if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "000001"}, "p"); kindOf(err) != mfa.Unauthorized {
			t.Fatalf("wrong PIN %d = %v", i+1, err)
		}
	}
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "000001"}, "p"); kindOf(err) != mfa.Denied ||
		!strings.Contains(err.Error(), admin.MsgSelfBypassLocked) {
		t.Fatalf("third wrong PIN = %v, want the lockout", err)
	}
	if u, _ := e.store.GetUser(ctx, e.alice.ID); u.Status != mfa.StatusLockedOut {
		t.Errorf("status = %s, want locked out", u.Status)
	}
	// Locked out: even the right PIN gets nothing.
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482913"}, "p"); kindOf(err) != mfa.Denied {
		t.Errorf("right PIN while locked out = %v, want Denied", err)
	}
	if n := len(e.stored(e.alice.ID)); n != 0 {
		t.Errorf("locked-out user got %d codes", n)
	}
	if !strings.Contains(e.adminLog(), `"locked_out":true`) {
		t.Errorf("admin log does not record the lockout:\n%s", e.adminLog())
	}
}

func TestSelfBypassRateLimits(t *testing.T) {
	e := newSelfEnv(t)
	ctx := t.Context()
	if _, err := e.svc.UpdateSettings(ctx, e.owner, admin.SettingsFields{LockoutThreshold: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	a := e.self(e.alice)
	for i := range admin.DefaultSelfBypassLimits.UserBurst {
		if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "000001"}, "p"); kindOf(err) != mfa.Unauthorized {
			t.Fatalf("wrong PIN %d = %v", i+1, err)
		}
	}
	_, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482913"}, "p")
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.RateLimited || me.RetryAfter <= 0 || me.RetryAfter > time.Minute {
		t.Fatalf("attempt past the burst = %v, want RateLimited with a wait up to a minute", err)
	}
	// A minute later one more try.
	e.clock.Add(time.Minute)
	if _, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482913"}, "p"); err != nil {
		t.Errorf("after a minute = %v, want a code", err)
	}
	if !strings.Contains(e.adminLog(), `"reason":"rate_limited_user"`) {
		t.Error("the admin log does not record the rate limit")
	}
}

// The durable limits hold across services (nodes) sharing the store.
func TestSelfBypassDurableLimitSQLite(t *testing.T) { testSelfBypassDurableLimit(t, newSelfEnv(t)) }
func TestSelfBypassDurableLimitPostgres(t *testing.T) {
	testSelfBypassDurableLimit(t, newSelfEnv(t, sqltest.PostgresDSN(t)))
}

func testSelfBypassDurableLimit(t *testing.T, e *selfEnv) {
	ctx := t.Context()
	if _, err := e.svc.UpdateSettings(ctx, e.owner, admin.SettingsFields{LockoutThreshold: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	lim := admin.DefaultSelfBypassLimits
	tries := 0
	for node := 0; tries < lim.DurableUser; node++ {
		svc := admin.New(e.store, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler))
		for range lim.UserBurst {
			if tries == lim.DurableUser {
				break
			}
			if _, err := svc.SelfBypass(ctx, e.self(e.alice), admin.IdentityAnswer{PIN: "000001"}, "p"); kindOf(err) != mfa.Unauthorized {
				t.Fatalf("try %d on node %d = %v", tries+1, node, err)
			}
			tries++
		}
	}
	svc := admin.New(e.store, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler))
	if _, err := svc.SelfBypass(ctx, e.self(e.alice), admin.IdentityAnswer{PIN: "482913"}, "p"); kindOf(err) != mfa.RateLimited {
		t.Errorf("try past the durable limit on a fresh node = %v, want RateLimited", err)
	}
}

func testSelfBypassConcurrent(t *testing.T, e *selfEnv) {
	ctx := t.Context()
	a := e.self(e.alice)
	// One password check, many right answers at once: one code.
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := e.svc.SelfBypass(ctx, a, admin.IdentityAnswer{PIN: "482913"}, "same-proof")
			switch {
			case err == nil:
				ok.Add(1)
			case kindOf(err) != mfa.Conflict:
				t.Errorf("concurrent = %v, want a code or Conflict", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || len(e.stored(e.alice.ID)) != 1 {
		t.Errorf("%d codes from one check (%d stored), want 1", ok.Load(), len(e.stored(e.alice.ID)))
	}
	// At 99 active codes, two checks at once: only one fits. (Two minutes
	// later: the per-user burst has room again.)
	e.clock.Add(2 * time.Minute)
	for range 9 {
		if _, err := e.svc.CreateBypassCodes(ctx, e.owner, e.alice.ID, admin.BypassRequest{PreserveExisting: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, e.alice.ID, admin.BypassRequest{PreserveExisting: true, Count: ptr(8)}); err != nil {
		t.Fatal(err)
	}
	ok.Store(0)
	for i := range 2 {
		wg.Go(func() {
			_, err := e.svc.SelfBypass(ctx, e.self(e.alice), admin.IdentityAnswer{PIN: "482913"}, "proof-"+string(rune('a'+i)))
			switch {
			case err == nil:
				ok.Add(1)
			case fieldOf(err) != "count":
				t.Errorf("concurrent at the limit = %v, want a code or the limit", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || len(e.stored(e.alice.ID)) != mfa.MaxActiveBypassCodes {
		t.Errorf("%d codes at 99 active (%d stored), want 1 and %d", ok.Load(), len(e.stored(e.alice.ID)), mfa.MaxActiveBypassCodes)
	}
}

func TestSelfBypassConcurrentSQLite(t *testing.T) { testSelfBypassConcurrent(t, newSelfEnv(t)) }
func TestSelfBypassConcurrentPostgres(t *testing.T) {
	testSelfBypassConcurrent(t, newSelfEnv(t, sqltest.PostgresDSN(t)))
}

func TestOwnPIN(t *testing.T) {
	e := newSelfEnv(t)
	ctx := t.Context()
	bob := e.user("bob")
	a := e.self(bob)
	if err := e.svc.SetOwnPIN(ctx, a, "123456"); fieldOf(err) != "pin" {
		t.Errorf("weak own PIN = %v, want Invalid pin", err)
	}
	if err := e.svc.SetOwnPIN(ctx, a, "739105"); err != nil {
		t.Fatal(err)
	}
	if st, err := e.svc.OwnIdentity(ctx, a); err != nil || !st.Has(mfa.IdentityPIN) {
		t.Errorf("OwnIdentity = %+v, %v", st, err)
	}
	if err := e.svc.SetOwnPIN(ctx, e.owner, "739105"); kindOf(err) != mfa.Denied {
		t.Errorf("SetOwnPIN by an administrator actor = %v, want Denied", err)
	}
	if !strings.Contains(e.adminLog(), "bob user_pin_set user "+bob.ID) {
		t.Errorf("admin log:\n%s", e.adminLog())
	}
}
