package adminapi_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/adminapi"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// Issue 9, item 3: an Admin API key may read the secret of, change or
// delete an integration only if it holds every permission that
// integration holds, and may not create one holding more than it does.

func TestIntegrationPrivilegeClimbSQLite(t *testing.T) {
	testIntegrationPrivilegeClimb(t, newFixture(t))
}
func TestIntegrationPrivilegeClimbPostgres(t *testing.T) {
	testIntegrationPrivilegeClimb(t, newFixture(t, sqltest.PostgresDSN(t)))
}

func testIntegrationPrivilegeClimb(t *testing.T, f *fixture) {
	// f.Key is the all-permission (bootstrap-like) key; limited manages
	// integrations only.
	limited := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Integrations: true})
	peer := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Integrations: true})
	auth := f.Integration(mfa.IntegrationAuthAPI, mfa.AdminPermissions{})
	strong := "/admin/v1/integrations/" + f.Key.IKey

	denied := func(call string, r Response) {
		t.Helper()
		if r.Status != http.StatusForbidden || r.Code != 40301 {
			t.Errorf("%s by the limited key = %d %d %q %q, want 403 40301", call, r.Status, r.Code, r.Message, r.MessageDetail)
		}
	}
	// The attack: read the strong key's secret, then use it.
	r := f.Call(limited, http.MethodGet, strong+"/skey", nil)
	denied("GET skey of the all-permission key", r)
	if strings.Contains(string(r.Response), string(f.Key.SKey.Reveal())) {
		t.Fatalf("the limited key read the all-permission key's secret: %s", r.Response)
	}
	if !strings.Contains(r.MessageDetail+r.Message, "adminapi_read_resource") {
		t.Errorf("refusal %q %q does not name a permission the caller lacks", r.Message, r.MessageDetail)
	}
	denied("modify the all-permission key", f.Call(limited, http.MethodPost, strong, url.Values{"name": {"pwned"}}))
	denied("delete the all-permission key", f.Call(limited, http.MethodDelete, strong, nil))
	denied("create a key with adminapi_read_resource", f.Call(limited, http.MethodPost, "/admin/v1/integrations",
		url.Values{"name": {"climber"}, "type": {"adminapi"}, "adminapi_read_resource": {"1"}}))
	denied("grant a peer adminapi_read_resource", f.Call(limited, http.MethodPost, "/admin/v1/integrations/"+peer.IKey,
		url.Values{"adminapi_read_resource": {"1"}}))

	got, err := f.Store.GetIntegration(t.Context(), f.Key.IKey)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != f.Key.Name {
		t.Errorf("all-permission key renamed to %q by a refused request", got.Name)
	}
	ins, _, err := f.Store.ListIntegrations(t.Context(), mfa.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 4 {
		t.Errorf("%d integrations after refused requests, want 4 (nothing created or deleted)", len(ins))
	}

	// What the limited key may still do: manage Auth API integrations and
	// Admin API keys that hold no more than it does.
	for _, in := range []mfa.Integration{auth, peer} {
		var obj struct {
			SecretKey string `json:"secret_key"`
		}
		f.OK(f.Call(limited, http.MethodGet, "/admin/v1/integrations/"+in.IKey+"/skey", nil), &obj)
		if obj.SecretKey != string(in.SKey.Reveal()) {
			t.Errorf("skey of %s = %q, want its secret", in.IKey, obj.SecretKey)
		}
	}
	f.OK(f.Call(limited, http.MethodPost, "/admin/v1/integrations/"+peer.IKey, url.Values{"name": {"peer renamed"}}), nil)
	f.OK(f.Call(limited, http.MethodPost, "/admin/v1/integrations",
		url.Values{"name": {"equal"}, "type": {"adminapi"}, "adminapi_integrations": {"1"}}), nil)
	f.OK(f.Call(limited, http.MethodDelete, "/admin/v1/integrations/"+peer.IKey, nil), nil)
	// The all-permission key may manage the limited one.
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/integrations/"+limited.IKey+"/skey", nil), nil)
}

// Issue 9, item 13: concurrent settings changes of different fields by two
// integrations all survive.

func TestSettingsConcurrentFieldsSQLite(t *testing.T) { testSettingsConcurrentFields(t, newFixture(t)) }
func TestSettingsConcurrentFieldsPostgres(t *testing.T) {
	testSettingsConcurrentFields(t, newFixture(t, sqltest.PostgresDSN(t)))
}

