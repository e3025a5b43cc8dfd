package authapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	duoauth "github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestPreauthWithDuoClient(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", mfa.StatusActive)
	phone := f.app(alice, []byte("12345678901234567890"), false)
	f.user("bob", mfa.StatusBypass)
	f.user("carol", mfa.StatusDisabled)
	f.user("dave", mfa.StatusLockedOut)
	f.user("erin", mfa.StatusActive) // no device

	tests := []struct {
		give      func(*url.Values)
		want, msg string
	}{
		{duoauth.PreauthUsername("alice"), "auth", "Account is active"},
		{duoauth.PreauthUserId(alice.ID), "auth", "Account is active"},
		{duoauth.PreauthUsername("bob"), "allow", "Allowing user in bypass mode"},
		{duoauth.PreauthUsername("carol"), "deny", "Your account is disabled."},
		{duoauth.PreauthUsername("dave"), "deny", "Your account has been locked out due to excessive authentication failures."},
		{duoauth.PreauthUsername("erin"), "enroll", "Enroll an authentication device to proceed"},
		{duoauth.PreauthUsername("nobody"), "enroll", "Enroll an authentication device to proceed"},
	}
	for _, tt := range tests {
		got, err := f.Duo().Preauth(tt.give, duoauth.PreauthIpAddr("192.0.2.7"))
		if err != nil {
			t.Fatalf("Preauth = %v", err)
		}
		if got.Stat != "OK" || got.Response.Result != tt.want || got.Response.Status_Msg != tt.msg {
			t.Errorf("Preauth = %s %s %q, want OK %s %q", got.Stat, got.Response.Result, got.Response.Status_Msg, tt.want, tt.msg)
		}
		if tt.want == "auth" {
			d := got.Response.Devices
			if len(d) != 1 || d[0].Device != phone.ID || d[0].Type != "phone" || d[0].Number != "XXX-XXX-0100" ||
				d[0].Name != "Alice's phone" || strings.Join(d[0].Capabilities, ",") != "auto,push,sms,phone,mobile_otp" {
				t.Errorf("Preauth devices = %+v", d)
			}
		}
	}
}

func TestPreauthWireShape(t *testing.T) {
	f := newFixture(t)
	f.user("erin", mfa.StatusActive)
	r := f.Call("POST", "/auth/v2/preauth", url.Values{"username": {"erin"}})
	var got map[string]any
	if err := json.Unmarshal(r.Response, &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["enroll_portal_url"]; !ok || got["result"] != "enroll" {
		t.Errorf("enroll response = %s, want result enroll with enroll_portal_url", r.Response)
	}
	if _, ok := got["devices"]; ok {
		t.Errorf("enroll response = %s, want no devices", r.Response)
	}
}

// TestPreauthTokens: hardware tokens are listed in Duo's shape (DUO-WIRE.md
// 2.1): {"device":"DH…","type":"token","name":"<serial>"} with
// display_name the serial and capabilities [], and no number member; the
// user's phones keep theirs, and Duo's Go client reads both.
func TestPreauthTokens(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", mfa.StatusActive)
	phone := f.app(alice, []byte("12345678901234567890"), false)
	tok := f.token(alice, "YK-0042")
	r := f.Call("POST", "/auth/v2/preauth", url.Values{"username": {"alice"}})
	var got struct {
		Result  string           `json:"result"`
		Devices []map[string]any `json:"devices"`
	}
	if err := json.Unmarshal(r.Response, &got); err != nil {
		t.Fatal(err)
	}
	if got.Result != "auth" || len(got.Devices) != 2 {
		t.Fatalf("preauth = %s, want result auth with a phone and a token", r.Response)
	}
	var token, ph map[string]any
	for _, d := range got.Devices {
		switch d["type"] {
		case "token":
			token = d
		case "phone":
			ph = d
		}
	}
	want := map[string]any{"device": tok.ID, "type": "token", "name": "YK-0042", "display_name": "YK-0042", "capabilities": []any{}}
	if len(token) != len(want) {
		t.Errorf("token entry = %v, want exactly %v", token, want)
	}
	for k, v := range want {
		if gb, _ := json.Marshal(token[k]); string(gb) != mustJSON(t, v) {
			t.Errorf("token %s = %s, want %s", k, gb, mustJSON(t, v))
		}
	}
	if ph == nil || ph["device"] != phone.ID || ph["number"] != "XXX-XXX-0100" {
		t.Errorf("phone entry = %v, want %s with its number", ph, phone.ID)
	}
	res, err := f.Duo().Preauth(duoauth.PreauthUsername("alice"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range res.Response.Devices {
		found = found || (d.Device == tok.ID && d.Type == "token" && d.Name == "YK-0042" && len(d.Capabilities) == 0)
	}
	if !found {
		t.Errorf("duo_api_golang read devices %+v, want the token %s", res.Response.Devices, tok.ID)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPreauthBadParams(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		give   url.Values
		detail string
	}{
		{url.Values{}, "username"},
		{url.Values{"ipaddr": {"192.0.2.1"}}, "username"},
		{url.Values{"username": {"a"}, "user_id": {"DUAAAAAAAAAAAAAAAAAA"}}, "user_id"},
		{url.Values{"user_id": {"DUAAAAAAAAAAAAAAAAAA"}}, "user_id"},
	}
	for _, tt := range tests {
		r := f.Call("POST", "/auth/v2/preauth", tt.give)
		if r.Status != 400 || r.Code != 40002 || !strings.HasPrefix(r.MessageDetail, tt.detail) {
			t.Errorf("preauth %v = %d %d %q, want 400 40002 naming %s", tt.give, r.Status, r.Code, r.MessageDetail, tt.detail)
		}
	}
}
