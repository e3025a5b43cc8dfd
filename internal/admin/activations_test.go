package admin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// Shared by the activation, SMS and enrollment tests: a service on a real
// store with a recording notifier, a settable clock and a store that
// counts the writes a refused request must not make.

const testHost = "twostep.example.test:8443"

// countingStore counts the creations a refused request must not make.
type countingStore struct {
	mfa.Store
	mu                          sync.Mutex
	activations, batches, users int
}

func (c *countingStore) CreateActivation(ctx context.Context, a mfa.Activation) error {
	c.mu.Lock()
	c.activations++
	c.mu.Unlock()
	return c.Store.CreateActivation(ctx, a)
}

func (c *countingStore) ReplaceSMSBatch(ctx context.Context, b mfa.SMSBatch) error {
	c.mu.Lock()
	c.batches++
	c.mu.Unlock()
	return c.Store.ReplaceSMSBatch(ctx, b)
}

func (c *countingStore) CreateUser(ctx context.Context, u mfa.User) error {
	c.mu.Lock()
	c.users++
	c.mu.Unlock()
	return c.Store.CreateUser(ctx, u)
}

type actEnv struct {
	t      *testing.T
	store  *countingStore
	svc    *admin.Service
	clock  *testClock
	logs   *bytes.Buffer
	notes  *mfatest.Notifier
	owner  admin.Actor
	number int
}

// newActEnv makes a service with a notifier and public host on SQLite, or
// on PostgreSQL when dsn is given.
func newActEnv(t *testing.T, dsn ...string) *actEnv {
	t.Helper()
	d := filepath.Join(t.TempDir(), "twostep.db")
	if len(dsn) > 0 {
		d = dsn[0]
	}
	st := &countingStore{Store: sqltest.NewStore(t, d)}
	clock := &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	logs := &bytes.Buffer{}
	notes := &mfatest.Notifier{}
	svc := admin.New(st, clock.Now, rand.Reader, slog.New(slog.NewJSONHandler(logs, nil)),
		admin.WithNotifier(notes), admin.WithPublicHost(testHost))
	return &actEnv{t: t, store: st, svc: svc, clock: clock, logs: logs, notes: notes,
		owner: admin.Actor{Kind: admin.ActorAdmin, ID: "DEOWNER", Name: "owner@example.com", Role: mfa.RoleOwner}}
}

// user stores a new user with email, a second after the previous one
// (so that a phone's "first user" is well defined).
func (e *actEnv) user(name, email string) mfa.User {
	e.t.Helper()
	e.clock.Add(time.Second)
	id, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	u := mfa.User{ID: id, Username: name, Email: email, Status: mfa.StatusActive, Created: e.clock.Now()}
	if err := e.store.Store.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatalf("CreateUser(%s) = %v", name, err)
	}
	return u
}

