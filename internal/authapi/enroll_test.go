package authapi_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	duoauth "github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authapi"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// clock is a settable clock for the admin service (activation expiry);
// request signing keeps the real time.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// adminFixture is newFixture's stack plus the admin service behind
// /auth/v2/enroll (public host: the test server's; clock: Clock) and logo
// as the configured logo.
type adminFixture struct {
	*fixture
	Admin *admin.Service
	Clock *clock
}

func newAdminFixture(t *testing.T, logo []byte) *adminFixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	notes := &mfatest.Notifier{}
	clk := &clock{}
	svc := admin.New(st, clk.Now, rand.Reader, log)
	flow := authflow.New(st, time.Now, rand.Reader, log, authflow.WithNotifier(notes))
	surface := &api.Surface{Store: st, Now: time.Now, Logger: log}
	mux := http.NewServeMux()
	authapi.New(authapi.Deps{Surface: surface, Now: time.Now, Flow: flow,
		Admin: svc, Logo: logo}).Register(mux)
	ts := certstest.StartTLS(t, mux)
	admin.WithPublicHost(ts.Host)(svc)
	f := &fixture{t: t, Store: st, srv: ts.Server, pool: ts.Pool, Notes: notes, Host: ts.Host}
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	f.Key = mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "vpn", Type: mfa.IntegrationAuthAPI,
		EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}
	if err := st.CreateIntegration(t.Context(), f.Key); err != nil {
		t.Fatal(err)
	}
	return &adminFixture{fixture: f, Admin: svc, Clock: clk}
}

type enrollReply struct {
	ActivationBarcode string `json:"activation_barcode"`
	ActivationCode    string `json:"activation_code"`
	ActivationURL     string `json:"activation_url"`
	Expiration        int64  `json:"expiration"`
	UserID            string `json:"user_id"`
	Username          string `json:"username"`
}

func TestEnrollWithDuoClient(t *testing.T) {
	f := newAdminFixture(t, nil)
	start := time.Now()
	got, err := f.Duo().Enroll()
	if err != nil || got.Stat != "OK" {
		t.Fatalf("Enroll() = %+v, %v", got, err)
	}
	r := got.Response
	if !regexp.MustCompile(`^[a-z0-9]{8}$`).MatchString(r.Username) || !strings.HasPrefix(r.User_Id, "DU") {
		t.Errorf("Enroll() user = %q %q, want a random 8-character username", r.User_Id, r.Username)
	}
	code, host, err := admin.ParseActivationCode(r.Activation_Code)
	if !strings.HasPrefix(r.Activation_Code, "duo://") || err != nil || host != f.Host {
		t.Errorf("activation_code = %q (host %q, %v), want duo://<CODE>-<base64 of %s>", r.Activation_Code, host, err, f.Host)
	}
	if want := "https://" + f.Host + "/frame/qr?value=" + url.QueryEscape(r.Activation_Code); r.Activation_Barcode != want {
		t.Errorf("activation_barcode = %q, want %q", r.Activation_Barcode, want)
	}
	if exp := time.Unix(r.Expiration, 0); exp.Before(start.Add(86400*time.Second-time.Second)) || exp.After(time.Now().Add(86400*time.Second)) {
		t.Errorf("expiration = %v, want a day from now", exp)
	}
	u, err := f.Store.GetUser(t.Context(), r.User_Id)
	if err != nil || u.Username != r.Username || u.Status != mfa.StatusActive {
		t.Errorf("GetUser = %+v, %v; want the active user %s", u, err, r.Username)
	}

	st, err := f.Duo().EnrollStatus(r.User_Id, r.Activation_Code)
	if err != nil || st.Stat != "OK" || st.Response != "waiting" {
		t.Errorf("EnrollStatus() = %+v, %v; want waiting", st, err)
	}
	if _, err := f.Store.RedeemActivation(t.Context(), mfa.Passcode(code), time.Now()); err != nil {
		t.Fatal(err)
	}
	st, err = f.Duo().EnrollStatus(r.User_Id, r.Activation_Code)
	if err != nil || st.Stat != "OK" || st.Response != "success" {
		t.Errorf("EnrollStatus() after redemption = %+v, %v; want success", st, err)
	}
}

