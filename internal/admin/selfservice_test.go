package admin_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestSelfServiceOwnDevicesOnly(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	alice, bob := e.user("alice", "alice@example.com"), e.user("bob", "bob@example.com")
	mine := e.phone(mfa.PhoneMobile, true, alice)
	theirs := e.phone(mfa.PhoneMobile, true, bob)
	me := admin.UserActor(alice, "192.0.2.7")

	devs, err := e.svc.SelfDevices(ctx, me)
	if err != nil || len(devs) != 1 || devs[0].ID != mine.ID {
		t.Fatalf("SelfDevices = %+v, %v; want only alice's phone", devs, err)
	}
	// Another user's device is NotFound, exactly like a missing one.
	for name, call := range map[string]func() error{
		"rename":   func() error { return e.svc.SelfRenameDevice(ctx, me, theirs.ID, "Mine now") },
		"remove":   func() error { return e.svc.SelfRemoveDevice(ctx, me, theirs.ID) },
		"sms":      func() error { return e.svc.SelfSendSMSPasscodes(ctx, me, theirs.ID) },
		"activate": func() error { _, _, err := e.svc.SelfActivation(ctx, me, theirs.ID, 600); return err },
		"missing":  func() error { return e.svc.SelfRemoveDevice(ctx, me, "DPNOSUCHPHONE") },
	} {
		wantKind(t, name+" another user's device", call(), mfa.NotFound, "")
	}
	if _, err := e.store.GetPhone(ctx, theirs.ID); err != nil {
		t.Errorf("bob's phone after alice's attempts: %v", err)
	}
	// A user actor may do nothing else of the admin service.
	if _, err := e.svc.GetUser(ctx, me, bob.ID); err == nil {
		t.Error("GetUser as a user actor succeeded")
	}
	if err := e.svc.DeletePhone(ctx, me, mine.ID); err == nil {
		t.Error("DeletePhone as a user actor succeeded")
	}
	if _, err := e.svc.SelfDevices(ctx, e.owner); err == nil {
		t.Error("SelfDevices as an administrator succeeded")
	}

	if err := e.svc.SelfRenameDevice(ctx, me, mine.ID, "  Work phone "); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "empty name", e.svc.SelfRenameDevice(ctx, me, mine.ID, " "), mfa.Invalid, "name")
	wantKind(t, "long name", e.svc.SelfRenameDevice(ctx, me, mine.ID, strings.Repeat("x", 61)), mfa.Invalid, "name")
	if p, _ := e.store.GetPhone(ctx, mine.ID); p.Name != "Work phone" {
		t.Errorf("renamed phone = %q", p.Name)
	}
	if err := e.svc.SelfSendSMSPasscodes(ctx, me, mine.ID); err != nil {
		t.Fatal(err)
	}
	if devs, _ := e.svc.SelfDevices(ctx, me); devs[0].SMSNextCode != "1" {
		t.Errorf("next SMS code = %q, want 1", devs[0].SMSNextCode)
	}
	log := e.adminLog()
	if !strings.Contains(log, "alice phone_update phone "+mine.ID) || !strings.Contains(log, `"source_ip":"192.0.2.7"`) ||
		!strings.Contains(log, "alice phone_send_sms_passcodes") {
		t.Errorf("admin log lacks the self-service records with their source address:\n%s", log)
	}
	if err := e.svc.SelfRemoveDevice(ctx, me, mine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.GetPhone(ctx, mine.ID); err == nil {
		t.Error("removed phone still exists")
	}
}