// phone stores a phone of typ (with a number unless number is false),
// attached to the users given.
func (e *actEnv) phone(typ mfa.PhoneType, number bool, users ...mfa.User) mfa.Phone {
	e.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
	e.number++
	p := mfa.Phone{ID: id, Type: typ, Platform: "unknown", Created: e.clock.Now()}
	if number {
		p.Number = "+1555010" + string(rune('0'+e.number/10%10)) + string(rune('0'+e.number%10))
	}
	if err := e.store.CreatePhone(e.t.Context(), p); err != nil {
		e.t.Fatal(err)
	}
	for _, u := range users {
		if err := e.store.AttachPhone(e.t.Context(), u.ID, p.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return p
}

// created reports the counts of activations, SMS batches and users created.
func (e *actEnv) created() [3]int {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	return [3]int{e.store.activations, e.store.batches, e.store.users}
}

func (e *actEnv) adminLog() string {
	e.t.Helper()
	entries, err := e.store.ListAdminLog(e.t.Context(), mfa.LogFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range entries {
		b.WriteString(l.Actor + " " + l.Action + " " + l.ObjectType + " " + l.Object + " " + l.Description + "\n")
	}
	return b.String()
}

func (e *actEnv) telephony() []mfa.TelephonyLogEntry {
	e.t.Helper()
	entries, err := e.store.ListTelephonyLog(e.t.Context(), mfa.LogFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

// secretsAbsent fails if any secret appears in the admin log or slog.
func (e *actEnv) secretsAbsent(secrets ...string) {
	e.t.Helper()
	logs := e.adminLog() + e.logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			e.t.Errorf("logs contain the secret %q:\n%s", s, logs)
		}
	}
}

// redeem redeems the code of an activation URL and returns the activation.
func (e *actEnv) redeem(activationURL string) mfa.Activation {
	e.t.Helper()
	code, host := parseActivationURL(e.t, activationURL)
	if host != testHost {
		e.t.Errorf("activation code host = %q, want %q", host, testHost)
	}
	a, err := e.store.RedeemActivation(e.t.Context(), mfa.Passcode(code), e.clock.Now())
	if err != nil {
		e.t.Fatalf("RedeemActivation(code of %s) = %v", activationURL, err)
	}
	return a
}

var activationURLRE = regexp.MustCompile(`https://` + regexp.QuoteMeta(testHost) + `/activate/([A-Za-z0-9]{20}-[A-Za-z0-9+/]+)`)

// parseActivationURL returns the code and host inside an activation URL
// (or a text holding one).
func parseActivationURL(t *testing.T, s string) (code, host string) {
	t.Helper()
	m := activationURLRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no activation URL in %q", s)
	}
	code, host, err := admin.ParseActivationCode(m[1])
	if err != nil {
		t.Fatalf("ParseActivationCode(%q) = %v", m[1], err)
	}
	return code, host
}

func wantKind(t *testing.T, name string, err error, kind mfa.Kind, field string) {
	t.Helper()
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != kind || (field != "" && me.Field != field) {
		t.Errorf("%s = %v; want %s error on %q", name, err, kind, field)
	}
}

func TestActivationCode(t *testing.T) {
	full := admin.ActivationCode("AbCdEfGhIjKlMnOpQr12", "api.example.com:8443")
	if full != "AbCdEfGhIjKlMnOpQr12-YXBpLmV4YW1wbGUuY29tOjg0NDM" {
		t.Errorf("ActivationCode() = %q", full)
	}
	tests := []struct {
		give     string
		wantCode string
		wantHost string
		wantErr  bool
	}{
		{give: full, wantCode: "AbCdEfGhIjKlMnOpQr12", wantHost: "api.example.com:8443"},
		{give: "duo://" + full, wantCode: "AbCdEfGhIjKlMnOpQr12", wantHost: "api.example.com:8443"},
		{give: "AbCdEfGhIjKlMnOpQr12-YQ==", wantCode: "AbCdEfGhIjKlMnOpQr12", wantHost: "a"},
		{give: "AbCdEfGhIjKlMnOpQr1-YQ", wantErr: true},    // 19 characters
		{give: "AbCdEfGhIjKlMnOpQr1!-YQ", wantErr: true},   // bad character
		{give: "AbCdEfGhIjKlMnOpQr12", wantErr: true},      // no host
		{give: "AbCdEfGhIjKlMnOpQr12-", wantErr: true},     // empty host
		{give: "AbCdEfGhIjKlMnOpQr12-!!!", wantErr: true},  // not base64
		{give: "AbCdEfGhIjKlMnOpQr12-YSBi", wantErr: true}, // "a b"
	}
	for _, tt := range tests {
		code, host, err := admin.ParseActivationCode(tt.give)
		if code != tt.wantCode || host != tt.wantHost || (err != nil) != tt.wantErr {
			t.Errorf("ParseActivationCode(%q) = %q, %q, %v; want %q, %q, error %v", tt.give, code, host, err, tt.wantCode, tt.wantHost, tt.wantErr)
		}
	}
}

func TestActivationURL(t *testing.T) { testActivationURL(t, newActEnv(t)) }

func TestActivationURLPostgres(t *testing.T) {
	testActivationURL(t, newActEnv(t, sqltest.PostgresDSN(t)))
}

func testActivationURL(t *testing.T, e *actEnv) {
	ctx := t.Context()
	alice, bob := e.user("alice", "alice@example.com"), e.user("bob", "")
	p := e.phone(mfa.PhoneMobile, true, alice, bob)

	l, err := e.svc.ActivationURL(ctx, e.owner, p.ID, admin.ActivationRequest{})
	if err != nil {
		t.Fatalf("ActivationURL() = %v", err)
	}
	if l.ValidSecs != admin.DefaultActivationValidSecs || l.InstallURL != "" {
		t.Errorf("ActivationURL() = valid %d, install %q; want %d and none", l.ValidSecs, l.InstallURL, admin.DefaultActivationValidSecs)
	}
	if want := "https://" + testHost + "/activate/" + string(l.Code); l.URL != want {
		t.Errorf("URL = %q, want %q", l.URL, want)
	}
	b, err := url.Parse(l.Barcode)
	if err != nil || b.Scheme != "https" || b.Host != testHost || b.Path != "/frame/qr" || b.Query().Get("value") != string(l.Code) {
		t.Errorf("Barcode = %q; want https://%s/frame/qr?value=<the code>", l.Barcode, testHost)
	}
	a := e.redeem(l.URL)
	if a.UserID != alice.ID || a.PhoneID != p.ID || !a.Expires.Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Errorf("redeemed activation = %+v; want alice's (the first user), phone %s, expiring in a day", a, p.ID)
	}
	if _, err := e.store.RedeemActivation(ctx, mfa.Passcode(strings.SplitN(string(l.Code), "-", 2)[0]), e.clock.Now()); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("redeeming twice = %v, want NotFound", err)
	}

	l2, err := e.svc.ActivationURL(ctx, e.owner, p.ID, admin.ActivationRequest{ValidSecs: ptr(60), Install: true})
	if err != nil {
		t.Fatal(err)
	}
	if l2.ValidSecs != 60 || l2.InstallURL != "https://"+testHost+"/install" || l2.Code == l.Code {
		t.Errorf("ActivationURL(60, install) = %+v; want 60 s, the install URL and a new code", l2)
	}
	// Expiry is the store's to enforce; the service set it.
	code2, _ := parseActivationURL(t, l2.URL)
	if _, err := e.store.RedeemActivation(ctx, mfa.Passcode(code2), e.clock.Now().Add(61*time.Second)); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("redeeming after valid_secs = %v, want NotFound", err)
	}
	if len(e.notes.Messages()) != 0 || len(e.telephony()) != 0 {
		t.Errorf("ActivationURL sent messages %v / logged telephony; want none", e.notes.Messages())
	}
	if log := e.adminLog(); strings.Count(log, "phone_activation_url phone "+p.ID) != 2 {
		t.Errorf("admin log = %q; want two phone_activation_url records", log)
	}
	e.secretsAbsent(string(l.Code), string(l2.Code), code2)
}