func TestEnrollWireShape(t *testing.T) {
	f := newAdminFixture(t, nil)
	r := f.Call("POST", "/auth/v2/enroll", url.Values{"username": {"newbie"}, "valid_secs": {"600"}})
	var keys map[string]any
	var got enrollReply
	if r.Status != 200 || json.Unmarshal(r.Response, &keys) != nil || json.Unmarshal(r.Response, &got) != nil {
		t.Fatalf("enroll = %d %s", r.Status, r.Response)
	}
	for _, k := range []string{"activation_barcode", "activation_code", "activation_url", "expiration", "user_id", "username"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("enroll response %s lacks %s", r.Response, k)
		}
	}
	if len(keys) != 6 {
		t.Errorf("enroll response %s has %d members, want 6", r.Response, len(keys))
	}
	if _, ok := keys["expiration"].(float64); !ok {
		t.Errorf("expiration = %#v, want a number", keys["expiration"])
	}
	full := strings.TrimPrefix(got.ActivationCode, "duo://")
	if got.Username != "newbie" || got.ActivationURL != "https://"+f.Host+"/activate/"+full {
		t.Errorf("enroll = %+v, want username newbie and activation_url https://%s/activate/%s", got, f.Host, full)
	}
	if d := time.Until(time.Unix(got.Expiration, 0)); d < 590*time.Second || d > 600*time.Second {
		t.Errorf("expiration in %v, want 600 s", d)
	}

	// The administrator log names the integration and holds no code.
	logs, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil || len(logs) != 2 {
		t.Fatalf("admin log = %d records, %v; want 2", len(logs), err)
	}
	for _, l := range logs {
		if l.Actor != f.Key.IKey || l.ActorKind != "integration" || strings.Contains(l.Description, full[:20]) {
			t.Errorf("admin log record %+v: want actor %s (integration) and no code", l, f.Key.IKey)
		}
	}
}