func TestSelfServiceTOTPAndPhone(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	alice := e.user("alice", "alice@example.com")
	me := admin.UserActor(alice, "192.0.2.7")
	seed := []byte("0123456789abcdefghij")
	d, err := e.svc.SelfAddTOTP(ctx, me, "Aegis", seed, 42)
	if err != nil || !d.UserApp || d.Name != "Aegis" {
		t.Fatalf("SelfAddTOTP = %+v, %v", d, err)
	}
	if _, err := e.svc.SelfAddTOTP(ctx, me, "Aegis", seed, 42); fieldOf(err) != "name" {
		t.Errorf("a second app with the same name = %v, want a name error", err)
	}
	tk, _ := e.store.GetToken(ctx, d.ID)
	if tk.Type != mfa.TokenT6 || tk.LastStep != 42 || string(tk.Secret) != string(seed) || tk.Serial != "alice: Aegis" {
		t.Errorf("stored app token = %+v", tk)
	}
	if err := e.svc.SelfRenameDevice(ctx, me, d.ID, "Phone app"); err != nil {
		t.Fatal(err)
	}
	devs, _ := e.svc.SelfDevices(ctx, me)
	if len(devs) != 1 || devs[0].Name != "Phone app" || !devs[0].UserApp {
		t.Errorf("devices after rename = %+v", devs)
	}
	e.secretsAbsent(string(seed))

	np, err := admin.NormalizeSelfNumber("+1", "(555) 555-0100", "", mfa.PhoneMobile)
	if err != nil || np.Number != "+15555550100" {
		t.Fatalf("NormalizeSelfNumber = %+v, %v", np, err)
	}
	for _, tt := range []struct{ country, number, ext, typ, field string }{
		{"", "5555550100", "", "mobile", "country"},
		{"1", "+15555550100", "", "mobile", "number"},
		{"1", "55", "", "mobile", "number"},
		{"1", "5555550100", "12", "mobile", "extension"},
		{"1", "5555550100", "12a", "landline", "extension"},
		{"1", "5555550100", "", "tablet", "type"},
	} {
		_, err := admin.NormalizeSelfNumber(tt.country, tt.number, tt.ext, mfa.PhoneType(tt.typ))
		if fieldOf(err) != tt.field {
			t.Errorf("NormalizeSelfNumber(%q, %q, %q, %q) = %v, want an error on %s", tt.country, tt.number, tt.ext, tt.typ, err, tt.field)
		}
	}
	if err := e.svc.SelfSendPhoneCheck(ctx, me, np, "482913"); err != nil {
		t.Fatal(err)
	}
	if sent := e.notes.Messages(); len(sent) != 1 || !strings.Contains(string(sent[0].Body), "482913") || sent[0].To != np.Number {
		t.Errorf("check message = %+v", sent)
	}
	land, _ := admin.NormalizeSelfNumber("44", "020 7946 0018", "123", mfa.PhoneLandline)
	if err := e.svc.SelfSendPhoneCheck(ctx, me, land, "482913"); err != nil {
		t.Fatal(err)
	}
	if sent := e.notes.Messages(); len(sent) != 2 || sent[1].Channel != mfa.ChannelVoice || sent[1].Extension != "123" ||
		!strings.Contains(string(sent[1].Body), "4 8 2 9 1 3") || land.Number != "+442079460018" {
		t.Errorf("landline check = %+v (%s)", sent, land.Number)
	}
	np.Name = "Mobile"
	p, err := e.svc.SelfAddPhone(ctx, me, np)
	if err != nil || !p.Phone.Can(mfa.CapSMS) {
		t.Fatalf("SelfAddPhone = %+v, %v", p, err)
	}
	if _, err := e.svc.SelfAddPhone(ctx, me, np); fieldOf(err) != "number" {
		t.Errorf("the same number again = %v, want a number error", err)
	}
	link, id, err := e.svc.SelfActivation(ctx, me, "", 600)
	if err != nil || link.URL == "" || id == "" {
		t.Fatalf("SelfActivation = %+v, %q, %v", link, id, err)
	}
	if done, _, err := e.svc.SelfActivationDone(ctx, me, id); err != nil || done {
		t.Errorf("SelfActivationDone before redeeming = %v, %v", done, err)
	}
	e.redeem(link.URL)
	if done, _, err := e.svc.SelfActivationDone(ctx, me, id); err != nil || !done {
		t.Errorf("SelfActivationDone after redeeming = %v, %v", done, err)
	}
	bob := e.user("bob", "bob@example.com")
	if _, _, err := e.svc.SelfActivationDone(ctx, admin.UserActor(bob, ""), id); err == nil {
		t.Error("another user saw alice's activation")
	}
	if _, _, err := e.svc.SelfActivation(ctx, me, p.ID, 600); err != nil {
		t.Errorf("reactivating a mobile: %v", err)
	}
}

// TestSelfAddPhoneOnce: the same checked phone posted several times at
// once is saved once, on SQLite and on PostgreSQL (where READ COMMITTED
// would let two transactions both see no such phone, unless the user's
// row is locked first).
func TestSelfAddPhoneOnce(t *testing.T) { testSelfAddPhoneOnce(t, newActEnv(t)) }

func TestSelfAddPhoneOncePostgres(t *testing.T) {
	testSelfAddPhoneOnce(t, newActEnv(t, sqltest.PostgresDSN(t)))
}

func testSelfAddPhoneOnce(t *testing.T, e *actEnv) {
	alice := e.user("alice", "alice@example.com")
	me := admin.UserActor(alice, "192.0.2.7")
	np, _ := admin.NormalizeSelfNumber("1", "5555550100", "", mfa.PhoneMobile)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.SelfAddPhone(t.Context(), me, np)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		}
	}
	if phones, _ := e.store.UserPhones(t.Context(), alice.ID); ok != 1 || len(phones) != 1 {
		t.Errorf("%d adds succeeded, %d phones stored; want 1 and 1", ok, len(phones))
	}
}