func TestSendSMSActivation(t *testing.T) { testSendSMSActivation(t, newActEnv(t)) }

func TestSendSMSActivationPostgres(t *testing.T) {
	testSendSMSActivation(t, newActEnv(t, sqltest.PostgresDSN(t)))
}

func testSendSMSActivation(t *testing.T, e *actEnv) {
	ctx := t.Context()
	alice := e.user("alice", "")
	p := e.phone(mfa.PhoneMobile, true, alice)

	out, err := e.svc.SendSMSActivation(ctx, e.owner, p.ID, admin.ActivationRequest{})
	if err != nil {
		t.Fatalf("SendSMSActivation() = %v", err)
	}
	msgs := e.notes.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sent %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Channel != mfa.ChannelSMS || m.To != p.Number || m.Context != "enrollment" || m.UserID != alice.ID {
		t.Errorf("message = %s to %s context %q user %s; want SMS to %s, enrollment, alice", m.Channel, m.To, m.Context, m.UserID, p.Number)
	}
	body := string(m.Body)
	if !strings.HasPrefix(body, "To activate the twostep app, tap this link: https://"+testHost+"/activate/") {
		t.Errorf("body = %q; want the default activation message", body)
	}
	if out.ActivationMsg != body || out.InstallationMsg != "" || out.ValidSecs != 86400 || !strings.Contains(out.Barcode, "/frame/qr?value=") {
		t.Errorf("SendSMSActivation() = %+v; want the sent message, no installation, 86400 s, a barcode", out)
	}
	if a := e.redeem(body); a.UserID != alice.ID || a.PhoneID != p.ID {
		t.Errorf("the SMS's code redeems to %+v; want alice's phone", a)
	}
	tl := e.telephony()
	if len(tl) != 1 || tl[0].Type != "sms" || tl[0].Context != "enrollment" || tl[0].Phone != p.Number || tl[0].Credits != 1 || tl[0].UserID != alice.ID {
		t.Errorf("telephony log = %+v; want one SMS enrollment credit", tl)
	}

	// Custom messages, with installation first.
	out, err = e.svc.SendSMSActivation(ctx, e.owner, p.ID, admin.ActivationRequest{ValidSecs: ptr(600), Install: true,
		ActivationMsg: ptr("Activate: <acturl> (10 minutes)"), InstallationMsg: ptr("Install: <insturl>")})
	if err != nil {
		t.Fatal(err)
	}
	msgs = e.notes.Messages()[1:]
	if len(msgs) != 2 {
		t.Fatalf("sent %d messages, want 2 (installation, activation)", len(msgs))
	}
	if got := string(msgs[0].Body); got != "Install: https://"+testHost+"/install" || got != out.InstallationMsg {
		t.Errorf("installation SMS = %q, response %q; want the installation link", got, out.InstallationMsg)
	}
	if got := string(msgs[1].Body); !strings.HasPrefix(got, "Activate: https://") || !strings.HasSuffix(got, " (10 minutes)") || got != out.ActivationMsg {
		t.Errorf("activation SMS = %q, response %q", got, out.ActivationMsg)
	}
	if a := e.redeem(string(msgs[1].Body)); !a.Expires.Equal(e.clock.Now().Add(10 * time.Minute)) {
		t.Errorf("activation expires %v, want in 10 minutes", a.Expires)
	}
	if n := len(e.telephony()); n != 3 {
		t.Errorf("telephony log has %d records, want 3", n)
	}
	code, _ := parseActivationURL(t, out.ActivationMsg)
	e.secretsAbsent(code)
	if log := e.adminLog(); strings.Count(log, "phone_send_sms_activation phone "+p.ID) != 2 {
		t.Errorf("admin log = %q; want two phone_send_sms_activation records", log)
	}
}

