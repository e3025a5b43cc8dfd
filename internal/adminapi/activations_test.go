package adminapi_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// withNotifier gives the fixture's service a recording notifier and the
// fixture's address as its public host (before any request is served).
func withNotifier(f *fixture) *mfatest.Notifier {
	rec := &mfatest.Notifier{}
	admin.WithNotifier(rec)(f.Svc)
	admin.WithPublicHost(f.Host)(f.Svc)
	return rec
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("response %s is not an object: %v", raw, err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// apiPhone creates a mobile phone through the API, associated with user.
func apiPhone(f *fixture, number, userID string) string {
	f.t.Helper()
	var ph struct {
		ID string `json:"phone_id"`
	}
	f.OK(f.Call(f.Key, "POST", "/admin/v1/phones", url.Values{"number": {number}, "type": {"mobile"}}), &ph)
	if userID != "" {
		f.OK(f.Call(f.Key, "POST", "/admin/v1/users/"+userID+"/phones", url.Values{"phone_id": {ph.ID}}), nil)
	}
	return ph.ID
}

func TestActivationEndpointsSQLite(t *testing.T) { testActivationEndpoints(t, newFixture(t)) }
func TestActivationEndpointsPostgres(t *testing.T) {
	testActivationEndpoints(t, newFixture(t, sqltest.PostgresDSN(t)))
}

func testActivationEndpoints(t *testing.T, f *fixture) {
	rec := withNotifier(f)
	ctx := t.Context()
	u := devUser(f, "alice")
	phoneID := apiPhone(f, "+15555550100", u.ID)
	codeRE := regexp.MustCompile(`^https://` + regexp.QuoteMeta(f.Host) + `/activate/([A-Za-z0-9]{20}-[A-Za-z0-9+/]+)$`)
	redeem := func(activationURL string) mfa.Activation {
		t.Helper()
		m := codeRE.FindStringSubmatch(activationURL)
		if m == nil {
			t.Fatalf("activation URL %q is not https://%s/activate/<code>", activationURL, f.Host)
		}
		code, host, err := admin.ParseActivationCode(m[1])
		if err != nil || host != f.Host {
			t.Fatalf("ParseActivationCode(%q) = %q, %q, %v; want host %s", m[1], code, host, err, f.Host)
		}
		a, err := f.Store.RedeemActivation(ctx, mfa.Passcode(code), time.Now())
		if err != nil {
			t.Fatalf("RedeemActivation(code of %s) = %v", activationURL, err)
		}
		return a
	}

	// activation_url: Duo's shape, installation_url only with install=1.
	r := f.Call(f.Key, "POST", "/admin/v1/phones/"+phoneID+"/activation_url", nil)
	var link struct {
		URL       string `json:"activation_url"`
		Barcode   string `json:"activation_barcode"`
		ValidSecs int    `json:"valid_secs"`
		Install   string `json:"installation_url"`
	}
	f.OK(r, &link)
	if got := keys(t, r.Response); !slices.Equal(got, []string{"activation_barcode", "activation_url", "valid_secs"}) {
		t.Errorf("activation_url keys = %v", got)
	}
	if a := redeem(link.URL); a.UserID != u.ID || a.PhoneID != phoneID {
		t.Errorf("activation = %+v; want alice's phone", a)
	}
	b, _ := url.Parse(link.Barcode)
	if link.ValidSecs != 86400 || b == nil || b.Host != f.Host || b.Path != "/frame/qr" || !strings.HasSuffix(link.URL, "/"+b.Query().Get("value")) {
		t.Errorf("activation_url = %+v; want 86400 s and a barcode of the code", link)
	}
	r = f.Call(f.Key, "POST", "/admin/v1/phones/"+phoneID+"/activation_url", url.Values{"valid_secs": {"3600"}, "install": {"1"}})
	f.OK(r, &link)
	if link.ValidSecs != 3600 || link.Install != "https://"+f.Host+"/install" {
		t.Errorf("activation_url(3600, install) = %+v", link)
	}

	// send_sms_activation.
	r = f.Call(f.Key, "POST", "/admin/v1/phones/"+phoneID+"/send_sms_activation", url.Values{"install": {"1"},
		"activation_msg": {"Activate: <acturl>"}, "installation_msg": {"Install: <insturl>"}, "valid_secs": {"600"}})
	var sms struct {
		Barcode   string `json:"activation_barcode"`
		ActMsg    string `json:"activation_msg"`
		InstMsg   string `json:"installation_msg"`
		ValidSecs int    `json:"valid_secs"`
	}
	f.OK(r, &sms)
	if got := keys(t, r.Response); !slices.Equal(got, []string{"activation_barcode", "activation_msg", "installation_msg", "valid_secs"}) {
		t.Errorf("send_sms_activation keys = %v", got)
	}
	msgs := withoutNotices(rec.Messages())
	if len(msgs) != 2 || string(msgs[0].Body) != sms.InstMsg || string(msgs[1].Body) != sms.ActMsg || msgs[1].To != "+15555550100" {
		t.Fatalf("sent %+v; want the installation then the activation SMS as answered %+v", msgs, sms)
	}
	if sms.InstMsg != "Install: https://"+f.Host+"/install" || sms.ValidSecs != 600 {
		t.Errorf("send_sms_activation = %+v", sms)
	}
	redeem(strings.TrimPrefix(sms.ActMsg, "Activate: "))

	// send_sms_installation.
	r = f.Call(f.Key, "POST", "/admin/v1/phones/"+phoneID+"/send_sms_installation", nil)
	var inst struct {
		Msg string `json:"installation_msg"`
	}
	f.OK(r, &inst)
	if got := keys(t, r.Response); !slices.Equal(got, []string{"installation_msg"}) || !strings.HasSuffix(inst.Msg, "https://"+f.Host+"/install") {
		t.Errorf("send_sms_installation = %s", r.Response)
	}

	// send_sms_passcodes: "" and a batch.
	r = f.Call(f.Key, "POST", "/admin/v1/phones/"+phoneID+"/send_sms_passcodes", nil)
	f.OK(r, nil)
	if string(r.Response) != `""` {
		t.Errorf("send_sms_passcodes response = %s, want \"\"", r.Response)
	}
	msgs = withoutNotices(rec.Messages())
	if last := string(msgs[len(msgs)-1].Body); !regexp.MustCompile(`^twostep passcodes: 1\d{6} 2\d{6} 3\d{6} 4\d{6} 5\d{6} 6\d{6} 7\d{6} 8\d{6} 9\d{6} 0\d{6}$`).MatchString(last) {
		t.Errorf("passcodes SMS = %q", last)
	}
	var ph struct {
		Sent bool `json:"sms_passcodes_sent"`
	}
	f.OK(f.Call(f.Key, "GET", "/admin/v1/phones/"+phoneID, nil), &ph)
	if !ph.Sent {
		t.Error("sms_passcodes_sent = false after send_sms_passcodes")
	}

	// users/enroll: "" and an email; the user is created.
	r = f.Call(f.Key, "POST", "/admin/v1/users/enroll", url.Values{"username": {"bob"}, "email": {"bob@example.com"}})
	f.OK(r, nil)
	if string(r.Response) != `""` {
		t.Errorf("users/enroll response = %s, want \"\"", r.Response)
	}
	bob, err := f.Store.GetUserByName(ctx, "bob")
	if err != nil || bob.Email != "bob@example.com" {
		t.Fatalf("enrolled user = %+v, %v", bob, err)
	}
	msgs = withoutNotices(rec.Messages())
	m := msgs[len(msgs)-1]
	if m.Channel != mfa.ChannelEmail || m.To != "bob@example.com" || m.Subject != "Enroll in twostep" {
		t.Errorf("enrollment message = %s to %s %q", m.Channel, m.To, m.Subject)
	}
	found := regexp.MustCompile(`https://\S+/activate/\S+`).FindString(string(m.Body))
	if a := redeem(found); a.UserID != bob.ID || a.PhoneID != "" {
		t.Errorf("enrollment activation = %+v; want bob's, no phone", a)
	}

	tl, err := f.Store.ListTelephonyLog(ctx, mfa.LogFilter{})
	if err != nil || len(tl) != 4 {
		t.Errorf("telephony log has %d records (%v), want 4 SMS", len(tl), err)
	}
}

// TestActivationEndpointErrors: Duo's error answers, and nothing sent.
func TestActivationEndpointErrors(t *testing.T) {
	f := newFixture(t)
	rec := withNotifier(f)
	u := devUser(f, "alice")
	phoneID := apiPhone(f, "+15555550100", u.ID)
	lonely := apiPhone(f, "+15555550101", "")
	readOnly := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadResource: true})
	act := "/admin/v1/phones/" + phoneID + "/activation_url"
	sms := "/admin/v1/phones/" + phoneID + "/send_sms_activation"
	tests := []struct {
		name       string
		key        mfa.Integration
		path       string
		give       url.Values
		wantStatus int
		wantCode   int
		wantDetail string // prefix of message_detail
	}{
		{"valid_secs not a number", f.Key, act, url.Values{"valid_secs": {"soon"}}, 400, 40002, "valid_secs: "},
		{"valid_secs 0", f.Key, act, url.Values{"valid_secs": {"0"}}, 400, 40002, "valid_secs: must be between 1 and 2592000"},
		{"valid_secs too long", f.Key, sms, url.Values{"valid_secs": {"2592001"}}, 400, 40002, "valid_secs: "},
		{"install not a bool", f.Key, act, url.Values{"install": {"maybe"}}, 400, 40002, "install: "},
		{"activation_msg without acturl", f.Key, sms, url.Values{"activation_msg": {"hi"}}, 400, 40002, "activation_msg: must contain <acturl>"},
		{"installation_msg without insturl", f.Key, sms, url.Values{"install": {"1"}, "installation_msg": {"hi"}}, 400, 40002, "installation_msg: must contain <insturl>"},
		{"installation without insturl", f.Key, "/admin/v1/phones/" + phoneID + "/send_sms_installation", url.Values{"installation_msg": {"hi"}}, 400, 40002, "installation_msg: "},
		{"phone without user", f.Key, "/admin/v1/phones/" + lonely + "/activation_url", nil, 400, 40002, "phone_id: "},
		{"passcodes phone without user", f.Key, "/admin/v1/phones/" + lonely + "/send_sms_passcodes", nil, 400, 40002, "phone_id: "},
		{"unknown phone", f.Key, "/admin/v1/phones/DPNOSUCHPHONE000000/send_sms_passcodes", nil, 404, 40401, ""},
		{"enroll without username", f.Key, "/admin/v1/users/enroll", url.Values{"email": {"x@example.com"}}, 400, 40002, "username: required"},
		{"enroll without email", f.Key, "/admin/v1/users/enroll", url.Values{"username": {"carol"}}, 400, 40002, "email: required"},
		{"enroll bad email", f.Key, "/admin/v1/users/enroll", url.Values{"username": {"carol"}, "email": {"carol"}}, 400, 40002, "email: "},
		{"enroll other email", f.Key, "/admin/v1/users/enroll", url.Values{"username": {"alice"}, "email": {"eve@example.com"}}, 400, 40002, "email: the user exists with a different email"},
		{"read-only activation_url", readOnly, act, nil, 403, 40301, ""},
		{"read-only passcodes", readOnly, "/admin/v1/phones/" + phoneID + "/send_sms_passcodes", nil, 403, 40301, ""},
		{"read-only enroll", readOnly, "/admin/v1/users/enroll", url.Values{"username": {"alice"}, "email": {"alice@example.com"}}, 403, 40301, ""},
	}
	for _, tt := range tests {
		r := f.Call(tt.key, "POST", tt.path, tt.give)
		if r.Status != tt.wantStatus || r.Code != tt.wantCode || r.Stat != "FAIL" || !strings.HasPrefix(r.MessageDetail, tt.wantDetail) {
			t.Errorf("%s: POST %s = %d %d %q %q; want %d %d detail %q...", tt.name, tt.path, r.Status, r.Code, r.Message, r.MessageDetail,
				tt.wantStatus, tt.wantCode, tt.wantDetail)
		}
	}
	if n := len(withoutNotices(rec.Messages())); n != 0 {
		t.Errorf("refused requests sent %d messages", n)
	}
	if _, err := f.Store.GetUserByName(t.Context(), "carol"); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("a refused enrollment created carol (%v)", err)
	}

	// The carrier down: 503/50300, nothing in the telephony log.
	rec.SetFail(errors.New("carrier down"))
	for _, path := range []string{sms, "/admin/v1/phones/" + phoneID + "/send_sms_installation", "/admin/v1/phones/" + phoneID + "/send_sms_passcodes"} {
		if r := f.Call(f.Key, "POST", path, nil); r.Status != 503 || r.Code != 50300 {
			t.Errorf("POST %s with the carrier down = %d %d %q; want 503 50300", path, r.Status, r.Code, r.Message)
		}
	}
	if tl, _ := f.Store.ListTelephonyLog(t.Context(), mfa.LogFilter{}); len(tl) != 0 {
		t.Errorf("telephony log = %+v after failed sends; want none", tl)
	}
}

// withoutNotices drops account-change notices (a phone associated with a
// user who has an email address is told so; admin tests cover them).
func withoutNotices(msgs []mfa.Message) []mfa.Message {
	var out []mfa.Message
	for _, m := range msgs {
		if m.Context != "notice" {
			out = append(out, m)
		}
	}
	return out
}