func testSettingsConcurrentFields(t *testing.T, f *fixture) {
	other := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Settings: true})
	keys := []mfa.Integration{f.Key, other}
	// Each request changes one field; rounds alternate between two values,
	// so that every round changes every field again.
	type field struct {
		name string
		vals [2]string
		got  func(settingsJSON) string
	}
	fields := []field{
		{"lockout_threshold", [2]string{"7", "8"}, func(s settingsJSON) string { return fmt.Sprint(s.LockoutThreshold) }},
		{"sms_batch", [2]string{"3", "4"}, func(s settingsJSON) string { return fmt.Sprint(s.SMSBatch) }},
		{"push_timeout_seconds", [2]string{"120", "130"}, func(s settingsJSON) string { return fmt.Sprint(s.PushTimeout) }},
		{"inactive_user_expiration", [2]string{"40", "50"}, func(s settingsJSON) string { return fmt.Sprint(s.InactiveUserExp) }},
		{"verified_push_digits", [2]string{"4", "5"}, func(s settingsJSON) string { return fmt.Sprint(s.VerifiedPushDigits) }},
		{"push_mute_minutes", [2]string{"10", "20"}, func(s settingsJSON) string { return fmt.Sprint(s.PushMuteMinutes) }},
		{"trusted_device_max_days", [2]string{"11", "12"}, func(s settingsJSON) string { return fmt.Sprint(s.TrustedDeviceMaxDays) }},
		{"sms_message", [2]string{"codes A:", "codes B:"}, func(s settingsJSON) string { return s.SMSMessage }},
	}
	const rounds = 4
	for round := range rounds {
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, len(fields))
		for i, fl := range fields {
			wg.Go(func() {
				<-start
				r, err := signedCall(f, keys[i%2], http.MethodPost, "/admin/v1/settings", url.Values{fl.name: {fl.vals[round%2]}})
				if err == nil && (r.Status != 200 || r.Stat != "OK") {
					err = fmt.Errorf("%d %d %s %s", r.Status, r.Code, r.Message, r.MessageDetail)
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: concurrent POST /admin/v1/settings: %v", round, err)
		}
		var st settingsJSON
		f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/settings", nil), &st)
		for _, fl := range fields {
			if got := fl.got(st); got != fl.vals[round%2] {
				t.Errorf("round %d: %s = %q after concurrent updates of other fields, want %q (an update was lost)",
					round, fl.name, got, fl.vals[round%2])
			}
		}
	}
	// One admin log record per change.
	entries, err := f.Store.ListAdminLog(t.Context(), mfa.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(entries); n != rounds*len(fields) {
		t.Errorf("admin log = %d records, want %d", n, rounds*len(fields))
	}
}

type settingsJSON struct {
	LockoutThreshold     int    `json:"lockout_threshold"`
	SMSBatch             int    `json:"sms_batch"`
	PushTimeout          int    `json:"push_timeout_seconds"`
	InactiveUserExp      int    `json:"inactive_user_expiration"`
	VerifiedPushDigits   int    `json:"verified_push_digits"`
	PushMuteMinutes      int    `json:"push_mute_minutes"`
	TrustedDeviceMaxDays int    `json:"trusted_device_max_days"`
	SMSMessage           string `json:"sms_message"`
}

// signedCall is fixture.Call for other goroutines: it returns errors
// instead of failing the test.
func signedCall(f *fixture, in mfa.Integration, method, path string, params url.Values) (Response, error) {
	body := []byte(params.Encode())
	req, err := http.NewRequest(method, "https://"+f.Host+path, nil)
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := duoproto.SignRequest(req, in.IKey, string(in.SKey.Reveal()), 2, body); err != nil {
		return Response{}, err
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}}
	resp, err := c.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return Response{}, fmt.Errorf("body %q: %w", raw, err)
	}
	r.Status = resp.StatusCode
	return r, nil
}

// Issue 9, item 13: a change whose admin log record cannot be written
// does not happen.

func TestChangeWithoutLogRecordSQLite(t *testing.T) {
	testChangeWithoutLogRecord(t, sqltest.SQLitePath(t))
}
func TestChangeWithoutLogRecordPostgres(t *testing.T) {
	testChangeWithoutLogRecord(t, sqltest.PostgresDSN(t))
}

// failingLog is a store whose admin log cannot be appended to.
type failingLog struct{ mfa.Store }

func (failingLog) AppendAdminLog(context.Context, mfa.AdminLogEntry) (int64, error) {
	return 0, errors.New("admin log disk full")
}