func TestSendSMSInstallation(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	p := e.phone(mfa.PhoneMobile, true) // no user needed
	msg, err := e.svc.SendSMSInstallation(ctx, e.owner, p.ID, nil)
	if err != nil {
		t.Fatalf("SendSMSInstallation() = %v", err)
	}
	want := "To install the twostep app, open this link: https://" + testHost + "/install"
	if msg != want {
		t.Errorf("SendSMSInstallation() = %q, want %q", msg, want)
	}
	msgs := e.notes.Messages()
	if len(msgs) != 1 || string(msgs[0].Body) != want || msgs[0].To != p.Number || msgs[0].Context != "enrollment" {
		t.Errorf("sent %+v; want one SMS of %q", msgs, want)
	}
	msg, err = e.svc.SendSMSInstallation(ctx, e.owner, p.ID, ptr("Get it: <insturl> or <insturl>"))
	if err != nil || msg != "Get it: https://"+testHost+"/install or https://"+testHost+"/install" {
		t.Errorf("SendSMSInstallation(custom) = %q, %v", msg, err)
	}
	if n := len(e.telephony()); n != 2 {
		t.Errorf("telephony log has %d records, want 2", n)
	}
	if e.created() != [3]int{} {
		t.Errorf("SendSMSInstallation created %v; want nothing", e.created())
	}
}