func TestEnrollStatusWithDuoClient(t *testing.T) {
	f := newAdminFixture(t, nil)
	enroll := func(name string) enrollReply {
		t.Helper()
		var got enrollReply
		r := f.Call("POST", "/auth/v2/enroll", url.Values{"username": {name}, "valid_secs": {"3600"}})
		if r.Status != 200 || json.Unmarshal(r.Response, &got) != nil {
			t.Fatalf("enroll %s = %d %s", name, r.Status, r.Response)
		}
		return got
	}
	carol, dave := enroll("carol"), enroll("dave")
	bare, _, _ := admin.ParseActivationCode(carol.ActivationCode)
	tests := []struct {
		name, user, code, want string
	}{
		{"as enroll gave it", carol.UserID, carol.ActivationCode, "waiting"},
		{"without duo://", carol.UserID, strings.TrimPrefix(carol.ActivationCode, "duo://"), "waiting"},
		{"bare code", carol.UserID, bare, "waiting"},
		{"another user's", dave.UserID, carol.ActivationCode, "invalid"},
		{"unknown user", "DUNOBODY000000000000", carol.ActivationCode, "invalid"},
		{"unknown code", carol.UserID, "AAAAAAAAAAAAAAAAAAAA", "invalid"},
		{"garbage", carol.UserID, "duo://x", "invalid"},
	}
	for _, tt := range tests {
		got, err := f.Duo().EnrollStatus(tt.user, tt.code)
		if err != nil || got.Stat != "OK" || got.Response != tt.want {
			t.Errorf("EnrollStatus(%s) = %+v, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	// The bare string, as Duo sends it.
	r := f.Call("POST", "/auth/v2/enroll_status", url.Values{"user_id": {dave.UserID}, "activation_code": {dave.ActivationCode}})
	if r.Status != 200 || string(r.Response) != `"waiting"` {
		t.Errorf("enroll_status = %d %s, want \"waiting\"", r.Status, r.Response)
	}
	f.Clock.Add(time.Hour)
	if got, err := f.Duo().EnrollStatus(carol.UserID, carol.ActivationCode); err != nil || got.Response != "invalid" {
		t.Errorf("EnrollStatus(expired) = %+v, %v; want invalid", got, err)
	}
}

func TestEnrollBadParams(t *testing.T) {
	f := newAdminFixture(t, nil)
	if r := f.Call("POST", "/auth/v2/enroll", url.Values{"username": {"alice"}}); r.Status != 200 {
		t.Fatalf("enroll alice = %d %s", r.Status, r.MessageDetail)
	}
	tests := []struct {
		path   string
		give   url.Values
		detail string // message_detail, exactly
	}{
		{"/auth/v2/enroll", url.Values{"username": {"alice"}}, "username: already exists"},
		{"/auth/v2/enroll", url.Values{"username": {"ALICE"}}, "username: already exists"},
		{"/auth/v2/enroll", url.Values{"valid_secs": {"abc"}}, `valid_secs: "abc" is not a whole number of seconds`},
		{"/auth/v2/enroll", url.Values{"valid_secs": {"0"}}, "valid_secs: must be between 1 and 2592000 (30 days)"},
		{"/auth/v2/enroll", url.Values{"valid_secs": {"2592001"}}, "valid_secs: must be between 1 and 2592000 (30 days)"},
		{"/auth/v2/enroll", url.Values{"bypass_codes": {"three"}}, `bypass_codes: "three" is not a whole number of codes`},
		{"/auth/v2/enroll", url.Values{"bypass_codes": {"0"}}, "bypass_codes: must be between 1 and 10"},
		{"/auth/v2/enroll", url.Values{"bypass_codes": {"11"}}, "bypass_codes: must be between 1 and 10"},
		{"/auth/v2/enroll_status", url.Values{"activation_code": {"x"}}, "user_id"},
		{"/auth/v2/enroll_status", url.Values{"user_id": {"DUX"}}, "activation_code"},
		{"/auth/v2/enroll_status", url.Values{"user_id": {"DUX"}, "activation_code": {" "}}, "activation_code"},
	}
	for _, tt := range tests {
		r := f.Call("POST", tt.path, tt.give)
		if r.Status != 400 || r.Code != 40002 || r.MessageDetail != tt.detail {
			t.Errorf("%s %v = %d %d %q, want 400 40002 %q", tt.path, tt.give, r.Status, r.Code, r.MessageDetail, tt.detail)
		}
	}
	users, total, err := f.Store.ListUsers(t.Context(), mfa.UserFilter{})
	if err != nil || total != 1 || len(users) != 1 {
		t.Errorf("users after refused enrollments = %d, %v; want only alice", total, err)
	}
}

func TestEnrollNeedsAdminService(t *testing.T) {
	f := newFixture(t) // no Deps.Admin: the routes are not registered
	for _, p := range []string{"/auth/v2/enroll", "/auth/v2/enroll_status"} {
		status, _, err := f.duoAPI().SignedCall("POST", p, url.Values{"username": {"x"}})
		if err != nil || status.StatusCode != 404 {
			t.Errorf("POST %s without the admin service = %v, %v; want 404", p, status.StatusCode, err)
		}
	}
}

// TestEnrollDuoEnrollParams checks the Go client's own parameter helpers.
func TestEnrollDuoEnrollParams(t *testing.T) {
	f := newAdminFixture(t, nil)
	got, err := f.Duo().Enroll(duoauth.EnrollUsername("frank"), duoauth.EnrollValidSeconds(120))
	if err != nil || got.Stat != "OK" || got.Response.Username != "frank" {
		t.Fatalf("Enroll(frank, 120) = %+v, %v", got, err)
	}
	if d := time.Until(time.Unix(got.Response.Expiration, 0)); d < 110*time.Second || d > 120*time.Second {
		t.Errorf("expiration in %v, want 120 s", d)
	}
	again, err := f.Duo().Enroll(duoauth.EnrollUsername("frank"))
	if err != nil || again.Stat != "FAIL" || again.Code == nil || *again.Code != 40002 ||
		again.Message_Detail == nil || *again.Message_Detail != "username: already exists" {
		t.Errorf("Enroll(frank) again = %+v, %v; want FAIL 40002 username: already exists", again, err)
	}
}

// TestEnrollBypassCodes: duo_client_python's enroll(bypass_codes=N) gets N
// single-use codes for the new user, made in the enrollment's transaction,
// logged without the codes, usable once each after the app is activated.
func TestEnrollBypassCodes(t *testing.T) {
	f := newAdminFixture(t, nil)
	r := f.Call("POST", "/auth/v2/enroll", url.Values{"username": {"traveller"}, "valid_secs": {"3600"}, "bypass_codes": {"3"}})
	var got struct {
		enrollReply
		BypassCodes []string `json:"bypass_codes"`
	}
	if r.Status != 200 || json.Unmarshal(r.Response, &got) != nil {
		t.Fatalf("enroll = %d %s", r.Status, r.Response)
	}
	if len(got.BypassCodes) != 3 {
		t.Fatalf("bypass_codes = %q, want 3 codes", got.BypassCodes)
	}
	for _, c := range got.BypassCodes {
		if !regexp.MustCompile(`^[0-9]{9}$`).MatchString(c) {
			t.Errorf("bypass code %q, want 9 digits", c)
		}
	}
	held, _, err := f.Store.ListBypassCodes(t.Context(), mfa.BypassFilter{UserID: got.UserID})
	if err != nil || len(held) != 3 {
		t.Fatalf("stored codes = %d, %v; want 3", len(held), err)
	}
	for _, b := range held {
		if b.Unlimited || b.UsesLeft != 1 || b.Expires.IsZero() || b.Expires.After(time.Now().Add(3600*time.Second)) {
			t.Errorf("stored code %+v: want one use, expiring with the activation", b)
		}
	}
	logs, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, l := range logs {
		actions[l.Action] = true
		for _, c := range got.BypassCodes {
			if strings.Contains(l.Description, c) {
				t.Errorf("admin log record %+v holds a bypass code", l)
			}
		}
	}
	if !actions["bypass_create"] || !actions["auth_enroll"] {
		t.Errorf("admin log actions = %v, want auth_enroll and bypass_create", actions)
	}

	// Once the user has a device (seed 004: a bypass code needs one), each
	// code logs in once.
	u, err := f.Store.GetUser(t.Context(), got.UserID)
	if err != nil {
		t.Fatal(err)
	}
	f.app(u, []byte("12345678901234567890"), false)
	for i, want := range []string{"allow", "deny"} {
		a, err := f.Duo().Auth("passcode", duoauth.AuthUsername("traveller"), duoauth.AuthPasscode(got.BypassCodes[0]))
		if err != nil || a.Response.Result != want {
			t.Errorf("auth #%d with a bypass code = %+v, %v; want %s", i+1, a, err, want)
		}
	}

	// Without bypass_codes the answer has no such member (TestEnrollWireShape
	// pins the six members).
	if r := f.Call("POST", "/auth/v2/enroll", url.Values{"username": {"plain"}}); strings.Contains(string(r.Response), "bypass_codes") {
		t.Errorf("enroll without bypass_codes = %s", r.Response)
	}
}
