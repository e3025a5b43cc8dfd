package adminapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPhoneDelays: Duo's predelay/postdelay (whole seconds) are accepted on
// phone create and modify, stored, shown as strings (null when unset),
// cleared by an empty value, and anything else is refused by name.
func TestPhoneDelays(t *testing.T) {
	f := cheap(newFixture(t))
	type phoneJSON struct {
		PhoneID   string  `json:"phone_id"`
		Predelay  *string `json:"predelay"`
		Postdelay *string `json:"postdelay"`
	}
	str := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	var p phoneJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones", url.Values{"number": {"+15555550100"}, "extension": {"12"},
		"predelay": {"3"}, "postdelay": {"0"}}), &p)
	if str(p.Predelay) != "3" || str(p.Postdelay) != "0" {
		t.Errorf("created predelay, postdelay = %s, %s; want 3, 0", str(p.Predelay), str(p.Postdelay))
	}
	stored, err := f.Store.GetPhone(t.Context(), p.PhoneID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.PreDelay == nil || *stored.PreDelay != 3*time.Second || stored.PostDelay == nil || *stored.PostDelay != 0 {
		t.Errorf("stored delays = %v, %v; want 3s, 0s", stored.PreDelay, stored.PostDelay)
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones/"+p.PhoneID, url.Values{"postdelay": {" 60 "}}), &p)
	if str(p.Predelay) != "3" || str(p.Postdelay) != "60" {
		t.Errorf("modified predelay, postdelay = %s, %s; want 3 (kept), 60", str(p.Predelay), str(p.Postdelay))
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones/"+p.PhoneID, url.Values{"predelay": {""}}), &p)
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/phones/"+p.PhoneID, nil), &p)
	if p.Predelay != nil || str(p.Postdelay) != "60" {
		t.Errorf("after clearing predelay: %s, %s; want null, 60", str(p.Predelay), str(p.Postdelay))
	}
	var plain phoneJSON
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones", url.Values{"number": {"+15555550101"}}), &plain)
	if plain.Predelay != nil || plain.Postdelay != nil {
		t.Errorf("phone without delays shows %s, %s; want null, null", str(plain.Predelay), str(plain.Postdelay))
	}

	for _, name := range []string{"predelay", "postdelay"} {
		for _, give := range []string{"-1", "61", "abc", "1.5", "+2", "1e1", "99999999999999999999", strings.Repeat("9", 5000)} {
			r := f.Call(f.Key, http.MethodPost, "/admin/v1/phones/"+p.PhoneID, url.Values{name: {give}})
			if r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, name) {
				t.Errorf("modify %s=%.20q = %d %d %q, want 400 40002 naming it", name, give, r.Status, r.Code, r.MessageDetail)
			}
			r = f.Call(f.Key, http.MethodPost, "/admin/v1/phones", url.Values{"number": {"+15555550102"}, name: {give}})
			if r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, name) {
				t.Errorf("create %s=%.20q = %d %d %q, want 400 40002 naming it", name, give, r.Status, r.Code, r.MessageDetail)
			}
		}
	}
	if got, _ := f.Store.GetPhone(t.Context(), p.PhoneID); got.PreDelay != nil || got.PostDelay == nil || *got.PostDelay != time.Minute {
		t.Errorf("refused modifies changed the stored delays to %v, %v", got.PreDelay, got.PostDelay)
	}
}