// TestActivationValidation: bad input creates nothing and sends nothing.
func TestActivationValidation(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	alice := e.user("alice", "alice@example.com")
	mobile := e.phone(mfa.PhoneMobile, true, alice)
	lonely := e.phone(mfa.PhoneMobile, true)
	landline := e.phone(mfa.PhoneLandline, true, alice)
	tablet := e.phone(mfa.PhoneTablet, false, alice)
	long := "<acturl> <insturl> " + strings.Repeat("x", admin.MaxSMSTemplateLen)

	type call func() error
	url := func(phone string, req admin.ActivationRequest) call {
		return func() error { _, err := e.svc.ActivationURL(ctx, e.owner, phone, req); return err }
	}
	sms := func(phone string, req admin.ActivationRequest) call {
		return func() error { _, err := e.svc.SendSMSActivation(ctx, e.owner, phone, req); return err }
	}
	inst := func(phone string, msg *string) call {
		return func() error { _, err := e.svc.SendSMSInstallation(ctx, e.owner, phone, msg); return err }
	}
	codes := func(phone string) call { return func() error { return e.svc.SendSMSPasscodes(ctx, e.owner, phone) } }
	enroll := func(req admin.EnrollRequest) call { return func() error { return e.svc.EnrollUser(ctx, e.owner, req) } }
	tests := []struct {
		name  string
		give  call
		kind  mfa.Kind
		field string
	}{
		{"activation_url valid_secs 0", url(mobile.ID, admin.ActivationRequest{ValidSecs: ptr(0)}), mfa.Invalid, "valid_secs"},
		{"activation_url valid_secs -1", url(mobile.ID, admin.ActivationRequest{ValidSecs: ptr(-1)}), mfa.Invalid, "valid_secs"},
		{"activation_url valid_secs 30d+1", url(mobile.ID, admin.ActivationRequest{ValidSecs: ptr(admin.MaxActivationValidSecs + 1)}), mfa.Invalid, "valid_secs"},
		{"activation_url unknown phone", url("DPNOSUCHPHONE00000000", admin.ActivationRequest{}), mfa.NotFound, ""},
		{"activation_url phone without user", url(lonely.ID, admin.ActivationRequest{}), mfa.Invalid, "phone_id"},
		{"activation_url landline", url(landline.ID, admin.ActivationRequest{}), mfa.Invalid, "phone_id"},
		{"sms_activation valid_secs", sms(mobile.ID, admin.ActivationRequest{ValidSecs: ptr(0)}), mfa.Invalid, "valid_secs"},
		{"sms_activation msg without acturl", sms(mobile.ID, admin.ActivationRequest{ActivationMsg: ptr("tap here")}), mfa.Invalid, "activation_msg"},
		{"sms_activation msg with insturl only", sms(mobile.ID, admin.ActivationRequest{ActivationMsg: ptr("<insturl>")}), mfa.Invalid, "activation_msg"},
		{"sms_activation msg too long", sms(mobile.ID, admin.ActivationRequest{ActivationMsg: ptr(long)}), mfa.Invalid, "activation_msg"},
		{"sms_activation msg control", sms(mobile.ID, admin.ActivationRequest{ActivationMsg: ptr("<acturl>\x07")}), mfa.Invalid, "activation_msg"},
		{"sms_activation installation_msg", sms(mobile.ID, admin.ActivationRequest{Install: true, InstallationMsg: ptr("get it")}), mfa.Invalid, "installation_msg"},
		{"sms_activation tablet", sms(tablet.ID, admin.ActivationRequest{}), mfa.Invalid, "phone_id"},
		{"sms_activation landline", sms(landline.ID, admin.ActivationRequest{}), mfa.Invalid, "phone_id"},
		{"sms_activation without user", sms(lonely.ID, admin.ActivationRequest{}), mfa.Invalid, "phone_id"},
		{"sms_activation unknown phone", sms("DPNOSUCHPHONE00000000", admin.ActivationRequest{}), mfa.NotFound, ""},
		{"sms_installation msg", inst(mobile.ID, ptr("no link")), mfa.Invalid, "installation_msg"},
		{"sms_installation too long", inst(mobile.ID, ptr(long)), mfa.Invalid, "installation_msg"},
		{"sms_installation tablet", inst(tablet.ID, nil), mfa.Invalid, "phone_id"},
		{"sms_installation unknown phone", inst("DPNOSUCHPHONE00000000", nil), mfa.NotFound, ""},
		{"sms_passcodes landline", codes(landline.ID), mfa.Invalid, "phone_id"},
		{"sms_passcodes tablet", codes(tablet.ID), mfa.Invalid, "phone_id"},
		{"sms_passcodes without user", codes(lonely.ID), mfa.Invalid, "phone_id"},
		{"sms_passcodes unknown phone", codes("DPNOSUCHPHONE00000000"), mfa.NotFound, ""},
		{"enroll no username", enroll(admin.EnrollRequest{Email: "x@example.com"}), mfa.Invalid, "username"},
		{"enroll blank username", enroll(admin.EnrollRequest{Username: "  ", Email: "x@example.com"}), mfa.Invalid, "username"},
		{"enroll no email", enroll(admin.EnrollRequest{Username: "carol"}), mfa.Invalid, "email"},
		{"enroll bad email", enroll(admin.EnrollRequest{Username: "carol", Email: "carol"}), mfa.Invalid, "email"},
		{"enroll valid_secs", enroll(admin.EnrollRequest{Username: "carol", Email: "c@example.com", ValidSecs: ptr(admin.MaxActivationValidSecs + 1)}), mfa.Invalid, "valid_secs"},
		{"enroll other email", enroll(admin.EnrollRequest{Username: "alice", Email: "mallory@example.com"}), mfa.Conflict, "email"},
		{"enroll username in other case, other email", enroll(admin.EnrollRequest{Username: "ALICE", Email: "mallory@example.com"}), mfa.Conflict, "email"},
	}
	for _, tt := range tests {
		wantKind(t, tt.name, tt.give(), tt.kind, tt.field)
	}
	if c := e.created(); c != [3]int{} {
		t.Errorf("refused requests created activations, batches, users %v; want none", c)
	}
	if msgs := e.notes.Messages(); len(msgs) != 0 {
		t.Errorf("refused requests sent %d messages", len(msgs))
	}
	if tl := e.telephony(); len(tl) != 0 {
		t.Errorf("refused requests logged telephony %+v", tl)
	}
	if log := e.adminLog(); log != "" {
		t.Errorf("refused requests wrote the admin log:\n%s", log)
	}
}