func testChangeWithoutLogRecord(t *testing.T, dsn string) {
	ctx := t.Context()
	st := sqltest.NewStore(t, dsn)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := admin.New(failingLog{st}, time.Now, rand.Reader, log)
	mux := http.NewServeMux()
	adminapi.New(adminapi.Deps{Surface: &api.Surface{Store: st, Now: time.Now, Logger: log}, Service: svc, Now: time.Now}).Register(mux)
	ts := certstest.StartTLS(t, mux)
	f := &fixture{t: t, Store: st, Svc: svc, srv: ts.Server, pool: ts.Pool, Host: ts.Host}
	f.Key = f.Integration(mfa.IntegrationAdminAPI, mfa.AllAdminPermissions())

	// A locked-out user: unlocking is a profile write and a failure reset.
	u := mfa.User{ID: "DUATOMIC000000000001", Username: "locked", RealName: "Before", Status: mfa.StatusActive, Created: time.Now()}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := st.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, CountFailure: true, Threshold: 3, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	want := func() mfa.User {
		got, err := st.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatalf("GetUser() = %v: the user was deleted without its admin log record", err)
		}
		return got
	}
	before := want()
	if before.Status != mfa.StatusLockedOut {
		t.Fatalf("user status = %q, want locked_out", before.Status)
	}
	settingsBefore, err := st.GetSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name   string
		method string
		path   string
		params url.Values
	}{
		{"unlock and rename user", http.MethodPost, "/admin/v1/users/" + u.ID, url.Values{"status": {"active"}, "realname": {"After"}}},
		{"change settings", http.MethodPost, "/admin/v1/settings", url.Values{"lockout_threshold": {"42"}}},
		{"create user", http.MethodPost, "/admin/v1/users", url.Values{"username": {"ghost"}}},
		{"create integration", http.MethodPost, "/admin/v1/integrations", url.Values{"name": {"ghost"}, "type": {"authapi"}}},
		{"delete user", http.MethodDelete, "/admin/v1/users/" + u.ID, nil},
	}
	for _, c := range calls {
		r := f.Call(f.Key, c.method, c.path, c.params)
		if r.Status != http.StatusInternalServerError {
			t.Errorf("%s with a failing admin log = %d %s, want 500", c.name, r.Status, r.Message)
		}
	}
	after := want()
	if after.Status != before.Status || after.RealName != before.RealName || after.FailedAttempts != before.FailedAttempts {
		t.Errorf("user after refused changes = %s %q %d failures, want unchanged %s %q %d",
			after.Status, after.RealName, after.FailedAttempts, before.Status, before.RealName, before.FailedAttempts)
	}
	if s, err := st.GetSettings(ctx); err != nil || s.LockoutThreshold != settingsBefore.LockoutThreshold {
		t.Errorf("lockout_threshold after a refused change = %d (%v), want %d", s.LockoutThreshold, err, settingsBefore.LockoutThreshold)
	}
	if _, err := st.GetUserByName(ctx, "ghost"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("GetUserByName(ghost) = %v, want NotFound: a user created without its log record", err)
	}
	if ins, _, err := st.ListIntegrations(ctx, mfa.Page{}); err != nil || len(ins) != 1 {
		t.Errorf("integrations = %d (%v), want only the caller's", len(ins), err)
	}
}

// TestAdminRolePrivilegeClimb: an Admin API key holding only
// adminapi_admins used to create an Owner (who may do everything) or set
// an existing Owner's password, and so climb to every permission through
// the console. A key may create, change or delete only administrators whose
// role does nothing the key may not do.
func TestAdminRolePrivilegeClimb(t *testing.T) {
	f := newFixture(t)
	admins := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{Admins: true})
	var owner struct {
		AdminID string `json:"admin_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins",
		url.Values{"email": {"owner2@example.com"}, "role": {"Owner"}}), &owner)

	tests := []struct {
		name, method, path string
		give               url.Values
	}{
		{"create an Owner", http.MethodPost, "/admin/v1/admins", url.Values{"email": {"climber@example.com"}, "role": {"Owner"}, "password": {"correct horse battery staple"}}},
		{"create an Administrator", http.MethodPost, "/admin/v1/admins", url.Values{"email": {"climber@example.com"}, "role": {"Administrator"}}},
		{"set an Owner's password", http.MethodPost, "/admin/v1/admins/" + owner.AdminID, url.Values{"password": {"correct horse battery staple"}}},
		{"delete an Owner", http.MethodDelete, "/admin/v1/admins/" + owner.AdminID, nil},
	}
	for _, tt := range tests {
		r := f.Call(admins, tt.method, tt.path, tt.give)
		if r.Status != http.StatusForbidden || r.Code != 40301 || !strings.Contains(r.MessageDetail+r.Message, "administrator") {
			t.Errorf("%s with only adminapi_admins = %d %d %q %q, want 403 40301 naming the role", tt.name, r.Status, r.Code, r.Message, r.MessageDetail)
		}
	}
	list, _, err := f.Store.ListAdmins(t.Context(), mfa.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Email == "climber@example.com" {
			t.Errorf("a refused request created %s (%s)", a.Email, a.Role)
		}
	}
	if _, err := f.Store.GetAdmin(t.Context(), owner.AdminID); err != nil {
		t.Errorf("the Owner is gone after a refused delete: %v", err)
	}
	// Within its powers: with every permission, the bootstrap key still
	// creates an Owner.
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/admins", url.Values{"email": {"owner3@example.com"}, "role": {"Owner"}}), nil)
}
