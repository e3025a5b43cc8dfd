package adminapi_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestResponseShapesGolden pins every Admin API response shape that Duo's
// client libraries read (they ignore missing fields, so only a golden file
// notices a changed shape): users, phones, tokens, bypass codes,
// integrations, settings and administrators.
func TestResponseShapesGolden(t *testing.T) {
	f := cheap(newFixture(t))
	post := func(name, path string, params url.Values) []byte {
		t.Helper()
		status, body := f.Raw(f.Key, http.MethodPost, path, params)
		if status != http.StatusOK {
			t.Fatalf("POST %s = %d %s", path, status, body)
		}
		if name != "" {
			golden(t, name, body)
		}
		return body
	}
	var user struct {
		UserID string `json:"user_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/users", url.Values{"username": {"shape"}, "realname": {"Shape Tester"},
		"email": {"shape@example.com"}, "alias1": {"shp"}}), &user)
	_, body := f.Raw(f.Key, http.MethodPost, "/admin/v1/users", url.Values{"username": {"created"}, "realname": {"Created"}})
	golden(t, "user_create", body)

	var phone struct {
		PhoneID string `json:"phone_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones", url.Values{"number": {"+15555550100"}, "type": {"mobile"},
		"name": {"work"}, "extension": {"12"}, "predelay": {"2"}}), &phone)
	post("", "/admin/v1/users/"+user.UserID+"/phones", url.Values{"phone_id": {phone.PhoneID}})
	var token struct {
		TokenID string `json:"token_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/tokens", url.Values{"type": {"h6"}, "serial": {"SHAPE-1"},
		"secret": {"3132333435363738393031323334353637383930"}}), &token)
	post("", "/admin/v1/users/"+user.UserID+"/tokens", url.Values{"token_id": {token.TokenID}})
	post("bypass_codes_create", "/admin/v1/users/"+user.UserID+"/bypass_codes", url.Values{"count": {"2"}, "valid_secs": {"3600"}})
	post("integration_v1_create", "/admin/v1/integrations", url.Values{"name": {"VPN"}, "type": {"authapi"}})
	post("admin_create", "/admin/v1/admins", url.Values{"email": {"help@example.com"}, "name": {"Help"}, "role": {"Help Desk"}})

	for _, c := range []struct{ name, path string }{
		{"users_list", "/admin/v1/users"},
		{"user_get", "/admin/v1/users/" + user.UserID},
		{"user_phones", "/admin/v1/users/" + user.UserID + "/phones"},
		{"user_tokens", "/admin/v1/users/" + user.UserID + "/tokens"},
		{"user_bypass_codes", "/admin/v1/users/" + user.UserID + "/bypass_codes"},
		{"bypass_codes_list", "/admin/v1/bypass_codes"},
		{"phones_list", "/admin/v1/phones"},
		{"phone_get", "/admin/v1/phones/" + phone.PhoneID},
		{"tokens_list", "/admin/v1/tokens"},
		{"token_get", "/admin/v1/tokens/" + token.TokenID},
		{"integrations_v1_list", "/admin/v1/integrations"},
		{"integrations_v2_list", "/admin/v2/integrations"},
		{"settings", "/admin/v1/settings"},
		{"admins_list", "/admin/v1/admins"},
	} {
		status, body := f.Raw(f.Key, http.MethodGet, c.path, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", c.path, status, body)
		}
		golden(t, c.name, body)
	}
}