// TestActivationUnavailable: a failing notifier is Unavailable and logs
// nothing; a service without a notifier or a public host is Unavailable.
func TestActivationUnavailable(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	alice := e.user("alice", "alice@example.com")
	p := e.phone(mfa.PhoneMobile, true, alice)
	e.notes.SetFail(errors.New("carrier down"))
	calls := map[string]func(svc *admin.Service) error{
		"SendSMSActivation": func(svc *admin.Service) error {
			_, err := svc.SendSMSActivation(ctx, e.owner, p.ID, admin.ActivationRequest{Install: true})
			return err
		},
		"SendSMSInstallation": func(svc *admin.Service) error {
			_, err := svc.SendSMSInstallation(ctx, e.owner, p.ID, nil)
			return err
		},
		"SendSMSPasscodes": func(svc *admin.Service) error { return svc.SendSMSPasscodes(ctx, e.owner, p.ID) },
		"EnrollUser": func(svc *admin.Service) error {
			return svc.EnrollUser(ctx, e.owner, admin.EnrollRequest{Username: "alice", Email: "alice@example.com"})
		},
	}
	for name, call := range calls {
		err := call(e.svc)
		var me *mfa.Error
		if !errors.As(err, &me) || me.Kind != mfa.Unavailable || me.Msg != "could not send the message" {
			t.Errorf("%s with a failing notifier = %v; want Unavailable %q", name, err, "could not send the message")
		}
	}
	if tl := e.telephony(); len(tl) != 0 {
		t.Errorf("telephony log = %+v; want nothing after failed sends", tl)
	}
	if log := e.adminLog(); log != "" {
		t.Errorf("admin log = %q; want nothing after failed sends", log)
	}
	if got, _ := e.store.GetPhone(ctx, p.ID); got.SMSPasscodesSent {
		t.Error("SMSPasscodesSent after a failed send; want false")
	}

	st := e.store
	bare := map[string]*admin.Service{
		"no notifier": admin.New(st, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler), admin.WithPublicHost(testHost)),
		"no host":     admin.New(st, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler), admin.WithNotifier(&mfatest.Notifier{})),
	}
	before := e.created()
	for what, svc := range bare {
		for name, call := range calls {
			if what == "no host" && name == "SendSMSPasscodes" {
				continue // it sends no link
			}
			if err := call(svc); mfa.KindOf(err) != mfa.Unavailable {
				t.Errorf("%s with %s = %v; want Unavailable", name, what, err)
			}
		}
	}
	if _, err := bare["no host"].ActivationURL(ctx, e.owner, p.ID, admin.ActivationRequest{}); mfa.KindOf(err) != mfa.Unavailable {
		t.Errorf("ActivationURL with no host = %v; want Unavailable", err)
	}
	if _, err := bare["no notifier"].ActivationURL(ctx, e.owner, p.ID, admin.ActivationRequest{}); err != nil {
		t.Errorf("ActivationURL with no notifier = %v; want it to work (it sends nothing)", err)
	}
	if got := e.created(); got[0] != before[0]+1 || got[1] != before[1] || got[2] != before[2] {
		t.Errorf("unconfigured services created %v (before %v); want only ActivationURL's activation", got, before)
	}
}

// TestActivationRoles checks each method against each role and
// integration permission: allowed calls succeed, others are Denied and
// send nothing.
func TestActivationRoles(t *testing.T) {
	e := newActEnv(t)
	ctx := t.Context()
	alice := e.user("alice", "alice@example.com")
	p := e.phone(mfa.PhoneMobile, true, alice)
	n := 0
	methods := []struct {
		name string
		call func(a admin.Actor) error
		// allowed by: every role that may send activations, or (new user
		// enrollment) also create users.
		creates bool
	}{
		{"ActivationURL", func(a admin.Actor) error {
			_, err := e.svc.ActivationURL(ctx, a, p.ID, admin.ActivationRequest{})
			return err
		}, false},
		{"SendSMSActivation", func(a admin.Actor) error {
			_, err := e.svc.SendSMSActivation(ctx, a, p.ID, admin.ActivationRequest{})
			return err
		}, false},
		{"SendSMSInstallation", func(a admin.Actor) error {
			_, err := e.svc.SendSMSInstallation(ctx, a, p.ID, nil)
			return err
		}, false},
		{"SendSMSPasscodes", func(a admin.Actor) error { return e.svc.SendSMSPasscodes(ctx, a, p.ID) }, false},
		{"EnrollUser existing", func(a admin.Actor) error {
			return e.svc.EnrollUser(ctx, a, admin.EnrollRequest{Username: "alice", Email: "alice@example.com"})
		}, false},
		{"EnrollUser new", func(a admin.Actor) error {
			n++
			name := "new" + string(rune('a'+n))
			return e.svc.EnrollUser(ctx, a, admin.EnrollRequest{Username: name, Email: name + "@example.com"})
		}, true},
	}
	actors := []struct {
		name   string
		actor  admin.Actor
		send   bool // may send activations
		create bool // may create users
	}{
		{"Owner", e.owner, true, true},
		{"Administrator", admin.Actor{Kind: admin.ActorAdmin, Name: "a@example.com", Role: mfa.RoleAdministrator}, true, true},
		{"User Manager", admin.Actor{Kind: admin.ActorAdmin, Name: "um@example.com", Role: mfa.RoleUserManager}, true, true},
		{"Help Desk", admin.Actor{Kind: admin.ActorAdmin, Name: "hd@example.com", Role: mfa.RoleHelpDesk}, true, false},
		{"Read-only", admin.Actor{Kind: admin.ActorAdmin, Name: "ro@example.com", Role: mfa.RoleReadOnly}, false, false},
		{"integration write_resource", admin.Actor{Kind: admin.ActorIntegration, ID: "DIWRITE", Perms: mfa.AdminPermissions{WriteResource: true}}, true, true},
		{"integration read_resource", admin.Actor{Kind: admin.ActorIntegration, ID: "DIREAD", Perms: mfa.AdminPermissions{ReadResource: true, ReadLog: true, Settings: true}}, false, false},
	}
	for _, ac := range actors {
		for _, m := range methods {
			before, sent := e.created(), len(e.notes.Messages())
			err := m.call(ac.actor)
			allowed := ac.send && (!m.creates || ac.create)
			switch {
			case allowed && err != nil:
				t.Errorf("%s as %s = %v; want success", m.name, ac.name, err)
			case !allowed && !errors.Is(err, mfa.ErrDenied):
				t.Errorf("%s as %s = %v; want Denied", m.name, ac.name, err)
			case !allowed && (e.created() != before || len(e.notes.Messages()) != sent):
				t.Errorf("%s as %s was denied but created or sent something", m.name, ac.name)
			}
		}
	}
}
